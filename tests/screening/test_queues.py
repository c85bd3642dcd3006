"""Integrity flags, routing, the service-level clock, escalation and the sweeper."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from applications import services as app_services
from applications.models import Application, EvidenceRequest, Status, TimelineEvent
from applications.tasks import application_submitted
from policy.models import Holiday, PolicyVersion, ReviewQueue
from screening import services
from screening.calendar import add_working_days
from screening.models import QueueEntry, Screening
from screening.tasks import screening_sweep
from tests.factories import OfficerFactory, SupervisorFactory
from tests.screening.conftest import complete_draft, submit


def _screened(application: Application) -> Screening:
    screening = services.screening_run(application_id=application.pk)
    assert screening is not None
    return screening


# --- calendar -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_working_days_skip_weekends_and_public_holidays():
    friday = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)
    assert add_working_days(friday, 1).date().isoformat() == "2026-12-07"  # Monday
    assert add_working_days(friday, 5).date().isoformat() == "2026-12-11"
    Holiday.objects.create(date=date(2026, 12, 7), name_en="Test holiday")
    assert add_working_days(friday, 1).date().isoformat() == "2026-12-08"


# --- integrity and routing ------------------------------------------------------------------


def test_a_second_open_application_with_the_same_passport_is_flagged_and_routed_to_integrity(
    db, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = submit(complete_draft())
        second = submit(complete_draft())  # same passport number and nationality
    assert _screened(first).flag_codes == ("duplicate_passport",)
    screening = _screened(second)
    flag = screening.flags[0]
    assert flag["code"] == "duplicate_passport"
    assert flag["related"] == [{"id": first.pk, "reference": first.reference}]
    assert "other open application" in flag["explanation"]["en"]
    assert screening.queue.code == "integrity"
    assert QueueEntry.objects.get(application=second).queue.code == "integrity"


def test_a_document_reused_by_another_applicant_is_flagged(
    db, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        first = submit(complete_draft())
        draft = complete_draft()
        app_services.application_update(application=draft, data={"passport_number": "B99999999"})
        photo = first.documents.get(kind="photo")
        copy = draft.documents.get(kind="photo")
        copy.sha256 = photo.sha256  # the same bytes as the first applicant's photo
        copy.save(update_fields=["sha256"])
        second = submit(draft)
    flags = _screened(second).flags
    assert [f["code"] for f in flags] == ["reused_document"]
    assert flags[0]["related"][0]["reference"] == first.reference


def test_a_passport_ending_before_the_stay_is_flagged(
    db, media_root, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(complete_draft())
    # The form refuses this at submission; screening re-checks what was stored.
    Application.objects.filter(pk=application.pk).update(
        passport_expiry_date=application.planned_stay_end - timedelta(days=1)
    )
    assert _screened(application).flag_codes == ("passport_validity",)


def test_a_high_scoring_eligible_case_goes_to_fast_track_with_its_service_level(
    db, media_root, django_capture_on_commit_callbacks
):
    policy = PolicyVersion.objects.get(status="published")
    policy.points_model = {**policy.points_model, "fast_track_threshold": 10}
    policy.save()
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(complete_draft())
    screening = _screened(application)
    assert screening.fast_track is True
    entry = QueueEntry.objects.get(application=application)
    fast = ReviewQueue.objects.get(code="fast-track")
    assert entry.queue == fast
    assert entry.priority == fast.priority
    assert entry.due_at == add_working_days(application.submitted_at, fast.service_level_days)
    assert screening.routing["rule"]["when"] == "fast_track"


def test_a_rule_naming_an_inactive_queue_falls_back_to_standard(
    db, media_root, django_capture_on_commit_callbacks
):
    ReviewQueue.objects.filter(code="standard").update(is_active=True)
    policy = PolicyVersion.objects.get(status="published")
    policy.routing_rules = [{"when": "always", "queue": "integrity"}]
    policy.save()
    ReviewQueue.objects.filter(code="integrity").update(is_active=False)
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(complete_draft())
    screening = _screened(application)
    assert screening.queue.code == "standard"
    assert screening.routing["fallback"] is True


def test_a_withdrawn_submission_is_never_queued(submitted):
    app_services.application_withdraw(application=submitted, actor=submitted.applicant)
    assert services.screening_run(application_id=submitted.pk) is None
    assert not QueueEntry.objects.filter(application=submitted).exists()


def test_the_submission_task_screens_then_confirms_once(submitted, mailoutbox):
    application_submitted(submitted.pk)
    application_submitted(submitted.pk)  # redelivered
    submitted.refresh_from_db()
    assert submitted.status == Status.QUEUED
    assert len(mailoutbox) == 1
    assert submitted.reference in mailoutbox[0].subject + mailoutbox[0].body


# --- service-level clock --------------------------------------------------------------------


def _evidence_requested(application: Application, officer) -> EvidenceRequest:
    """What the officer workspace does when it asks for evidence (the case leaves the queue)."""
    app_services.application_transition(application=application, to=Status.IN_REVIEW, actor=officer)
    app_services.application_transition(
        application=application, to=Status.EVIDENCE_REQUESTED, actor=officer
    )
    services.queue_entry_pause(application=application, actor=officer)
    return EvidenceRequest.objects.create(
        application=application,
        requested_by=officer,
        items=["Degree certificate, certified copy"],
        message="Please send a certified copy.",
        due_at=timezone.now() + timedelta(days=30),
    )


def test_the_clock_pauses_for_evidence_and_resumes_in_the_returned_evidence_queue(
    submitted, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    _screened(submitted)
    officer = OfficerFactory()
    due_before = QueueEntry.objects.get(application=submitted).due_at
    request = _evidence_requested(submitted, officer)
    entry = QueueEntry.objects.get(application=submitted)
    assert entry.state == QueueEntry.State.PAUSED

    time_machine.shift(timedelta(days=6, hours=3))
    app_services.evidence_answer(
        request=request, actor=submitted.applicant, text="Attached.", uploads=[]
    )

    entry.refresh_from_db()
    assert entry.state == QueueEntry.State.WAITING
    assert entry.queue.code == "returned-evidence"
    assert entry.due_at == due_before + timedelta(days=6, hours=3)
    assert entry.paused_at is None
    submitted.refresh_from_db()
    assert submitted.status == Status.QUEUED
    assert TimelineEvent.objects.filter(application=submitted, kind="requeued").exists()


def test_overdue_cases_are_escalated_once_and_supervisors_told(
    submitted, mailoutbox, django_capture_on_commit_callbacks
):
    _screened(submitted)
    supervisor = SupervisorFactory()
    entry = QueueEntry.objects.get(application=submitted)
    QueueEntry.objects.filter(pk=entry.pk).update(due_at=timezone.now() - timedelta(minutes=1))

    with django_capture_on_commit_callbacks(execute=True):
        assert services.queue_escalate_overdue() == [submitted.pk]
        assert services.queue_escalate_overdue() == []

    escalated = QueueEntry.objects.get(pk=entry.pk)
    assert escalated.escalated_at is not None
    assert escalated.priority == entry.priority + 50
    assert TimelineEvent.objects.filter(application=submitted, kind="escalated").count() == 1
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == [supervisor.email]
    assert submitted.reference in mailoutbox[0].body


def test_a_paused_case_is_not_escalated(submitted):
    _screened(submitted)
    _evidence_requested(submitted, OfficerFactory())
    QueueEntry.objects.filter(application=submitted).update(
        due_at=timezone.now() - timedelta(days=1)
    )
    assert services.queue_escalate_overdue() == []


# --- the sweeper ----------------------------------------------------------------------------


def test_the_sweeper_finds_only_submissions_stuck_past_the_limit(submitted, settings, time_machine):
    settings.SCREENING_STUCK_AFTER_SECONDS = 600
    assert services.screenings_stuck() == []
    later = timezone.now() + timedelta(seconds=601)
    assert services.screenings_stuck(now=later) == [submitted.pk]
    # a recent attempt (a worker on it right now) holds the sweeper back
    time_machine.move_to(later, tick=False)
    services._screening_steps(application_id=submitted.pk)  # an attempt, not yet routed
    assert services.screenings_stuck(now=later) == []
    assert services.screenings_stuck(now=later + timedelta(seconds=601)) == [submitted.pk]
    _screened(submitted)
    assert services.screenings_stuck(now=later + timedelta(seconds=601)) == []


def test_the_sweep_task_enqueues_each_stuck_submission(submitted, settings, celery_broker):
    settings.SCREENING_STUCK_AFTER_SECONDS = 0
    with celery_broker.connection_for_write() as conn:
        before = conn.default_channel.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
        assert screening_sweep() == 1
        after = conn.default_channel.client.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert after == before + 1
