"""The officer workspace pages, through the test client: what each page shows, what each action
does, and that a refused action keeps what the officer typed and explains why."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.files.base import ContentFile
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from applications.models import EvidenceRequest, Status, TimelineEvent
from reviews import selectors, services
from reviews.models import CaseAccess, CaseNote, Decision, Letter, Visa
from screening.models import QueueEntry, Screening
from tests.factories import OfficerFactory, SupervisorFactory, login_with_mfa
from tests.reviews.conftest import officer_in, queued_cases

pytestmark = pytest.mark.django_db


# --- helpers ----------------------------------------------------------------------------------


def case_url(case, name: str = "case", **kwargs) -> str:
    return reverse(f"reviews:{name}", kwargs={"reference": case.reference, **kwargs})


def claimed(case, officer) -> QueueEntry:
    entry = services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    assert entry is not None
    assert entry.application_id == case.pk
    return entry


def messages_of(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def page_version(client, case) -> str:
    """The version the case page hands to its forms, as the officer's browser would send it."""
    response = client.get(case_url(case))
    assert response.status_code == 200
    return response.context["forms"]["refuse"].initial["version"]


def refuse(client, case, **data):
    return client.post(
        case_url(case, "decide"),
        {"outcome": "refuse", "reasons": ["criteria-not-met"], "statement": "", **data},
    )


def approve_data(case, version: str, **changes) -> dict[str, str]:
    terms = services.default_visa_terms(case)
    return {
        "outcome": "approve",
        "version": version,
        "valid_from": terms.valid_from.isoformat(),
        "valid_until": terms.valid_until.isoformat(),
        "entries": terms.entries,
        "max_stay_days": str(terms.max_stay_days),
        "statement": "",
        **changes,
    }


@pytest.fixture
def as_officer(client, officer):
    login_with_mfa(client, officer)
    return client


@pytest.fixture
def holding(as_officer, case, officer):
    """The officer's client, holding the case."""
    claimed(case, officer)
    return as_officer


# --- start page -------------------------------------------------------------------------------


def test_home_shows_each_queue_with_its_counts_and_a_claim_button(as_officer, case, queue):
    (late,) = queued_cases(queue, 1)
    QueueEntry.objects.filter(application=late).update(due_at=timezone.now() - timedelta(days=1))

    response = as_officer.get(reverse("reviews:home"))

    html = response.content.decode()
    assert response.status_code == 200
    (shown,) = response.context["queues"]
    assert (shown.waiting_count, shown.overdue_count, shown.in_review_count) == (2, 1, 0)
    assert queue.name in html
    assert f'action="{reverse("reviews:claim", kwargs={"code": queue.code})}"' in html
    assert "Claim next" in html
    assert "cases waiting" in html


def test_home_links_the_case_the_officer_holds(holding, case):
    html = holding.get(reverse("reviews:home")).content.decode()

    assert "The case you hold" in html
    assert f'href="{case_url(case)}"' in html


def test_home_counts_the_decisions_waiting_for_the_officers_second_review(
    client, case, officer, second_officer
):
    claimed(case, officer)
    services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )

    login_with_mfa(client, second_officer)
    response = client.get(reverse("reviews:home"))
    assert response.context["second_review_count"] == 1
    assert f'href="{reverse("reviews:second_review")}"' in response.content.decode()

    login_with_mfa(client, officer)  # the author does not review their own decision
    assert client.get(reverse("reviews:home")).context["second_review_count"] == 0


def test_supervisors_get_audit_access_log_and_simulation_links(client, officer, supervisor):
    supervised = [
        reverse("reviews:audit"),
        reverse("reviews:access_log"),
        reverse("screening:simulation_list"),
    ]
    login_with_mfa(client, officer)
    html = client.get(reverse("reviews:home")).content.decode()
    assert not any(f'href="{link}"' in html for link in supervised)

    login_with_mfa(client, supervisor)
    html = client.get(reverse("reviews:home")).content.decode()
    assert all(f'href="{link}"' in html for link in supervised)
    assert "Your account and sign-in security" in html


@pytest.mark.parametrize("queued", [1, 30])
def test_home_takes_the_same_queries_however_many_cases_wait(
    client, queue, queued, django_assert_num_queries
):
    officer = officer_in(queue)
    queued_cases(queue, queued)
    login_with_mfa(client, officer)

    # user (session cached), permissions (one query), TOTP; queues with counts, held case, second
    # review count; roles, security summary
    with django_assert_num_queries(8):
        response = client.get(reverse("reviews:home"))

    assert response.context["queues"][0].waiting_count == queued + 1  # and the `case` fixture


