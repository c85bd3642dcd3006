"""The screening pipeline against the real database: steps, idempotency, routing."""

from __future__ import annotations

from applications.models import Status, TimelineEvent
from policy.models import ReviewQueue
from screening import services
from screening.models import QueueEntry, Screening


def test_pipeline_screens_routes_and_queues_once(submitted):
    screening = services.screening_run(application_id=submitted.pk)
    assert screening is not None
    assert screening.complete is True
    assert screening.eligible is True
    assert screening.flags == []
    entry = QueueEntry.objects.get(application=submitted)
    assert entry.queue.code == screening.queue.code
    submitted.refresh_from_db()
    assert submitted.status == Status.QUEUED
    # a second run (redelivery, sweeper) does nothing
    assert services.screening_run(application_id=submitted.pk) is None
    assert QueueEntry.objects.filter(application=submitted).count() == 1
    assert Screening.objects.filter(application=submitted).count() == 1
    assert TimelineEvent.objects.filter(application=submitted, kind="screened").count() == 1


def test_explanations_in_both_languages(submitted):
    screening = services.screening_run(application_id=submitted.pk)
    age_rule = next(r for r in screening.evaluation["rules"] if r["code"] == "age")
    assert age_rule["passed"] is True
    assert set(age_rule["explanation"]) == {"en", "zh-hans"}
    assert "Age" in age_rule["explanation"]["en"]
    assert age_rule["explanation"]["zh-hans"] != age_rule["explanation"]["en"]
    assert ReviewQueue.objects.filter(code="standard").exists()
