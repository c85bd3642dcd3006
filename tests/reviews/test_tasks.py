"""The periodic tasks of the workspace are scheduled, and each does its one job when run."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from applications.models import Status
from reviews import services, tasks
from screening.models import QueueEntry

pytestmark = pytest.mark.django_db


def test_the_workspace_sweeps_are_on_the_beat_schedule():
    scheduled = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert scheduled["reviews.tasks.leases_expire"] <= timedelta(minutes=1)
    assert scheduled["reviews.tasks.evidence_expire_overdue"] <= timedelta(minutes=15)
    assert scheduled["reviews.tasks.letters_sweep"] <= timedelta(minutes=5)


def test_the_lease_task_returns_a_forgotten_case_to_its_queue(case, officer):
    services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    QueueEntry.objects.filter(application=case).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert tasks.leases_expire() == 1
    case.refresh_from_db()
    assert case.status == Status.QUEUED
    assert tasks.leases_expire() == 0


def test_the_evidence_task_brings_back_an_unanswered_case(case, officer):
    services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    request = services.evidence_request_create(
        application=case,
        officer=officer,
        items=["Transcript"],
        message="Please send it.",
        due_on=timezone.localdate() + timedelta(days=7),
    )
    type(request).objects.filter(pk=request.pk).update(due_at=timezone.now() - timedelta(minutes=1))
    assert tasks.evidence_expire_overdue() == 1
    case.refresh_from_db()
    assert case.status == Status.QUEUED
    assert QueueEntry.objects.get(application=case).queue.code == "returned-evidence"
