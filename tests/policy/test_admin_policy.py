"""The policy admin: drafts validated and audited through the services, publication with a
confirmation, queues and holidays; and the read-only screening admins."""

from __future__ import annotations

import json
from html import escape

import pytest
from django.urls import reverse

from applications import services as app_services
from policy.models import PolicyEvent, PolicyVersion, ReviewQueue
from policy.selectors import policy_in_force
from policy.services import policy_version_create_draft
from screening.services import screening_run
from tests.applications.conftest import complete_draft, media_root  # noqa: F401 (fixture)
from tests.factories import (
    AdminFactory,
    ApplicantFactory,
    OfficerFactory,
    SupervisorFactory,
    login_with_mfa,
)

pytestmark = pytest.mark.django_db

Status = PolicyVersion.Status
SECTIONS = ("criteria", "points_model", "document_checklist", "visa_terms", "routing_rules")


@pytest.fixture
def admin_user(client):
    user = AdminFactory()
    login_with_mfa(client, user)
    return user


@pytest.fixture
def draft(admin_user):
    return policy_version_create_draft(
        actor=admin_user, source=policy_in_force(), name="2026-01 draft"
    )


def form_data(version: PolicyVersion, **changes) -> dict[str, str]:
    data = {"name": version.name, "notes": version.notes}
    for section in SECTIONS:
        data[section] = json.dumps(changes.get(section, getattr(version, section)))
    return data


def url(name: str, *args) -> str:
    return reverse(f"admin:policy_policyversion_{name}", args=args)


# --- drafts -----------------------------------------------------------------------------------


def test_add_form_starts_from_the_version_in_force(client, admin_user):
    response = client.get(url("add"))

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.initial["criteria"] == policy_in_force().criteria


def test_admin_creates_a_draft_through_the_services(client, admin_user):
    in_force = policy_in_force()
    data = form_data(in_force, criteria={**in_force.criteria, "min_degree_level": "master"})
    data["name"] = "2026-02 masters"

    response = client.post(url("add"), data)

    assert response.status_code == 302
    version = PolicyVersion.objects.get(name="2026-02 masters")
    assert version.status == Status.DRAFT
    assert version.criteria["min_degree_level"] == "master"
    events = list(version.events.order_by("pk").values_list("action", "actor", "data"))
    assert events[0][:2] == (PolicyEvent.Action.CREATED, admin_user.pk)
    assert events[1][:2] == (PolicyEvent.Action.EDITED, admin_user.pk)
    assert events[1][2]["sections"] == ["criteria"]


