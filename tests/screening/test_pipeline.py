"""The screening pipeline against the real database: steps, idempotency, routing."""

from __future__ import annotations

from datetime import date

import pytest

from applications import services as app_services
from applications.models import DegreeLevel, DocumentKind, Status, TimelineEvent
from applications.tasks import application_submitted
from policy.models import Institution, ReviewQueue, StemField
from screening import services
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
# screening, two list queries, duplicate passports, reused documents, insert); route (lock, queues,
# holidays, entry, screening, two timeline rows, the status change on the row already locked); the
# confirmation (check, row).
SUBMISSION_TASK_QUERIES = 24


@pytest.mark.parametrize("extra_degrees", [0, 3])
def test_the_submission_task_makes_the_same_queries_whatever_the_file_holds(
    db, media_root, django_capture_on_commit_callbacks, django_assert_num_queries, extra_degrees
):
    draft = _with_more_degrees(complete_draft(), extra_degrees)
    with django_capture_on_commit_callbacks(execute=False):
        application = submit(draft)
    with django_assert_num_queries(SUBMISSION_TASK_QUERIES):
        application_submitted(application.pk)
    application.refresh_from_db()
    assert application.status == Status.QUEUED
    screening = Screening.objects.get(application=application)
    assert screening.complete is True  # every degree's documents were found, none re-read
    assert TimelineEvent.objects.filter(application=application, kind="confirmation_sent").exists()
