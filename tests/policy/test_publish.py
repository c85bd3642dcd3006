"""Policy versions through their services: draft, edit, publish — each audited."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from kvisa.errors import Conflict, ValidationFailed
from policy.models import PolicyEvent, PolicyVersion
from policy.selectors import policy_in_force
from policy.services import (
    policy_version_create_draft,
    policy_version_publish,
    policy_version_update,
)
from tests.factories import AdminFactory

pytestmark = pytest.mark.django_db

Status = PolicyVersion.Status


@pytest.fixture
def admin_user():
    return AdminFactory(with_totp=False)


@pytest.fixture
def in_force():
    return policy_in_force()


@pytest.fixture
def draft(admin_user, in_force):
    return policy_version_create_draft(actor=admin_user, source=in_force, name="2026-01 draft")


def stricter_criteria(version: PolicyVersion) -> dict:
    return {**version.criteria, "min_degree_level": "doctorate"}


def test_create_draft_copies_the_sections_of_its_source(admin_user, in_force, draft):
    assert draft.status == Status.DRAFT
    assert draft.sections == in_force.sections
    assert draft.published_at is None
    event = PolicyEvent.objects.get(version=draft)
    assert event.action == PolicyEvent.Action.CREATED
    assert event.actor == admin_user
    assert event.data == {"source": in_force.pk, "source_name": in_force.name}


def test_create_draft_without_source_starts_empty(admin_user):
    version = policy_version_create_draft(actor=admin_user, name="blank")

    assert version.criteria == {}
    assert version.routing_rules == []
    assert PolicyEvent.objects.get(version=version).data == {}


def test_create_draft_refuses_a_taken_name(admin_user, in_force):
    with pytest.raises(ValidationFailed) as caught:
        policy_version_create_draft(actor=admin_user, source=in_force, name=in_force.name)

    assert "name" in caught.value.extra["problems"]


def test_the_copy_is_independent_of_its_source(admin_user, in_force, draft):
    policy_version_update(
        version=draft, actor=admin_user, data={"criteria": stricter_criteria(draft)}
    )

    in_force.refresh_from_db()
    assert in_force.criteria["min_degree_level"] == "bachelor"


def test_update_records_the_changed_sections(admin_user, draft):
    updated = policy_version_update(
        version=draft,
        actor=admin_user,
        data={"criteria": stricter_criteria(draft), "notes": "Doctorates only", "name": draft.name},
    )

    assert updated.criteria["min_degree_level"] == "doctorate"
    draft.refresh_from_db()
    assert draft.notes == "Doctorates only"
    event = PolicyEvent.objects.get(version=draft, action=PolicyEvent.Action.EDITED)
    assert event.actor == admin_user
    assert event.data["sections"] == ["criteria"]
    assert set(event.data["fields"]) == {"criteria", "notes"}


def test_update_without_changes_writes_no_event(admin_user, draft):
    policy_version_update(version=draft, actor=admin_user, data={"criteria": draft.criteria})

    assert not PolicyEvent.objects.filter(version=draft, action=PolicyEvent.Action.EDITED).exists()


def test_invalid_update_is_refused_with_the_problems(admin_user, draft):
    bad = {**draft.criteria, "age": {"min": 50, "max": 45}}

    with pytest.raises(ValidationFailed) as caught:
        policy_version_update(version=draft, actor=admin_user, data={"criteria": bad})

    assert caught.value.extra["problems"] == {
        "criteria": ["The minimum age must not be above the maximum age."]
    }
    draft.refresh_from_db()
    assert draft.criteria["age"] == {"min": 18, "max": 45}
    assert not PolicyEvent.objects.filter(version=draft, action=PolicyEvent.Action.EDITED).exists()


def test_update_of_a_published_version_is_refused(admin_user, in_force):
    with pytest.raises(Conflict):
        policy_version_update(
            version=in_force, actor=admin_user, data={"criteria": stricter_criteria(in_force)}
        )

    in_force.refresh_from_db()
    assert in_force.criteria["min_degree_level"] == "bachelor"


def test_publish_retires_the_version_in_force(admin_user, in_force, draft):
    published = policy_version_publish(version=draft, actor=admin_user)

    in_force.refresh_from_db()
    assert in_force.status == Status.RETIRED
    assert published.status == Status.PUBLISHED
    assert published.published_by == admin_user
    assert published.published_at is not None
    assert PolicyVersion.objects.filter(status=Status.PUBLISHED).get() == draft
    assert policy_in_force() == draft


def test_publish_writes_retired_and_published_events_with_the_actor(admin_user, in_force, draft):
    policy_version_update(
        version=draft, actor=admin_user, data={"criteria": stricter_criteria(draft)}
    )
    policy_version_publish(version=draft, actor=admin_user)

    retired = PolicyEvent.objects.get(version=in_force, action=PolicyEvent.Action.RETIRED)
    published = PolicyEvent.objects.get(version=draft, action=PolicyEvent.Action.PUBLISHED)
    assert retired.actor == published.actor == admin_user
    assert retired.data["replaced_by"] == draft.pk
    assert published.data["replaces"] == in_force.pk
    assert published.data["sections"] == ["criteria"]


def test_publishing_a_non_draft_raises_conflict(admin_user, in_force, draft):
    policy_version_publish(version=draft, actor=admin_user)

    with pytest.raises(Conflict):
        policy_version_publish(version=draft, actor=admin_user)
    with pytest.raises(Conflict):
        policy_version_publish(version=in_force, actor=admin_user)  # retired now

    assert PolicyVersion.objects.filter(status=Status.PUBLISHED).get() == draft


def test_invalid_draft_is_not_published_and_nothing_changes(admin_user, in_force, draft):
    # Written past the service, as a draft could be by a data migration or an older release.
    PolicyVersion.objects.filter(pk=draft.pk).update(
        routing_rules=[{"when": "fast_track", "queue": "fast-track"}]
    )
    events_before = PolicyEvent.objects.count()

    with pytest.raises(ValidationFailed) as caught:
        policy_version_publish(version=draft, actor=admin_user)

    assert "routing_rules" in caught.value.extra["problems"]
    draft.refresh_from_db()
    in_force.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert in_force.status == Status.PUBLISHED
    assert PolicyEvent.objects.count() == events_before


def test_database_refuses_two_versions_in_force(draft):
    with pytest.raises(IntegrityError), transaction.atomic():
        PolicyVersion.objects.filter(pk=draft.pk).update(status=Status.PUBLISHED)


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_leave_exactly_one_version_in_force():
    actor = AdminFactory(with_totp=False)
    source = policy_in_force()
    drafts = [
        policy_version_create_draft(actor=actor, source=source, name=f"concurrent {n}")
        for n in range(2)
    ]
    barrier = threading.Barrier(len(drafts))
    outcomes: list[str] = []

    def publish(version: PolicyVersion) -> None:
        try:
            barrier.wait(timeout=10)
            policy_version_publish(version=version, actor=actor)
            outcomes.append("published")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=publish, args=(d,)) for d in drafts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(outcomes) == 2
    assert PolicyVersion.objects.filter(status=Status.PUBLISHED).count() == 1
    # The row locks serialise the two: the second retires what the first published.
    assert outcomes == ["published", "published"]
    assert set(
        PolicyVersion.objects.filter(pk__in=[d.pk for d in drafts]).values_list("status", flat=True)
    ) == {Status.PUBLISHED, Status.RETIRED}
    source.refresh_from_db()
    assert source.status == Status.RETIRED
    assert PolicyEvent.objects.filter(action=PolicyEvent.Action.RETIRED).count() == 2