def test_add_form_shows_validation_errors_beside_the_section(client, admin_user):
    in_force = policy_in_force()
    data = form_data(
        in_force,
        criteria={**in_force.criteria, "age": {"min": 50, "max": 45}},
        routing_rules=[{"when": "always", "queue": "nowhere"}],
    )
    data["name"] = "broken"

    response = client.post(url("add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["criteria"] == ["The minimum age must not be above the maximum age."]
    assert errors["routing_rules"] == ["Rule 1 names the unknown queue nowhere."]
    assert "The minimum age must not be above the maximum age." in response.content.decode()
    assert not PolicyVersion.objects.filter(name="broken").exists()


def test_validation_errors_are_shown_in_chinese_for_a_chinese_admin(client, admin_user):
    in_force = policy_in_force()
    data = form_data(in_force, criteria={**in_force.criteria, "age": {"min": 50, "max": 45}})
    data["name"] = "broken"

    response = client.post(url("add"), data, HTTP_ACCEPT_LANGUAGE="zh-hans")

    [message] = response.context["adminform"].form.errors["criteria"]
    assert message != "The minimum age must not be above the maximum age."


def test_invalid_json_is_reported_without_crashing(client, admin_user, draft):
    data = form_data(draft)
    data["visa_terms"] = "{not json"

    response = client.post(url("change", draft.pk), data)

    assert response.status_code == 200
    assert "visa_terms" in response.context["adminform"].form.errors


def test_editing_a_draft_is_audited(client, admin_user, draft):
    terms = {**draft.visa_terms, "validity_months": 36}

    response = client.post(url("change", draft.pk), form_data(draft, visa_terms=terms))

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.visa_terms["validity_months"] == 36
    event = draft.events.get(action=PolicyEvent.Action.EDITED)
    assert event.actor == admin_user
    assert event.data["sections"] == ["visa_terms"]


def test_an_invalid_edit_is_shown_and_not_saved(client, admin_user, draft):
    bands = [[18, 30, 10], [25, 45, 15]]
    points = {**draft.points_model}
    points["factors"] = {**points["factors"], "age": {"max": 15, "bands": bands}}

    response = client.post(url("change", draft.pk), form_data(draft, points_model=points))

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["points_model"] == ["Age bands overlap at 25."]
    draft.refresh_from_db()
    assert draft.points_model["factors"]["age"]["bands"][0] == [18, 25, 10]


def test_change_page_shows_the_events(client, admin_user, draft):
    response = client.get(url("change", draft.pk))

    content = response.content.decode()
    assert "Copied from 2025-10 initial." in content
    assert admin_user.email in content
    assert url("publish", draft.pk) in content
    assert url("copy", draft.pk) in content


def test_a_published_version_is_read_only(client, admin_user):
    in_force = policy_in_force()

    page = client.get(url("change", in_force.pk))
    post = client.post(url("change", in_force.pk), form_data(in_force))

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "min_degree_level" in page.content.decode()
    assert url("publish", in_force.pk) not in page.content.decode()
    assert post.status_code == 403


def test_versions_cannot_be_deleted(client, admin_user, draft):
    assert client.get(url("delete", draft.pk)).status_code == 403


# --- publish and copy -------------------------------------------------------------------------


def test_publish_action_asks_for_confirmation_showing_the_differences(client, admin_user, draft):
    in_force = policy_in_force()
    PolicyVersion.objects.filter(pk=draft.pk).update(
        criteria={**draft.criteria, "min_degree_level": "doctorate"}
    )

    chosen = client.post(
        url("changelist"), {"action": "publish_selected", "_selected_action": [draft.pk]}
    )
    confirmation = client.get(chosen.url)

    assert chosen.status_code == 302
    assert chosen.url == url("publish", draft.pk)
    content = confirmation.content.decode()
    assert confirmation.status_code == 200
    assert [d["section"] for d in confirmation.context["diffs"]] == ["hard criteria"]
    assert escape('+  "min_degree_level": "doctorate"') in content
    assert escape('-  "min_degree_level": "bachelor"') in content
    in_force.refresh_from_db()
    assert in_force.status == Status.PUBLISHED  # nothing happened yet

    done = client.post(chosen.url, {"confirm": "yes"})

    assert done.status_code == 302
    draft.refresh_from_db()
    in_force.refresh_from_db()
    assert draft.status == Status.PUBLISHED
    assert draft.published_by == admin_user
    assert in_force.status == Status.RETIRED
    assert draft.events.filter(action=PolicyEvent.Action.PUBLISHED, actor=admin_user).exists()


def test_publish_action_wants_exactly_one_version(client, admin_user, draft):
    other = policy_version_create_draft(actor=admin_user, source=draft, name="another")

    response = client.post(
        url("changelist"),
        {"action": "publish_selected", "_selected_action": [draft.pk, other.pk]},
        follow=True,
    )

    assert "Select exactly one draft to publish." in response.content.decode()
    assert policy_in_force() not in (draft, other)


def test_an_invalid_draft_cannot_be_confirmed(client, admin_user, draft):
    PolicyVersion.objects.filter(pk=draft.pk).update(routing_rules=[{"queue": "nowhere"}])

    confirmation = client.get(url("publish", draft.pk))
    forced = client.post(url("publish", draft.pk), {"confirm": "yes"}, follow=True)

    assert "Yes, publish" not in confirmation.content.decode()
    assert "Rule 1 names the unknown queue nowhere." in confirmation.content.decode()
    assert "The policy version is not valid" in forced.content.decode()
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_a_published_version_cannot_be_published_again(client, admin_user):
    in_force = policy_in_force()

    response = client.post(url("publish", in_force.pk), {"confirm": "yes"}, follow=True)

    assert response.redirect_chain[0][0] == url("change", in_force.pk)
    assert "Only a draft policy version can be published." in response.content.decode()
    in_force.refresh_from_db()
    assert in_force.status == Status.PUBLISHED


def test_copy_as_new_draft(client, admin_user):
    in_force = policy_in_force()

    chosen = client.post(
        url("changelist"), {"action": "copy_selected", "_selected_action": [in_force.pk]}
    )
    page = client.get(chosen.url)
    created = client.post(chosen.url, {"name": "2026-03 review"})

    assert chosen.url == url("copy", in_force.pk)
    assert page.context["form"].initial["name"] == "Copy of 2025-10 initial"
    copy = PolicyVersion.objects.get(name="2026-03 review")
    assert created.status_code == 302
    assert created.url == url("change", copy.pk)
    assert copy.status == Status.DRAFT
    assert copy.sections == in_force.sections
    event = copy.events.get()
    assert (event.action, event.actor) == (PolicyEvent.Action.CREATED, admin_user)


def test_copy_refuses_a_taken_name(client, admin_user):
    in_force = policy_in_force()

    response = client.post(url("copy", in_force.pk), {"name": in_force.name})

    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    assert PolicyVersion.objects.count() == 1


# --- who gets in ------------------------------------------------------------------------------


def test_officers_cannot_reach_the_policy_admin(client):
    login_with_mfa(client, OfficerFactory())

    for target in (url("changelist"), url("add"), url("publish", policy_in_force().pk)):
        response = client.get(target)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_supervisors_without_policy_rights_are_refused(client):
    login_with_mfa(client, SupervisorFactory())
    in_force = policy_in_force()

    assert client.get(url("changelist")).status_code == 403
    assert client.get(url("publish", in_force.pk)).status_code == 403
    assert client.post(url("publish", in_force.pk)).status_code == 403
    assert client.get(url("copy", in_force.pk)).status_code == 403


def test_admin_without_a_second_factor_is_kept_out(client):
    client.force_login(AdminFactory())

    response = client.get(url("changelist"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


# --- queues and holidays ------------------------------------------------------------------------


def test_queue_admin_lists_queues_with_their_member_count(client, admin_user):
    queue = ReviewQueue.objects.get(code="standard")
    queue.members.add(OfficerFactory(with_totp=False), OfficerFactory(with_totp=False))

    response = client.get(reverse("admin:policy_reviewqueue_changelist"))

    assert response.status_code == 200
    rows = {q.code: q.member_count for q in response.context["cl"].result_list}
    assert rows["standard"] == 2
    assert rows["fast-track"] == 0
    assert "Returned evidence" in response.content.decode()


def test_queue_members_are_limited_to_people_who_work_cases(client, admin_user):
    officer = OfficerFactory(with_totp=False)
    applicant = ApplicantFactory()
    queue = ReviewQueue.objects.get(code="standard")

    response = client.get(reverse("admin:policy_reviewqueue_change", args=[queue.pk]))

    choices = response.context["adminform"].form.fields["members"].queryset
    assert officer in choices
    assert applicant not in choices


def test_holiday_admin_adds_a_holiday(client, admin_user):
    response = client.post(
        reverse("admin:policy_holiday_add"),
        {"date": "2026-10-01", "name_en": "National Day", "name_zh": "国庆节"},
    )

    assert response.status_code == 302
    listing = client.get(reverse("admin:policy_holiday_changelist"))
    assert "National Day" in listing.content.decode()


# --- screening admins ----------------------------------------------------------------------------


def screen_new_application():
    draft = complete_draft()
    application = app_services.application_submit(
        application=draft, actor=draft.applicant, signature_name=draft.full_name
    )
    return screening_run(application_id=application.pk)


@pytest.fixture
def screenings(media_root, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=False):
        return [screen_new_application()]


# user, authenticator (twice: the admin gate runs per view and per template context), the
# queue filter's choices, the count, the page of rows with their relations joined in; the
# screening list adds the two date-hierarchy queries. None of them grows with the rows.
SCREENING_LIST_QUERIES = 8
QUEUE_ENTRY_LIST_QUERIES = 6


@pytest.mark.parametrize(
    ("name", "queries"),
    [("screening", SCREENING_LIST_QUERIES), ("queueentry", QUEUE_ENTRY_LIST_QUERIES)],
)
def test_screening_lists_take_the_same_queries_however_many_rows(
    client,
    admin_user,
    screenings,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    name,
    queries,
):
    changelist = reverse(f"admin:screening_{name}_changelist")
    with django_assert_num_queries(queries):
        one = client.get(changelist)
    with django_capture_on_commit_callbacks(execute=False):
        screenings += [screen_new_application(), screen_new_application()]
    with django_assert_num_queries(queries):
        three = client.get(changelist)

    assert one.status_code == three.status_code == 200
    assert len(three.context["cl"].result_list) == 3
    assert screenings[0].application.reference in three.content.decode()


def test_screening_detail_shows_rules_and_flags_readably(client, admin_user, screenings):
    [screening] = screenings

    response = client.get(reverse("admin:screening_screening_change", args=[screening.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    age_rule = next(r for r in screening.evaluation["rules"] if r["code"] == "age")
    assert age_rule["explanation"]["en"] in content
    assert 'name="_save"' not in content


@pytest.mark.parametrize("name", ["screening", "queueentry"])
def test_screening_admins_refuse_add_and_delete(client, admin_user, screenings, name):
    [screening] = screenings
    pk = screening.pk if name == "screening" else screening.application.queue_entry.pk

    assert client.get(reverse(f"admin:screening_{name}_add")).status_code == 403
    assert client.get(reverse(f"admin:screening_{name}_delete", args=[pk])).status_code == 403
    assert client.post(reverse(f"admin:screening_{name}_delete", args=[pk])).status_code == 403
    listing = client.get(reverse(f"admin:screening_{name}_changelist"))
    assert "delete_selected" not in listing.content.decode()
    assert client.get(reverse(f"admin:screening_{name}_change", args=[pk])).status_code == 200
