"""The screening pipeline against the real database: steps, idempotency, routing."""

from __future__ import annotations

from datetime import date

import pytest

from applications import services as app_services
from applications.models import Application, DegreeLevel, DocumentKind, Status, TimelineEvent
from applications.tasks import application_submitted
from policy.models import Institution, ReviewQueue, StemField
from policy.selectors import engine_lists
from screening import services
from screening.calendar import add_working_days
from screening.models import QueueEntry, Screening
from tests.applications.conftest import complete_draft, pdf_upload, submit


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


def _with_more_degrees(application, extra: int):
    """The complete draft plus `extra` doctorates, each with its certificate and transcript."""
    field = StemField.objects.get(code="computer-science")
    institution = Institution.objects.get(name_en="University of Lagos")
    for n in range(extra):
        degree = app_services.degree_save(
            application=application,
            degree=None,
            data={
                "level": DegreeLevel.DOCTORATE,
                "field": field,
                "institution": institution,
                "country": "NG",
                "started_on": date(2021 + n, 9, 1),
                "awarded_on": date(2024 + n, 7, 1),
            },
        )
        for kind in (DocumentKind.DEGREE_CERTIFICATE, DocumentKind.TRANSCRIPT):
            app_services.document_add(
                application=application,
                kind=kind,
                upload=pdf_upload(),
                actor=application.applicant,
                degree=degree,
            )
    return application


# The whole submission task, savepoints included (the test's transaction turns BEGIN/COMMIT into
# SAVEPOINT/RELEASE): load; screen (lock and load the application, its degrees, documents and
# screening, the governed lists' version, duplicate passports, reused documents, insert); route
# (queues, holidays, then one statement: lock, entry, screening, status change, two timeline
# rows); the confirmation (check, row). The worker holds the lists already (a cold one reads
# them once more: two queries, tests/policy/test_lists_cache.py).
SUBMISSION_TASK_QUERIES = 16


@pytest.mark.parametrize("extra_degrees", [0, 3])
def test_the_submission_task_makes_the_same_queries_whatever_the_file_holds(
    db, media_root, django_capture_on_commit_callbacks, django_assert_num_queries, extra_degrees
):
    draft = _with_more_degrees(complete_draft(), extra_degrees)
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(draft)
    engine_lists()  # as a worker that has screened before holds them
    with django_assert_num_queries(SUBMISSION_TASK_QUERIES):
        application_submitted(application.pk)
    application.refresh_from_db()
    assert application.status == Status.QUEUED
    screening = Screening.objects.get(application=application)
    assert screening.complete is True  # every degree's documents were found, none re-read
    assert TimelineEvent.objects.filter(application=application, kind="confirmation_sent").exists()


def _row(model, **where):
    return model.objects.filter(**where).values().get()


def test_routing_writes_the_entry_the_screening_the_status_and_two_timeline_rows(submitted):
    before = _row(Application, pk=submitted.pk)
    screening = services.screening_run(application_id=submitted.pk)
    assert screening is not None

    entry = _row(QueueEntry, application_id=submitted.pk)
    queue = screening.queue
    routed = _row(Screening, pk=screening.pk)
    after = _row(Application, pk=submitted.pk)
    assert (entry["queue_id"], entry["state"], entry["claimed_by_id"]) == (
        queue.pk,
        "waiting",
        None,
    )
    assert entry["priority"] == queue.priority + screening.routing["rule"].get("priority_boost", 0)
    assert entry["entered_at"] == entry["updated_at"] == routed["routed_at"] == after["updated_at"]
    assert entry["due_at"] == add_working_days(before["submitted_at"], queue.service_level_days)
    assert (routed["queue_id"], routed["routing"]) == (queue.pk, screening.routing)
    assert routed["routing"]["queue"] == queue.code
    assert {k for k in before if before[k] != after[k]} == {"status", "updated_at"}
    assert after["status"] == Status.QUEUED

    screened, status = TimelineEvent.objects.filter(
        application=submitted, at=routed["routed_at"]
    ).order_by("pk")
    assert (screened.kind, screened.actor_id, screened.public, screened.message) == (
        "screened",
        None,
        False,
        "",
    )
    assert screened.data == {
        "screening": screening.pk,
        "eligible": screening.eligible,
        "points": screening.points,
        "fast_track": screening.fast_track,
        "flags": list(screening.flag_codes),
        "queue": queue.code,
        "due_at": entry["due_at"].isoformat(),
    }
    assert (status.kind, status.actor_id, status.public, status.from_status, status.to_status) == (
        "status",
        None,
        True,
        Status.SUBMITTED,
        Status.QUEUED,
    )
    assert status.data == {}


def test_a_case_no_longer_submitted_is_not_routed(submitted):
    Application.objects.filter(pk=submitted.pk).update(status=Status.WITHDRAWN)
    screening = services._screening_steps(application_id=submitted.pk)
    assert screening is None  # the steps stop too: nothing is written
    assert not QueueEntry.objects.filter(application=submitted).exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_routing_one_case_at_once_queue_it_once(media_root):
    """The second run's routing waits on the first's lock, then finds the case routed."""
    from tests.locks import race_on_a_lock

    application = submit(complete_draft())
    screening = services._screening_steps(application_id=application.pk)
    assert screening is not None

    def route() -> QueueEntry | None:
        return services._step_routing(screening=screening)

    first, second = race_on_a_lock(route, route)

    assert isinstance(first, QueueEntry)
    assert second is None
    assert QueueEntry.objects.filter(application=application).count() == 1
    assert TimelineEvent.objects.filter(application=application, kind="screened").count() == 1
    assert Application.objects.get(pk=application.pk).status == Status.QUEUED