# --- claim ------------------------------------------------------------------------------------


def test_claim_next_gives_the_case_and_opens_it(as_officer, case, queue, officer):
    response = as_officer.post(reverse("reviews:claim", kwargs={"code": queue.code}))

    assert response.status_code == 302
    assert response.url == case_url(case)
    entry = QueueEntry.objects.get(application=case)
    assert (entry.state, entry.claimed_by) == (QueueEntry.State.IN_REVIEW, officer)
    assert any(case.reference in m for m in messages_of(response))


def test_claim_from_an_empty_queue_says_so(as_officer, case, queue, second_officer):
    claimed(case, second_officer)

    response = as_officer.post(reverse("reviews:claim", kwargs={"code": queue.code}))

    assert response.status_code == 302
    assert response.url == reverse("reviews:home")
    assert messages_of(response) == ["No case is waiting in this queue."]


def test_claiming_again_while_holding_returns_the_held_case(holding, case, queue):
    queued_cases(queue, 1)

    response = holding.post(reverse("reviews:claim", kwargs={"code": queue.code}))

    assert response.url == case_url(case)
    assert any("You already hold case" in m for m in messages_of(response))
    assert QueueEntry.objects.filter(state=QueueEntry.State.IN_REVIEW).count() == 1


def test_claim_is_404_outside_ones_queues_and_refused_to_a_non_member_supervisor(
    client, case, queue, supervisor
):
    login_with_mfa(client, OfficerFactory())
    assert client.post(reverse("reviews:claim", kwargs={"code": queue.code})).status_code == 404

    login_with_mfa(client, supervisor)
    response = client.post(reverse("reviews:claim", kwargs={"code": queue.code}))
    assert response.url == reverse("reviews:home")
    assert any("not a member" in m for m in messages_of(response))
    assert QueueEntry.objects.get(application=case).state == QueueEntry.State.WAITING


# --- queue page -------------------------------------------------------------------------------


def test_queue_page_lists_open_cases_and_highlights_the_overdue(as_officer, case, queue):
    (late,) = queued_cases(queue, 1)
    QueueEntry.objects.filter(application=late).update(due_at=timezone.now() - timedelta(days=1))

    response = as_officer.get(reverse("reviews:queue", kwargs={"code": queue.code}))

    html = response.content.decode()
    assert response.status_code == 200
    overdue = {r["entry"].application_id: r["overdue"] for r in response.context["rows"]}
    assert overdue == {case.pk: False, late.pk: True}
    assert html.count('class="table-danger"') == 1
    assert "Overdue" in html
    assert f'href="{case_url(case)}"' in html
    assert "Supervisor actions" not in html


def test_supervisors_get_reassign_and_release_on_the_queue_page(
    client, case, queue, officer, second_officer, supervisor
):
    claimed(case, officer)
    login_with_mfa(client, supervisor)

    html = client.get(reverse("reviews:queue", kwargs={"code": queue.code})).content.decode()

    assert f'action="{case_url(case, "reassign")}"' in html
    assert f'<option value="{second_officer.pk}"' in html
    assert f'action="{case_url(case, "release")}"' in html


@pytest.mark.parametrize("queued", [1, 30])
def test_queue_page_takes_the_same_queries_however_many_cases_wait(
    client, queue, queued, django_assert_num_queries
):
    supervisor = SupervisorFactory()
    queue.members.add(officer_in(queue), supervisor)
    queued_cases(queue, queued)
    login_with_mfa(client, supervisor)

    # user, permissions (one query), TOTP; queue, members, entries with applicants and holders
    with django_assert_num_queries(6):
        response = client.get(reverse("reviews:queue", kwargs={"code": queue.code}))

    assert len(response.context["rows"]) == queued + 1  # and the `case` fixture


# --- the case file ----------------------------------------------------------------------------


