"""The officer services: claim, release, reassign, leases, notes, evidence, decisions, review."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from applications import services as app_services
from applications.models import EvidenceRequest, Status, TimelineEvent
from kvisa.errors import Conflict, Forbidden, ValidationFailed
from reviews import services
from reviews.models import CaseAccess, Decision, Visa
from reviews.services import VisaTerms
from screening.models import QueueEntry
from tests.factories import OfficerFactory
from tests.reviews.conftest import officer_in, queued_cases

pytestmark = pytest.mark.django_db


def _terms(case, **changes) -> VisaTerms:
    terms = services.default_visa_terms(case)
    return VisaTerms(**{**terms.__dict__, **changes})


def _claimed(case, officer):
    entry = services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    assert entry is not None
    assert entry.application_id == case.pk
    return entry


# --- claim next -------------------------------------------------------------------------------


def test_claim_next_takes_the_highest_priority_then_the_longest_waiting(queue, officer):
    older, newer, urgent = queued_cases(queue, 3)
    QueueEntry.objects.filter(application=urgent).update(priority=queue.priority + 50)

    order = []
    for _ in range(3):
        entry = services.case_claim_next(officer=officer, queue=queue)
        order.append(entry.application_id)
        services.case_release(application=entry.application, actor=officer)
        QueueEntry.objects.filter(pk=entry.pk).update(state=QueueEntry.State.DONE)

    assert order[:3] == [urgent.pk, older.pk, newer.pk]


def test_an_officer_who_holds_a_case_gets_it_back_instead_of_a_second(case, queue, officer):
    queued_cases(queue, 2)
    first = services.case_claim_next(officer=officer, queue=queue)
    again = services.case_claim_next(officer=officer, queue=queue)
    assert again.pk == first.pk
    assert QueueEntry.objects.filter(claimed_by=officer, state="in_review").count() == 1
    assert QueueEntry.objects.filter(queue=queue, state="waiting").count() == 2


def test_claiming_moves_the_case_to_in_review_and_records_who(case, officer):
    entry = _claimed(case, officer)
    assert entry.state == QueueEntry.State.IN_REVIEW
    assert entry.lease_expires_at > timezone.now() + timedelta(minutes=29)
    event = TimelineEvent.objects.filter(application=case, to_status=Status.IN_REVIEW).get()
    assert event.actor == officer


def test_claim_from_a_queue_one_is_not_a_member_of_is_refused(case, queue):
    outsider = OfficerFactory()
    with pytest.raises(Forbidden):
        services.case_claim_next(officer=outsider, queue=queue)
    assert QueueEntry.objects.get(application=case).state == QueueEntry.State.WAITING


def test_an_empty_queue_gives_nothing(queue, officer, case):
    _claimed(case, officer)
    other = officer_in(queue)
    assert services.case_claim_next(officer=other, queue=queue) is None


def test_the_database_refuses_a_second_held_case_for_one_officer(queue, officer):
    _first, second = queued_cases(queue, 2)
    services.case_claim_next(officer=officer, queue=queue)
    with pytest.raises(IntegrityError), transaction.atomic():
        QueueEntry.objects.filter(application=second).update(
            state="in_review", claimed_by=officer, lease_expires_at=timezone.now()
        )


# --- release, reassign, leases ----------------------------------------------------------------


def test_release_puts_the_case_back_in_its_place(case, officer):
    entry = _claimed(case, officer)
    services.case_release(application=case, actor=officer)
    entry.refresh_from_db()
    assert entry.state == QueueEntry.State.WAITING
    assert entry.claimed_by is None
    case.refresh_from_db()
    assert case.status == Status.QUEUED
    assert TimelineEvent.objects.filter(application=case, kind="released").exists()


def test_only_the_holder_or_a_supervisor_releases(case, officer, second_officer, supervisor):
    _claimed(case, officer)
    with pytest.raises(Forbidden):
        services.case_release(application=case, actor=second_officer)
    services.case_release(application=case, actor=supervisor)
    assert QueueEntry.objects.get(application=case).state == QueueEntry.State.WAITING


def test_a_supervisor_reassigns_to_a_queue_member_and_it_is_recorded(
    case, officer, second_officer, supervisor
):
    _claimed(case, officer)
    services.case_reassign(application=case, actor=supervisor, to=second_officer)
    entry = QueueEntry.objects.get(application=case)
    assert entry.claimed_by == second_officer
    assert entry.state == QueueEntry.State.IN_REVIEW
    event = TimelineEvent.objects.get(application=case, kind="reassigned")
    assert event.actor == supervisor
    assert event.data == {"from": officer.pk, "to": second_officer.pk, "queue": entry.queue.code}


def test_reassign_is_for_supervisors_and_to_members_holding_nothing(
    case, queue, officer, second_officer, supervisor
):
    with pytest.raises(Forbidden):
        services.case_reassign(application=case, actor=officer, to=second_officer)
    with pytest.raises(Forbidden):
        services.case_reassign(application=case, actor=supervisor, to=OfficerFactory())
    (other,) = queued_cases(queue, 1)
    services.case_claim_next(officer=second_officer, queue=queue)  # holds the older case
    held = QueueEntry.objects.get(claimed_by=second_officer).application
    target = other if held == case else case
    with pytest.raises(Conflict, match="already holds"):
        services.case_reassign(application=target, actor=supervisor, to=second_officer)


def test_an_expired_lease_returns_the_case_to_its_queue(case, officer):
    _claimed(case, officer)
    later = timezone.now() + timedelta(seconds=services.settings.REVIEW_LEASE_SECONDS + 1)
    assert services.leases_expire(now=later) == [case.pk]
    entry = QueueEntry.objects.get(application=case)
    assert entry.state == QueueEntry.State.WAITING
    assert entry.claimed_by is None
    case.refresh_from_db()
    assert case.status == Status.QUEUED
    assert services.leases_expire(now=later) == []
    assert TimelineEvent.objects.filter(application=case, kind="lease_expired").count() == 1


def test_working_on_the_case_renews_the_lease(case, officer, time_machine):
    time_machine.move_to(timezone.now(), tick=False)
    _claimed(case, officer)
    time_machine.shift(timedelta(minutes=20))
    services.note_add(application=case, author=officer, text="Checked the degree.")
    entry = QueueEntry.objects.get(application=case)
    assert entry.lease_expires_at == timezone.now() + timedelta(minutes=30)


# --- notes ------------------------------------------------------------------------------------


def test_notes_are_internal_and_need_queue_membership(case, officer):
    note = services.note_add(application=case, author=officer, text="  Call the university.  ")
    assert note.text == "Call the university."
    assert not TimelineEvent.objects.get(application=case, kind="note").public
    with pytest.raises(Forbidden):
        services.note_add(application=case, author=OfficerFactory(), text="x")
    with pytest.raises(ValidationFailed):
        services.note_add(application=case, author=officer, text="   ")


# --- evidence ---------------------------------------------------------------------------------


def test_requesting_evidence_pauses_the_case_and_emails_the_applicant(
    case, officer, mailoutbox, django_capture_on_commit_callbacks
):
    _claimed(case, officer)
    due = timezone.localdate() + timedelta(days=21)
    with django_capture_on_commit_callbacks(execute=True):
        request = services.evidence_request_create(
            application=case,
            officer=officer,
            items=["Certified copy of the master's degree", " "],
            message="The certificate is hard to read.",
            due_on=due,
        )
    assert request.items == ["Certified copy of the master's degree"]
    assert timezone.localtime(request.due_at).date() == due
    case.refresh_from_db()
    assert case.status == Status.EVIDENCE_REQUESTED
    entry = QueueEntry.objects.get(application=case)
    assert entry.state == QueueEntry.State.PAUSED
    assert entry.claimed_by is None
    assert len(mailoutbox) == 1
    assert case.reference in mailoutbox[0].body
    assert "Certified copy of the master's degree" in mailoutbox[0].body


def test_an_evidence_request_needs_items_a_message_and_a_due_date_in_range(case, officer):
    _claimed(case, officer)
    with pytest.raises(ValidationFailed) as caught:
        services.evidence_request_create(
            application=case,
            officer=officer,
            items=[],
            message="",
            due_on=timezone.localdate() + timedelta(days=1),
        )
    assert set(caught.value.extra["errors"]) == {"items", "message", "due_on"}
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW


def test_an_answered_request_returns_the_case_to_the_returned_evidence_queue(case, officer):
    _claimed(case, officer)
    request = services.evidence_request_create(
        application=case,
        officer=officer,
        items=["Transcript"],
        message="Please upload your transcript.",
        due_on=timezone.localdate() + timedelta(days=14),
    )
    app_services.evidence_answer(request=request, actor=case.applicant, text="Here.", uploads=[])
    entry = QueueEntry.objects.select_related("queue").get(application=case)
    assert entry.state == QueueEntry.State.WAITING
    assert entry.queue.code == "returned-evidence"


def test_an_unanswered_request_past_its_due_date_is_escalated_back_to_a_queue(case, officer):
    _claimed(case, officer)
    request = services.evidence_request_create(
        application=case,
        officer=officer,
        items=["Transcript"],
        message="Please upload your transcript.",
        due_on=timezone.localdate() + timedelta(days=7),
    )
    later = request.due_at + timedelta(minutes=1)
    assert services.evidence_expire_overdue(now=later) == [case.pk]
    assert services.evidence_expire_overdue(now=later) == []
    request.refresh_from_db()
    assert request.state == EvidenceRequest.State.EXPIRED
    entry = QueueEntry.objects.select_related("queue").get(application=case)
    assert entry.state == QueueEntry.State.WAITING
    assert entry.queue.code == "returned-evidence"
    assert entry.escalated_at == later
    case.refresh_from_db()
    assert case.status == Status.QUEUED


# --- decisions and second review --------------------------------------------------------------


def test_an_approval_not_drawn_for_review_takes_effect_and_issues_a_visa(case, officer, settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    _claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="approve", terms=_terms(case)
    )
    assert decision.state == Decision.State.FINAL
    assert not decision.second_review_required
    case.refresh_from_db()
    assert case.status == Status.APPROVED
    assert case.decided_at is not None
    visa = Visa.objects.get(application=case)
    assert visa.number.startswith("K")
    assert len(visa.number) == 10
    assert visa.valid_until == services.default_visa_terms(case).valid_until
    assert visa.entries == "multiple"
    assert visa.max_stay_days == 180
    assert QueueEntry.objects.get(application=case).state == QueueEntry.State.DONE


def test_visa_terms_may_be_shortened_but_never_extended(case, officer, settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    _claimed(case, officer)
    allowed = services.default_visa_terms(case)
    with pytest.raises(ValidationFailed) as caught:
        services.decision_make(
            application=case,
            officer=officer,
            outcome="approve",
            terms=_terms(
                case, valid_until=allowed.valid_until + timedelta(days=1), max_stay_days=181
            ),
        )
    assert set(caught.value.extra["errors"]) == {"valid_until", "max_stay_days"}
    assert not Decision.objects.filter(application=case).exists()
    shorter = _terms(
        case,
        valid_until=allowed.valid_from + timedelta(days=364),
        entries="single",
        max_stay_days=90,
    )
    decision = services.decision_make(
        application=case, officer=officer, outcome="approve", terms=shorter
    )
    visa = Visa.objects.get(decision=decision)
    assert (visa.entries, visa.max_stay_days) == ("single", 90)


def test_a_refusal_waits_for_a_second_officer_who_confirms(
    case, officer, second_officer, django_capture_on_commit_callbacks
):
    _claimed(case, officer)
    decision = services.decision_make(
        application=case,
        officer=officer,
        outcome="refuse",
        reason_codes=["criteria-not-met"],
        statement="The degree field is not STEM.",
    )
    assert decision.state == Decision.State.AWAITING_REVIEW
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW
    entry = QueueEntry.objects.get(application=case)
    assert entry.state == QueueEntry.State.SECOND_REVIEW
    assert entry.claimed_by is None

    with pytest.raises(Forbidden, match="own decision"):
        services.second_review_confirm(decision=decision, reviewer=officer)
    services.second_review_confirm(decision=decision, reviewer=second_officer, comment="Agreed.")

    decision.refresh_from_db()
    assert decision.state == Decision.State.FINAL
    assert decision.reviewed_by == second_officer
    case.refresh_from_db()
    assert case.status == Status.REFUSED
    assert not Visa.objects.filter(application=case).exists()
    kinds = list(TimelineEvent.objects.filter(application=case).values_list("kind", flat=True))
    assert "decision_proposed" in kinds
    assert "second_review_confirmed" in kinds


def test_the_database_refuses_a_decision_reviewed_by_its_author(case, officer):
    _claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Decision.objects.filter(pk=decision.pk).update(reviewed_by=officer)


def test_a_sent_back_decision_returns_the_case_to_the_queue_with_the_comment(
    case, officer, second_officer
):
    _claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )
    with pytest.raises(ValidationFailed):
        services.second_review_send_back(decision=decision, reviewer=second_officer, comment="")
    services.second_review_send_back(
        decision=decision, reviewer=second_officer, comment="Ask for the transcript first."
    )
    decision.refresh_from_db()
    assert decision.state == Decision.State.SENT_BACK
    entry = QueueEntry.objects.get(application=case)
    assert entry.state == QueueEntry.State.WAITING
    case.refresh_from_db()
    assert case.status == Status.QUEUED
    # It can be claimed and decided again.
    services.case_claim_next(officer=second_officer, queue=entry.queue)
    services.decision_make(
        application=case,
        officer=second_officer,
        outcome="refuse",
        reason_codes=["criteria-not-met"],
    )


def test_a_share_of_approvals_is_drawn_for_second_review(case, officer, settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 1
    _claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="approve", terms=_terms(case)
    )
    assert decision.sampled
    assert decision.state == Decision.State.AWAITING_REVIEW
    assert not Visa.objects.filter(application=case).exists()


def test_a_refusal_needs_a_reason_in_use_and_a_statement_where_the_reason_asks(case, officer):
    _claimed(case, officer)
    for codes, statement, field in (
        ([], "", "reasons"),
        (["no-such-reason"], "", "reasons"),
        (["other"], "", "statement"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            services.decision_make(
                application=case,
                officer=officer,
                outcome="refuse",
                reason_codes=codes,
                statement=statement,
            )
        assert field in caught.value.extra["errors"]


def test_only_the_holder_decides_and_a_stale_page_is_refused(case, officer, second_officer):
    with pytest.raises(Conflict, match="Claim this case"):
        services.decision_make(
            application=case, officer=officer, outcome="refuse", reason_codes=["other"]
        )
    entry = _claimed(case, officer)
    with pytest.raises(Conflict, match="Another officer holds"):
        services.decision_make(
            application=case, officer=second_officer, outcome="refuse", reason_codes=["other"]
        )
    case.refresh_from_db()
    version = services.case_version(application=case, entry=QueueEntry.objects.get(pk=entry.pk))
    services.note_add(application=case, author=officer, text="a note does not change the case")
    services.case_release(application=case, actor=officer)
    services.case_claim_next(officer=officer, queue=entry.queue)
    with pytest.raises(services.StaleCase):
        services.decision_make(
            application=case,
            officer=officer,
            outcome="refuse",
            reason_codes=["criteria-not-met"],
            expected_version=version,
        )


def test_withdrawal_ends_the_queue_entry_and_a_pending_decision(case, officer):
    _claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )
    app_services.application_withdraw(application=case, actor=case.applicant)
    decision.refresh_from_db()
    assert decision.state == Decision.State.CANCELLED
    assert QueueEntry.objects.get(application=case).state == QueueEntry.State.DONE


def test_a_withdrawn_waiting_case_is_never_claimed(case, queue, officer):
    app_services.application_withdraw(application=case, actor=case.applicant)
    assert services.case_claim_next(officer=officer, queue=queue) is None


# --- audit ------------------------------------------------------------------------------------


def test_audit_rows_cannot_be_rewritten(case, officer):
    from reviews.selectors import access_record

    row = access_record(officer=officer, application=case, action=CaseAccess.Action.CASE_FILE)
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseAccess.objects.filter(pk=row.pk).update(action="document")
    with pytest.raises(IntegrityError), transaction.atomic():
        TimelineEvent.objects.filter(application=case).update(message="rewritten")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM reviews_caseaccess WHERE action = 'case_file'")
        assert cursor.fetchone() == (1,)


def test_the_queue_table_is_vacuumed_after_a_fixed_number_of_dead_rows():
    with connection.cursor() as cursor:
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'screening_queueentry'")
        (options,) = cursor.fetchone()
    assert "autovacuum_vacuum_scale_factor=0" in options
    assert "autovacuum_vacuum_threshold=10000" in options
