"""Officer-side fixtures: a case screened into a queue, officers who are members of it, and a
fast builder of many queued cases for concurrency and query-count tests."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from applications.models import Application, Status
from applications.reference import format_reference
from policy.models import ReviewQueue
from policy.selectors import policy_in_force
from screening.models import QueueEntry
from screening.services import screening_run
from tests.applications.conftest import (  # noqa: F401 (fixtures and builders)
    complete_draft,
    draft,
    media_root,
    submit,
    submitted,
)
from tests.factories import ApplicantFactory, OfficerFactory, SupervisorFactory

_sequence = itertools.count(5_000_000)


def screened(application: Application) -> Application:
    """Run the real screening pipeline: the case lands in a queue (`queued`)."""
    assert screening_run(application_id=application.pk) is not None
    application.refresh_from_db()
    assert application.status == Status.QUEUED
    return application


@pytest.fixture
def case(submitted) -> Application:  # noqa: F811 (the imported fixture)
    """One submitted case, screened into its queue by the pipeline."""
    return screened(submitted)


@pytest.fixture
def queue(case) -> ReviewQueue:
    return case.queue_entry.queue


def officer_in(*queues: ReviewQueue, **kwargs):
    officer = OfficerFactory(**kwargs)
    for q in queues:
        q.members.add(officer)
    return officer


@pytest.fixture
def officer(queue):
    return officer_in(queue)


@pytest.fixture
def second_officer(queue):
    return officer_in(queue)


@pytest.fixture
def supervisor(queue):
    return SupervisorFactory()


def queued_cases(queue: ReviewQueue, count: int, *, applicant=None) -> list[Application]:
    """`count` queued cases in `queue`, made in bulk (not through the applicant journey: the
    journey is tested elsewhere, and hundreds of uploads would only slow the suite)."""
    applicant = applicant or ApplicantFactory()
    policy = policy_in_force()
    now = timezone.now()
    year = now.year
    apps = Application.objects.bulk_create(
        Application(
            applicant=applicant,
            status=Status.QUEUED,
            reference=format_reference(year=year, sequence=next(_sequence)),
            policy_version=policy,
            family_name=f"Case{i}",
            given_names="Test",
            nationality="NG",
            submitted_at=now - timedelta(hours=count - i),
            snapshot={},
        )
        for i in range(count)
    )
    QueueEntry.objects.bulk_create(
        QueueEntry(
            application=a,
            queue=queue,
            priority=queue.priority,
            entered_at=a.submitted_at,
            due_at=now + timedelta(days=20),
        )
        for a in apps
    )
    return apps