def test_case_page_shows_the_whole_file(holding, case):
    response = holding.get(case_url(case))

    html = response.content.decode()
    assert response.status_code == 200
    # personal data, the passport number in clear, and the frozen answers with it masked
    for text in ("Okafor", "Amara Chidi", "Lagos", "amara@example.test", "Nigeria"):
        assert text in html
    assert "A12345678" in html
    assert "As submitted" in html
    assert "•••••5678" in html
    assert "University of Lagos" in html
    # documents: the image inline, PDFs in an <object>, each with a download link
    for document in case.documents.all():
        url = case_url(case, "document", document_id=document.public_id)
        assert f"{url}?download=1" in html
        if document.content_type == "image/png":
            assert f'src="{url}"' in html
        else:
            assert f'data="{url}"' in html
    # the screening rule by rule, in words
    screening = Screening.objects.get(application=case, is_current=True)
    for rule in screening.evaluation["rules"]:
        assert rule["explanation"]["en"].replace("'", "&#x27;") in html
    assert "Recognised institution" in html
    assert screening.policy_version.name in html
    # the timeline with readable kinds, never bare codes
    assert "Screened automatically" in html
    assert "Status: In review" in html
    assert "Was “Waiting for review”. Claimed from the queue “Standard”." in html
    assert ">screened<" not in html
    # the holder's forms carry the version
    case.refresh_from_db()
    entry = QueueEntry.objects.get(application=case)
    version = services.case_version(application=case, entry=entry)
    assert html.count(f'name="version" value="{version}"') == 3  # approve, refuse, evidence


def test_every_case_page_view_is_recorded_and_renews_the_holders_lease(
    holding, case, officer, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    time_machine.shift(timedelta(minutes=20))

    holding.get(case_url(case))
    holding.get(case_url(case))

    rows = list(CaseAccess.objects.filter(application=case).values_list("officer", "action"))
    assert rows == [(officer.pk, CaseAccess.Action.CASE_FILE)] * 2
    entry = QueueEntry.objects.get(application=case)
    assert entry.lease_expires_at == timezone.now() + timedelta(
        seconds=settings.REVIEW_LEASE_SECONDS
    )


def test_a_viewer_who_does_not_hold_the_case_does_not_touch_the_lease(
    client, case, officer, second_officer
):
    entry = claimed(case, officer)
    login_with_mfa(client, second_officer)

    html = client.get(case_url(case)).content.decode()

    assert QueueEntry.objects.get(pk=entry.pk).lease_expires_at == entry.lease_expires_at
    assert "holds this case; only they can decide it now" in html
    assert 'name="version"' not in html  # no decision or evidence form


def test_case_page_is_404_outside_the_officers_queues(client, case):
    login_with_mfa(client, OfficerFactory())
    assert client.get(case_url(case)).status_code == 404
    assert (
        client.get(reverse("reviews:case", kwargs={"reference": "KV-2026-0000000-0"})).status_code
        == 404
    )
    assert not CaseAccess.objects.exists()


def test_a_supervisor_opens_a_case_not_yet_screened(client, submitted):
    login_with_mfa(client, SupervisorFactory())  # (the `supervisor` fixture screens `case`)

    response = client.get(case_url(submitted))

    html = response.content.decode()
    assert response.status_code == 200
    assert "This case has not been screened yet." in html
    assert "This case has not reached a review queue." in html


def _grow(case, officer, times: int) -> None:
    """More notes and timeline events (releases name their holder, reassignments people)."""
    for i in range(times):
        services.note_add(application=case, author=officer, text=f"note {i}")
        services.case_release(application=case, actor=officer)
        claimed(case, officer)


@pytest.mark.parametrize("times", [1, 8])
def test_case_page_takes_the_same_queries_however_long_its_file(
    holding, case, officer, times, django_assert_num_queries
):
    _grow(case, officer, times)

    # user, permissions (one query), TOTP; the case; access record; screening, degrees, documents,
    # timeline, notes, evidence requests, decisions, visa, letter; lease renewal; refusal
    # reasons; people named by events; queue names. (Evidence answers and decision reasons are
    # one prefetch each once there are any.)
    with django_assert_num_queries(18):
        response = holding.get(case_url(case))

    assert len(response.context["case"].notes) == times


@pytest.mark.parametrize("uploads", [1, 4])
def test_case_page_takes_the_same_queries_however_many_evidence_documents(
    client, case, officer, supervisor, uploads, django_assert_num_queries
):
    from applications import services as app_services
    from tests.applications.conftest import png_upload

    claimed(case, officer)
    request = services.evidence_request_create(
        application=case,
        officer=officer,
        items=["Transcript"],
        message="Please upload it.",
        due_on=timezone.localdate() + timedelta(days=14),
    )
    app_services.evidence_answer(
        request=request,
        actor=case.applicant,
        text="Here it is.",
        uploads=[png_upload(f"scan{i}.png") for i in range(uploads)],
    )
    login_with_mfa(client, supervisor)

    # user, permissions (one query), TOTP; the case; access record; screening, degrees, documents,
    # timeline, notes, evidence requests + their answers' documents, decisions, visa, letter;
    # queue members (reassign); queue names. (No event names a person here.)
    with django_assert_num_queries(17):
        response = client.get(case_url(case))

    html = response.content.decode()
    (answer,) = [r.response for r in response.context["case"].evidence_requests]
    assert html.count("scan") >= uploads
    assert all(
        case_url(case, "document", document_id=d.public_id) in html for d in answer.documents.all()
    )


def test_integrity_flags_link_related_cases_only_where_the_officer_may_open_them(
    as_officer, case, queue
):
    from policy.models import ReviewQueue

    (visible,) = queued_cases(queue, 1)
    other_queue = ReviewQueue.objects.exclude(pk=queue.pk).first()
    (hidden,) = queued_cases(other_queue, 1)
    Screening.objects.filter(application=case, is_current=True).update(
        flags=[
            {
                "code": "duplicate_passport",
                "explanation": {"en": "The same passport is on 2 other open application(s)."},
                "related": [
                    {"id": visible.pk, "reference": visible.reference},
                    {"id": hidden.pk, "reference": hidden.reference},
                ],
            }
        ]
    )

    html = as_officer.get(case_url(case)).content.decode()

    assert "Same passport on another open application" in html
    assert f'href="{case_url(visible)}"' in html
    assert hidden.reference in html
    assert f'href="{case_url(hidden)}"' not in html


def test_a_sent_back_comment_is_shown_at_the_top(client, case, officer, second_officer):
    claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )
    services.second_review_send_back(
        decision=decision, reviewer=second_officer, comment="Ask for the transcript first."
    )
    login_with_mfa(client, officer)

    html = client.get(case_url(case)).content.decode()

    assert "The last decision was sent back" in html
    assert html.index("Ask for the transcript first.") < html.index('id="applicant"')


