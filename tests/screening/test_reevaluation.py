"""Publishing a new policy version does not change the stored result of an already-screened
application; an explicit re-evaluation does, as a new result that keeps the old one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from applications.models import TimelineEvent
from kvisa.errors import Conflict
from policy.models import PolicyVersion, ReviewQueue
from policy.selectors import policy_in_force
from policy.services import (
    policy_version_create_draft,
    policy_version_publish,
    policy_version_update,
)
from screening.models import QueueEntry, Screening
from screening.services import screening_reevaluate, screening_run
from tests.factories import AdminFactory, OfficerFactory

STORED = ("policy_version_id", "eligible", "points", "fast_track", "evaluation", "queue_id")


@pytest.fixture
def likely_refusals():
    return ReviewQueue.objects.create(
        code="likely-refusals", name_en="Likely refusals", priority=5, service_level_days=20
    )


@pytest.fixture
def screened(submitted):
    screening = screening_run(application_id=submitted.pk)
    assert screening is not None
    assert screening.eligible is True  # a master's degree meets the bachelor minimum
    return screening


def publish_doctorates_only(*, route_ineligible_to: str | None = None) -> PolicyVersion:
    """The version in force, but for doctorates only (and, optionally, its own queue for the
    cases that fail)."""
    admin_user = AdminFactory(with_totp=False)
    current = policy_in_force()
    draft = policy_version_create_draft(actor=admin_user, source=current, name="doctorates only")
    data: dict = {"criteria": {**current.criteria, "min_degree_level": "doctorate"}}
    if route_ineligible_to:
        data["routing_rules"] = [
            {"when": "ineligible", "queue": route_ineligible_to},
            *current.routing_rules,
        ]
    policy_version_update(version=draft, actor=admin_user, data=data)
    return policy_version_publish(version=draft, actor=admin_user)


def stored(screening: Screening) -> dict:
    fresh = Screening.objects.get(pk=screening.pk)
    return {field: getattr(fresh, field) for field in (*STORED, "is_current")}


def test_publishing_a_new_version_leaves_stored_results_alone(screened, likely_refusals):
    before = stored(screened)
    entry_before = QueueEntry.objects.values().get(application_id=screened.application_id)

    publish_doctorates_only(route_ineligible_to=likely_refusals.code)

    assert stored(screened) == before
    assert QueueEntry.objects.values().get(application_id=screened.application_id) == entry_before
    assert Screening.objects.filter(application_id=screened.application_id).count() == 1


def test_reevaluation_writes_a_new_current_result_against_the_new_version(
    screened, likely_refusals
):
    officer = OfficerFactory(with_totp=False)
    old_queue = screened.queue
    before = stored(screened)
    new_version = publish_doctorates_only(route_ineligible_to=likely_refusals.code)

    result = screening_reevaluate(application=screened.application, actor=officer)

    assert result.is_current is True
    assert result.policy_version == new_version
    assert result.trigger == Screening.Trigger.REEVALUATION
    assert result.actor == officer
    assert result.eligible is False
    degree_rule = next(r for r in result.evaluation["rules"] if r["code"] == "degree_level")
    assert degree_rule["passed"] is False
    # the earlier result is history, unchanged apart from no longer being current
    assert stored(screened) == {**before, "is_current": False}
    assert Screening.objects.get(application=screened.application, is_current=True) == result
    event = TimelineEvent.objects.get(application=screened.application, kind="reevaluated")
    assert event.actor == officer
    assert event.public is False
    assert event.data["previous"] == screened.pk
    assert event.data["screening"] == result.pk
    assert event.data["policy_version"] == new_version.name
    assert event.data["moved"] is True
    # the case was still waiting, so it follows the new routing
    entry = QueueEntry.objects.get(application=screened.application)
    assert old_queue != likely_refusals
    assert entry.queue == likely_refusals
    assert entry.priority == likely_refusals.priority
    assert result.queue == likely_refusals


def test_reevaluation_leaves_a_case_an_officer_holds_in_its_queue(screened, likely_refusals):
    officer = OfficerFactory(with_totp=False)
    QueueEntry.objects.filter(application=screened.application).update(
        state=QueueEntry.State.IN_REVIEW,
        claimed_by=officer,
        claimed_at=timezone.now(),
        lease_expires_at=timezone.now() + timedelta(minutes=30),
    )
    publish_doctorates_only(route_ineligible_to=likely_refusals.code)

    result = screening_reevaluate(application=screened.application, actor=officer)

    assert result.queue == likely_refusals
    entry = QueueEntry.objects.get(application=screened.application)
    assert entry.queue == screened.queue
    assert entry.claimed_by == officer
    event = TimelineEvent.objects.get(application=screened.application, kind="reevaluated")
    assert event.data["moved"] is False


def test_reevaluation_with_the_same_routing_keeps_the_queue(screened):
    officer = OfficerFactory(with_totp=False)
    entry_before = QueueEntry.objects.get(application=screened.application)
    publish_doctorates_only()

    result = screening_reevaluate(application=screened.application, actor=officer)

    assert result.eligible is False
    assert result.queue == screened.queue
    entry = QueueEntry.objects.get(application=screened.application)
    assert (entry.queue_id, entry.priority) == (entry_before.queue_id, entry_before.priority)


def test_an_unscreened_submission_cannot_be_reevaluated(submitted):
    with pytest.raises(Conflict):
        screening_reevaluate(application=submitted, actor=OfficerFactory(with_totp=False))

    assert not Screening.objects.filter(application=submitted).exists()