@pytest.mark.parametrize("how", ["cookie", "accept-language"])
def test_case_page_in_chinese(holding, case, how):
    if how == "cookie":
        holding.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
        response = holding.get(case_url(case), HTTP_ACCEPT_LANGUAGE="en")
    else:
        response = holding.get(case_url(case), HTTP_ACCEPT_LANGUAGE="zh-Hans")

    html = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans">' in html
    assert "工作台" in html  # the navigation
    assert "护照号码" in html  # field labels
    age = Screening.objects.get(application=case, is_current=True).evaluation["rules"][0]
    assert age["explanation"]["zh-hans"] in html
    assert age["explanation"]["en"] not in html
    assert "不符合申请条件" in html  # refusal reasons in the active language
    assert "Does not meet the eligibility criteria" not in html


# --- notes ------------------------------------------------------------------------------------


def test_an_officer_adds_a_note(as_officer, case, officer):
    response = as_officer.post(case_url(case, "note_add"), {"text": "Called the university."})

    assert response.status_code == 302
    assert response.url == case_url(case) + "#notes"
    assert CaseNote.objects.get(application=case).author == officer
    assert "Called the university." in as_officer.get(case_url(case)).content.decode()


def test_an_empty_note_is_refused_with_a_message(as_officer, case):
    response = as_officer.post(case_url(case, "note_add"), {"text": "   "})

    assert response.status_code == 422
    assert not CaseNote.objects.exists()
    assert response.context["forms"]["note"].errors == {"text": ["This field is required."]}
    assert "Nothing was saved" in response.content.decode()


# --- evidence requests ------------------------------------------------------------------------


def test_the_holder_requests_evidence(
    holding, case, mailoutbox, django_capture_on_commit_callbacks
):
    due = timezone.localdate() + timedelta(days=21)
    with django_capture_on_commit_callbacks(execute=True):
        response = holding.post(
            case_url(case, "evidence_request"),
            {
                "version": page_version(holding, case),
                "items": "Certified copy of the degree\n\nTranscript\n",
                "message": "The certificate is hard to read.",
                "due_on": due.isoformat(),
            },
        )

    assert response.status_code == 302
    assert response.url == reverse("reviews:home")
    request = EvidenceRequest.objects.get(application=case)
    assert request.items == ["Certified copy of the degree", "Transcript"]
    case.refresh_from_db()
    assert case.status == Status.EVIDENCE_REQUESTED
    assert len(mailoutbox) == 1


def test_evidence_form_offers_the_default_due_date(holding, case):
    form = holding.get(case_url(case)).context["forms"]["evidence"]

    assert form["due_on"].value() == timezone.localdate() + timedelta(
        days=settings.EVIDENCE_DEFAULT_DAYS
    )


def test_an_incomplete_evidence_request_keeps_the_input_and_says_what_is_wrong(holding, case):
    too_soon = timezone.localdate() + timedelta(days=1)
    response = holding.post(
        case_url(case, "evidence_request"),
        {
            "version": page_version(holding, case),
            "items": "",
            "message": "Please send the transcript, it is missing.",
            "due_on": too_soon.isoformat(),
        },
    )

    html = response.content.decode()
    assert response.status_code == 422
    form = response.context["forms"]["evidence"]
    assert set(form.errors) == {"items", "due_on"}
    assert "Name at least one item the applicant must provide." in html
    assert "Please send the transcript, it is missing." in html
    assert f'value="{too_soon.isoformat()}"' in html
    assert not EvidenceRequest.objects.exists()


# --- decisions --------------------------------------------------------------------------------


def test_the_holder_approves_and_the_visa_is_issued(holding, case, settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0

    response = holding.post(
        case_url(case, "decide"), approve_data(case, page_version(holding, case))
    )

    assert response.status_code == 302
    assert response.url == case_url(case)
    case.refresh_from_db()
    assert case.status == Status.APPROVED
    assert Visa.objects.filter(application=case).exists()
    assert any("approved" in m for m in messages_of(response))


def test_approval_terms_beyond_the_policy_are_refused_and_kept(holding, case):
    allowed = services.default_visa_terms(case)
    too_long = (allowed.valid_until + timedelta(days=1)).isoformat()
    data = approve_data(
        case, page_version(holding, case), valid_until=too_long, statement="Strong case."
    )

    response = holding.post(case_url(case, "decide"), data)

    html = response.content.decode()
    assert response.status_code == 422
    assert "valid_until" in response.context["forms"]["approve"].errors
    assert f'value="{too_long}"' in html
    assert "Strong case." in html
    assert not Decision.objects.exists()


def test_the_holder_refuses_and_the_decision_waits_for_second_review(holding, case):
    response = refuse(holding, case, version=page_version(holding, case))

    assert response.status_code == 302
    decision = Decision.objects.get(application=case)
    assert decision.state == Decision.State.AWAITING_REVIEW
    assert list(decision.reasons.values_list("code", flat=True)) == ["criteria-not-met"]
    assert any("second officer" in m for m in messages_of(response))


def test_a_reason_needing_a_statement_is_refused_without_one_and_the_choice_kept(holding, case):
    response = refuse(holding, case, version=page_version(holding, case), reasons=["other"])

    html = response.content.decode()
    assert response.status_code == 422
    assert "statement" in response.context["forms"]["refuse"].errors
    assert "Explain the reason in your own words." in html
    assert response.context["forms"]["refuse"]["reasons"].value() == ["other"]
    assert re.search(r'<input[^>]*value="other"[^>]*checked', html)
    assert not Decision.objects.exists()


def test_a_decision_from_a_stale_page_is_refused_and_the_input_kept(holding, case, officer):
    stale = page_version(holding, case)
    services.case_release(application=case, actor=officer)
    claimed(case, officer)

    response = refuse(holding, case, version=stale, statement="The field is not STEM.")

    html = response.content.decode()
    assert response.status_code == 409
    assert "This case changed after you opened it" in html
    assert "The field is not STEM." in html
    assert not Decision.objects.exists()
    # the form now carries the current version: sent again as it is, it is accepted
    fresh = response.context["forms"]["refuse"]["version"].value()
    assert fresh != stale
    assert (
        refuse(holding, case, version=fresh, statement="The field is not STEM.").status_code == 302
    )


def test_a_non_holder_cannot_decide_and_nothing_changes(client, case, officer, second_officer):
    claimed(case, officer)
    login_with_mfa(client, second_officer)
    case.refresh_from_db()  # a current version: only the holder check refuses
    version = services.case_version(
        application=case, entry=QueueEntry.objects.get(application=case)
    )

    response = refuse(client, case, version=version, statement="My own view.")

    html = response.content.decode()
    assert response.status_code == 409
    assert "Another officer holds this case now; your change was not saved." in html
    assert "Not saved" in html
    assert "My own view." in html  # what they typed, to copy
    assert not Decision.objects.exists()
    entry = QueueEntry.objects.get(application=case)
    assert (entry.state, entry.claimed_by) == (QueueEntry.State.IN_REVIEW, officer)


def test_a_decision_post_without_a_version_is_refused(holding, case):
    response = refuse(holding, case)

    assert response.status_code == 422
    assert not Decision.objects.exists()


# --- second review ----------------------------------------------------------------------------


@pytest.fixture
def proposed(case, officer):
    claimed(case, officer)
    return services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )


def test_a_second_officer_confirms(client, case, proposed, second_officer):
    login_with_mfa(client, second_officer)
    assert "Confirm the decision" in client.get(case_url(case)).content.decode()

    response = client.post(
        case_url(case, "second_review_decide", decision_id=proposed.public_id),
        {"action": "confirm", "comment": "Agreed."},
    )

    assert response.status_code == 302
    proposed.refresh_from_db()
    assert (proposed.state, proposed.reviewed_by) == (Decision.State.FINAL, second_officer)
    case.refresh_from_db()
    assert case.status == Status.REFUSED


def test_sending_back_needs_a_comment(client, case, proposed, second_officer):
    login_with_mfa(client, second_officer)
    url = case_url(case, "second_review_decide", decision_id=proposed.public_id)

    response = client.post(url, {"action": "send_back", "comment": ""})
    assert response.status_code == 422
    assert "Say why you send the decision back." in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.state == Decision.State.AWAITING_REVIEW

    response = client.post(url, {"action": "send_back", "comment": "Ask for the transcript."})
    assert response.status_code == 302
    proposed.refresh_from_db()
    assert proposed.state == Decision.State.SENT_BACK


def test_the_author_is_not_offered_and_cannot_review_their_own_decision(as_officer, case, proposed):
    html = as_officer.get(case_url(case)).content.decode()
    assert "Confirm the decision" not in html
    assert "waits for a second officer" in html

    response = as_officer.post(
        case_url(case, "second_review_decide", decision_id=proposed.public_id),
        {"action": "confirm", "comment": "Looks right to me."},
    )

    assert response.status_code == 403
    assert "You cannot review your own decision" in response.content.decode()
    assert "Looks right to me." in response.content.decode()
    proposed.refresh_from_db()
    assert proposed.state == Decision.State.AWAITING_REVIEW


def test_second_review_list_shows_others_decisions_oldest_first(
    client, case, queue, proposed, officer, second_officer
):
    (other,) = queued_cases(queue, 1)
    claimed(other, second_officer)
    services.decision_make(
        application=other,
        officer=second_officer,
        outcome="refuse",
        reason_codes=["criteria-not-met"],
    )
    login_with_mfa(client, officer)

    response = client.get(reverse("reviews:second_review"))

    assert [d.application_id for d in response.context["decisions"]] == [other.pk]
    assert f'href="{case_url(other)}#second-review"' in response.content.decode()
    assert "Does not meet the eligibility criteria" in response.content.decode()


# --- release, reassign ------------------------------------------------------------------------


def test_the_holder_releases_the_case(holding, case):
    response = holding.post(case_url(case, "release"), {"reason": "Out of office"})

    assert response.status_code == 302
    assert response.url == reverse("reviews:home")
    assert QueueEntry.objects.get(application=case).state == QueueEntry.State.WAITING
    assert TimelineEvent.objects.get(application=case, kind="released").message == "Out of office"


def test_releasing_a_case_nobody_holds_explains_why(as_officer, case):
    response = as_officer.post(case_url(case, "release"))

    assert response.url == case_url(case)
    assert messages_of(response) == ["Nobody holds this case, so there is nothing to release."]


def test_a_supervisor_reassigns_to_a_queue_member_and_back_to_the_queue_page(
    client, case, queue, officer, second_officer, supervisor
):
    claimed(case, officer)
    login_with_mfa(client, supervisor)
    queue_url = reverse("reviews:queue", kwargs={"code": queue.code})

    response = client.post(case_url(case, "reassign"), {"to": second_officer.pk, "next": queue_url})

    assert response.url == queue_url
    assert QueueEntry.objects.get(application=case).claimed_by == second_officer
    assert any("is now with" in m for m in messages_of(response))

    outsider = OfficerFactory()
    response = client.post(case_url(case, "reassign"), {"to": outsider.pk})
    assert response.url == case_url(case)
    assert any("Choose an officer" in m for m in messages_of(response))
    assert QueueEntry.objects.get(application=case).claimed_by == second_officer


def test_an_unsafe_next_is_ignored(client, case, officer, second_officer, supervisor):
    claimed(case, officer)
    login_with_mfa(client, supervisor)

    response = client.post(
        case_url(case, "reassign"), {"to": second_officer.pk, "next": "https://evil.example/"}
    )

    assert response.url == case_url(case)


# --- documents and letters --------------------------------------------------------------------


def test_a_document_streams_inline_frameable_by_this_site_only(as_officer, case, officer):
    document = case.documents.get(kind="photo")

    response = as_officer.get(case_url(case, "document", document_id=document.public_id))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-store"
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]
    assert "'none'" not in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == document.file.open("rb").read()
    access = CaseAccess.objects.get()
    assert (access.officer, access.action, access.document) == (
        officer,
        CaseAccess.Action.DOCUMENT,
        document,
    )


def test_a_document_download_is_an_attachment_and_recorded_as_such(as_officer, case, officer):
    document = case.documents.get(kind="passport_bio")

    response = as_officer.get(
        case_url(case, "document", document_id=document.public_id) + "?download=1"
    )

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert CaseAccess.objects.get().action == CaseAccess.Action.DOWNLOAD


def test_only_the_case_page_may_frame_documents(as_officer, case):
    page = as_officer.get(case_url(case))

    policy = page["Content-Security-Policy"]
    assert "frame-src 'self'" in policy
    assert "object-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy  # the case page itself is never framed
    assert page["X-Frame-Options"] == "DENY"


def test_a_document_of_another_case_is_404(as_officer, case, queue):
    (other,) = queued_cases(queue, 1)
    document = case.documents.first()

    response = as_officer.get(case_url(other, "document", document_id=document.public_id))

    assert response.status_code == 404
    assert not CaseAccess.objects.exists()


def test_officers_download_the_decision_letter(as_officer, case, officer, second_officer):
    claimed(case, second_officer)
    decision = services.decision_make(
        application=case,
        officer=second_officer,
        outcome="refuse",
        reason_codes=["criteria-not-met"],
    )
    Letter.objects.create(
        application=case,
        decision=decision,
        kind=Letter.Kind.REFUSAL,
        file=ContentFile(b"%PDF-1.4 letter", name="letter.pdf"),
        sha256="0" * 64,
        size=15,
    )
    assert "Download the letter" in as_officer.get(case_url(case)).content.decode()

    response = as_officer.get(case_url(case, "letter"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-refusal.pdf"'
    )
    assert b"".join(response.streaming_content) == b"%PDF-1.4 letter"
    assert CaseAccess.objects.filter(officer=officer, action=CaseAccess.Action.LETTER).count() == 1


def test_no_letter_is_404(as_officer, case):
    assert as_officer.get(case_url(case, "letter")).status_code == 404


# --- audit and access log ---------------------------------------------------------------------


@pytest.fixture
def as_supervisor(client, supervisor):
    login_with_mfa(client, supervisor)
    return client


def test_audit_shows_events_and_filters_by_case_person_and_kind(
    as_supervisor, case, queue, officer
):
    claimed(case, officer)
    (other,) = queued_cases(queue, 1)
    services.note_add(application=case, author=officer, text="x")
    TimelineEvent.objects.create(application=other, kind="note", actor=None, public=False)

    everything = as_supervisor.get(reverse("reviews:audit"))
    assert {r.event.application_id for r in everything.context["rows"]} == {case.pk, other.pk}

    def kinds(**query):
        response = as_supervisor.get(reverse("reviews:audit"), query)
        return [(r.event.application_id, r.event.kind) for r in response.context["rows"]]

    case_events = sorted(
        TimelineEvent.objects.filter(application=case).values_list("application", "kind")
    )
    assert sorted(kinds(reference=case.reference.lower())) == case_events  # typed loosely
    assert kinds(actor=officer.email.upper(), kind="note") == [(case.pk, "note")]
    assert kinds(kind="note") == [(other.pk, "note"), (case.pk, "note")]  # newest first
    html = as_supervisor.get(reverse("reviews:audit"), {"kind": "note"}).content.decode()
    assert "Internal note added" in html


def test_audit_explains_a_bad_filter(as_supervisor, case):
    response = as_supervisor.get(
        reverse("reviews:audit"), {"reference": "nonsense", "actor": "nobody@example.test"}
    )

    assert response.status_code == 200
    assert response.context["rows"] == []
    assert "This is not a valid reference number" in response.content.decode()

    response = as_supervisor.get(reverse("reviews:audit"), {"actor": "nobody@example.test"})
    assert "Nobody has this email address." in response.content.decode()


def test_audit_pages_back_with_an_older_link(as_supervisor, case, monkeypatch):
    monkeypatch.setattr(selectors, "AUDIT_PAGE", 2)
    newest_first = list(TimelineEvent.objects.filter(application=case).order_by("-at", "-pk"))
    assert len(newest_first) >= 3

    first = as_supervisor.get(reverse("reviews:audit"), {"reference": case.reference})
    assert [r.event for r in first.context["rows"]] == newest_first[:2]
    older = first.context["older"]
    assert older.startswith("?")
    assert "before=" in older
    assert "reference=" in older

    second = as_supervisor.get(reverse("reviews:audit") + older)
    assert [r.event for r in second.context["rows"]] == newest_first[2:4]


def test_audit_pages_skip_no_event_that_shares_its_time_with_the_page_boundary(
    as_supervisor, case, monkeypatch
):
    monkeypatch.setattr(selectors, "AUDIT_PAGE", 2)
    moment = timezone.now()
    with connection.cursor() as cursor:  # the table refuses UPDATE: insert events at one time
        for kind in ("same-time-a", "same-time-b", "same-time-c"):
            cursor.execute(
                "INSERT INTO applications_timelineevent "
                "(application_id, at, kind, from_status, to_status, message, public, data) "
                "VALUES (%s, %s, %s, '', '', '', false, '{}')",
                [case.pk, moment + timedelta(days=1), kind],
            )
    seen: list[str] = []
    query = f"?reference={case.reference}"
    for _page in range(5):
        response = as_supervisor.get(reverse("reviews:audit") + query)
        seen += [r.event.kind for r in response.context["rows"]]
        query = response.context["older"]
        if not query:
            break
    assert seen[:3] == ["same-time-c", "same-time-b", "same-time-a"]


def test_audit_and_access_log_take_fixed_queries(
    as_supervisor, case, queue, officer, django_assert_num_queries
):
    claimed(case, officer)
    services.case_release(application=case, actor=officer)
    for other in queued_cases(queue, 10):
        selectors.access_record(officer=officer, application=other, action="case_file")

    # user, permissions (one query), TOTP; events; people named by events; queue names
    with django_assert_num_queries(6):
        as_supervisor.get(reverse("reviews:audit"))
    # ... plus the actor looked up by email
    with django_assert_num_queries(7):
        as_supervisor.get(reverse("reviews:audit"), {"actor": officer.email})
    # user, permissions (one query), TOTP; the page of rows with officers, cases and documents
    with django_assert_num_queries(4):
        response = as_supervisor.get(reverse("reviews:access_log"))
    assert len(response.context["rows"]) == 10


def test_access_log_filters_by_case_and_officer(as_supervisor, case, queue, officer):
    (other,) = queued_cases(queue, 1)
    someone = officer_in(queue)
    selectors.access_record(officer=officer, application=case, action="case_file")
    selectors.access_record(officer=someone, application=other, action="case_file")

    def shown(**query):
        response = as_supervisor.get(reverse("reviews:access_log"), query)
        return [(r.officer_id, r.application_id) for r in response.context["rows"]]

    assert shown(reference=case.reference) == [(officer.pk, case.pk)]
    assert shown(officer=someone.email) == [(someone.pk, other.pk)]
    html = as_supervisor.get(reverse("reviews:access_log")).content.decode()
    assert "Opened the case file" in html
