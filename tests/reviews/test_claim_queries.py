"""Claim next and release in a fixed number of statements (issue 7), whatever the queue holds,
answering exactly what a fresh read of the case would show."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from applications.models import Application, Status, TimelineEvent
from applications.services import IllegalTransition, application_transition
from kvisa.errors import Conflict, Forbidden
from ops.models import IdempotencyRecord
from reviews import services
from screening.models import QueueEntry
from tests.factories import bearer
from tests.reviews.conftest import officer_in, queued_cases

pytestmark = pytest.mark.django_db

# Test-client requests with an Idempotency-Key, as the benchmark sends them. Authentication
# is one of them (the token with its user and the officer's permissions) and the key two
# (claimed, answer stored); the rest is the operation. In a test, SAVEPOINT and RELEASE stand
# where production sends BEGIN and COMMIT.
CLAIM_REQUEST = 7  # + queue, SAVEPOINT, the claim (membership, entry, case, timeline), RELEASE
RELEASE_REQUEST = 7  # + access, SAVEPOINT, the release (case and entry locked, entry, case,
#                      two timeline rows), RELEASE
CLAIM_SERVICE = 3  # SAVEPOINT, the claim, RELEASE
# more when the officer holds a case already: membership, SAVEPOINT, held case, lease, RELEASE
CLAIM_HELD = 5
RELEASE_SERVICE = 3  # SAVEPOINT, the release, RELEASE

_keys = itertools.count()


class _AnyTime:
    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and "T" in other


ANY_TIME = _AnyTime()  # the renewed lease


def _post(client, auth, path):
    return client.post(path, HTTP_IDEMPOTENCY_KEY=f"key-{next(_keys)}", **auth)


def _claim(client, auth, queue):
    return _post(client, auth, f"/api/v1/queues/{queue.code}/claim/")


def _release(client, auth, reference):
    return _post(client, auth, f"/api/v1/cases/{reference}/release/")


def _listed(client, auth, reference):
    """The case as the case list shows it: a fresh read through the same serializer."""
    (row,) = client.get("/api/v1/cases/", {"reference": reference}, **auth).json()["results"]
    return row


@pytest.mark.parametrize("waiting", [1, 60])
def test_claim_and_release_through_the_api_take_a_fixed_number_of_statements(
    client, queue, officer, waiting, django_assert_num_queries
):
    queued_cases(queue, waiting)
    auth = bearer(officer)
    for _ in range(2):  # the second round starts from a case released back to its place
        with django_assert_num_queries(CLAIM_REQUEST):
            claimed = _claim(client, auth, queue)
        assert claimed.status_code == 200
        with django_assert_num_queries(RELEASE_REQUEST):
            released = _release(client, auth, claimed.json()["reference"])
        assert released.status_code == 200


def test_claiming_again_while_holding_takes_a_fixed_number_of_statements(
    client, queue, case, officer, django_assert_num_queries
):
    auth = bearer(officer)
    first = _claim(client, auth, queue)
    with django_assert_num_queries(CLAIM_REQUEST + CLAIM_HELD):
        again = _claim(client, auth, queue)
    assert again.json() == {
        **first.json(),
        "queue_entry": {**first.json()["queue_entry"], "lease_expires_at": ANY_TIME},
    }
    assert again.json()["queue_entry"]["held_by"] == officer.email


def test_the_claim_and_release_answers_are_what_a_fresh_read_shows(client, queue, officer):
    queued_cases(queue, 3)
    auth = bearer(officer)
    claimed = _claim(client, auth, queue).json()
    assert claimed["status"] == Status.IN_REVIEW
    assert claimed["queue_entry"]["held_by"] == officer.email
    assert claimed == _listed(client, auth, claimed["reference"])

    released = _release(client, auth, claimed["reference"]).json()
    assert released["status"] == Status.QUEUED
    assert released["queue_entry"]["state"] == QueueEntry.State.WAITING
    assert released["queue_entry"]["held_by"] is None
    assert released == _listed(client, auth, claimed["reference"])


@pytest.mark.parametrize("waiting", [1, 60])
def test_the_services_take_a_fixed_number_of_statements(
    queue, officer, waiting, django_assert_num_queries
):
    queued_cases(queue, waiting)
    assert officer.is_officer  # permissions cached, as after the API's authentication
    with django_assert_num_queries(CLAIM_SERVICE):
        entry = services.case_claim_next(officer=officer, queue=queue)
    assert entry is not None
    with django_assert_num_queries(RELEASE_SERVICE):
        services.case_release(application=entry.application, actor=officer)


def test_the_claimed_entry_carries_its_rows_as_written(queue, officer, django_assert_num_queries):
    (case,) = queued_cases(queue, 1)
    entry = services.case_claim_next(officer=officer, queue=queue)
    assert entry is not None
    with django_assert_num_queries(0):
        assert entry.application.status == Status.IN_REVIEW
        assert entry.application.queue_entry is entry
        assert entry.queue.code == queue.code
        assert entry.claimed_by == officer
    fresh = QueueEntry.objects.select_related("application").get(pk=entry.pk)
    assert (fresh.state, fresh.claimed_by_id, fresh.lease_expires_at, fresh.updated_at) == (
        entry.state,
        officer.pk,
        entry.lease_expires_at,
        entry.updated_at,
    )
    assert fresh.application.status == Status.IN_REVIEW
    assert fresh.application.updated_at == entry.application.updated_at
    events = TimelineEvent.objects.filter(application=case, to_status=Status.IN_REVIEW)
    assert [(e.actor_id, e.from_status, e.data) for e in events] == [
        (officer.pk, Status.QUEUED, {"queue": queue.code, "claimed": True})
    ]


def _row(model, pk):
    return model.objects.filter(pk=pk).values().get()


def _changed(before, after):
    return {name for name in before if before[name] != after[name]}


def test_a_claim_writes_only_the_columns_a_claim_changes(queue, officer):
    (case,) = queued_cases(queue, 1)
    application, entry = _row(Application, case.pk), _row(QueueEntry, case.queue_entry.pk)

    services.case_claim_next(officer=officer, queue=queue)

    assert _changed(application, _row(Application, case.pk)) == {"status", "updated_at"}
    assert _changed(entry, _row(QueueEntry, case.queue_entry.pk)) == {
        "state",
        "claimed_by_id",
        "claimed_at",
        "lease_expires_at",
        "updated_at",
    }


def test_the_claims_transition_is_the_one_application_transition_writes(queue, officer):
    """The claim writes the transition in SQL (reviews/claiming.py): the same change to the
    row, the same timeline event, as the ORM's one place a status changes."""
    by_sql, by_orm = queued_cases(queue, 2)
    before = {case.pk: _row(Application, case.pk) for case in (by_sql, by_orm)}
    entry = services.case_claim_next(officer=officer, queue=queue)
    assert entry is not None
    assert entry.application_id == by_sql.pk
    application_transition(
        application=by_orm,
        to=Status.IN_REVIEW,
        actor=officer,
        data={"queue": queue.code, "claimed": True},
    )

    def written(case):
        row = _row(Application, case.pk)
        (event,) = TimelineEvent.objects.filter(application=case, to_status=Status.IN_REVIEW)
        event_row = _row(TimelineEvent, event.pk)
        return (
            {k: row[k] for k in _changed(before[case.pk], row) - {"updated_at"}},
            {k: v for k, v in event_row.items() if k not in ("id", "application_id", "at")},
            row["updated_at"] == event.at,
        )

    sql_change, sql_event, sql_same_time = written(by_sql)
    assert (sql_change, sql_event) == written(by_orm)[:2]
    assert sql_change == {"status": Status.IN_REVIEW}
    assert sql_same_time  # the row and its event carry the claim's one time


def test_a_case_whose_status_may_not_start_review_is_refused_and_nothing_changes(queue, officer):
    (case,) = queued_cases(queue, 1)
    Application.objects.filter(pk=case.pk).update(status=Status.DRAFT)  # corrupted on purpose
    entry = _row(QueueEntry, case.queue_entry.pk)

    with pytest.raises(IllegalTransition) as refused:
        services.case_claim_next(officer=officer, queue=queue)

    assert "cannot become" in refused.value.message
    assert _row(QueueEntry, case.queue_entry.pk) == entry
    assert Application.objects.get(pk=case.pk).status == Status.DRAFT
    assert not TimelineEvent.objects.filter(application=case, to_status=Status.IN_REVIEW).exists()


def test_a_transition_under_the_callers_lock_needs_the_callers_transaction(transactional_db, queue):
    (case,) = queued_cases(queue, 1)
    with pytest.raises(RuntimeError):
        application_transition(application=case, to=Status.IN_REVIEW, actor=None, locked=True)
    assert Application.objects.get(pk=case.pk).status == Status.QUEUED


def test_an_expired_idempotency_key_is_taken_over_by_a_new_request(client, queue, officer):
    queued_cases(queue, 2)
    auth = bearer(officer)
    first = client.post(f"/api/v1/queues/{queue.code}/claim/", HTTP_IDEMPOTENCY_KEY="old", **auth)
    held = Application.objects.get(reference=first.json()["reference"])
    services.case_release(application=held, actor=officer)
    IdempotencyRecord.objects.filter(key="old").update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    again = client.post(f"/api/v1/queues/{queue.code}/claim/", HTTP_IDEMPOTENCY_KEY="old", **auth)

    assert again.status_code == 200
    assert "Idempotent-Replayed" not in again
    assert again.json()["status"] == Status.IN_REVIEW  # worked again, not the first answer
    (record,) = IdempotencyRecord.objects.filter(key="old")
    assert record.created_at > timezone.now() - timedelta(minutes=5)
    assert record.response_body == again.json()


def test_a_live_idempotency_key_is_replayed_not_taken_over(client, queue, officer):
    queued_cases(queue, 2)
    auth = bearer(officer)
    first = client.post(f"/api/v1/queues/{queue.code}/claim/", HTTP_IDEMPOTENCY_KEY="live", **auth)
    again = client.post(f"/api/v1/queues/{queue.code}/claim/", HTTP_IDEMPOTENCY_KEY="live", **auth)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert IdempotencyRecord.objects.filter(key="live").count() == 1


def test_an_officer_in_several_queues_claims_from_the_one_asked(queue, officer):
    from policy.models import ReviewQueue

    other = ReviewQueue.objects.exclude(pk=queue.pk).first()
    assert other is not None
    other.members.add(officer)
    queued_cases(other, 2)
    (mine,) = queued_cases(queue, 1)
    entry = services.case_claim_next(officer=officer, queue=queue)
    assert entry is not None
    assert entry.application_id == mine.pk
    outsider = officer_in(other)
    with pytest.raises(Forbidden):
        services.case_claim_next(officer=outsider, queue=queue)


def test_a_release_writes_what_the_holder_had_and_records_both_events(queue, officer):
    (case,) = queued_cases(queue, 1)
    entry = services.case_claim_next(officer=officer, queue=queue)
    assert entry is not None
    application, held = _row(Application, case.pk), _row(QueueEntry, entry.pk)

    released = services.case_release(application=case, actor=officer, reason="Lunch")

    assert _changed(application, _row(Application, case.pk)) == {"status", "updated_at"}
    assert _row(Application, case.pk)["status"] == Status.QUEUED
    after = _row(QueueEntry, entry.pk)
    assert _changed(held, after) == {
        "state",
        "claimed_by_id",
        "claimed_at",
        "lease_expires_at",
        "updated_at",
    }
    assert (after["state"], after["claimed_by_id"], after["claimed_at"]) == ("waiting", None, None)
    assert after["entered_at"] == held["entered_at"]  # its place in the queue kept
    events = TimelineEvent.objects.filter(application=case).order_by("pk")
    *_, status, note = [
        (e.kind, e.actor_id, e.from_status, e.to_status, e.message, e.public, e.data)
        for e in events
    ]
    assert status == ("status", officer.pk, Status.IN_REVIEW, Status.QUEUED, "", True, {})
    assert note == (
        "released",
        officer.pk,
        "",
        "",
        "Lunch",
        False,
        {"queue": queue.code, "holder": officer.pk},
    )
    # what the service hands back is what was written
    assert (released.state, released.claimed_by_id, released.queue.code) == (
        "waiting",
        None,
        queue.code,
    )
    assert released.application.status == Status.QUEUED
    assert released.application.updated_at == _row(Application, case.pk)["updated_at"]


def test_a_supervisor_releases_another_officers_case_and_the_holder_is_recorded(
    queue, officer, supervisor
):
    (case,) = queued_cases(queue, 1)
    services.case_claim_next(officer=officer, queue=queue)
    services.case_release(application=case, actor=supervisor)
    note = TimelineEvent.objects.get(application=case, kind="released")
    assert (note.actor_id, note.data["holder"]) == (supervisor.pk, officer.pk)


def _nothing_changes(case, entry_pk, release):
    application, entry = _row(Application, case.pk), _row(QueueEntry, entry_pk)
    events = TimelineEvent.objects.filter(application=case).count()
    release()
    assert _row(Application, case.pk) == application
    assert _row(QueueEntry, entry_pk) == entry
    assert TimelineEvent.objects.filter(application=case).count() == events


def test_an_officer_cannot_release_another_officers_case(queue, officer, second_officer):
    (case,) = queued_cases(queue, 1)
    entry = services.case_claim_next(officer=officer, queue=queue)

    def release():
        with pytest.raises(Forbidden):
            services.case_release(application=case, actor=second_officer)

    _nothing_changes(case, entry.pk, release)


def test_a_case_nobody_holds_is_not_released(queue, officer):
    (case,) = queued_cases(queue, 1)

    def release():
        with pytest.raises(Conflict, match="Nobody holds this case"):
            services.case_release(application=case, actor=officer)

    _nothing_changes(case, case.queue_entry.pk, release)


def test_a_case_not_yet_in_a_queue_is_not_released(queue, officer):
    (case,) = queued_cases(queue, 1)
    QueueEntry.objects.filter(application=case).delete()
    with pytest.raises(Conflict, match="not reached a review queue"):
        services.case_release(application=case, actor=officer)


def test_a_held_case_whose_status_may_not_go_back_to_queued_is_refused(queue, officer):
    (case,) = queued_cases(queue, 1)
    entry = services.case_claim_next(officer=officer, queue=queue)
    Application.objects.filter(pk=case.pk).update(status=Status.DRAFT)  # corrupted on purpose

    def release():
        with pytest.raises(IllegalTransition):
            services.case_release(application=case, actor=officer)

    _nothing_changes(case, entry.pk, release)


def _generic_plan(sql: str, params: dict) -> str:
    """EXPLAIN of ``sql`` planned as PostgreSQL plans a prepared statement once it stops
    planning it for each call's values (a generic plan), sequential scans off so that only an
    index's predicate decides which index serves."""
    import re

    names: list[str] = []

    def number(match: re.Match) -> str:
        if match[1] not in names:
            names.append(match[1])
        return f"${names.index(match[1]) + 1}"

    prepared = re.sub(r"%\((\w+)\)s", number, sql)
    arguments = connection.ops.compose_sql(
        ", ".join(["%s"] * len(names)), [params[n] for n in names]
    )
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"PREPARE generic_claim AS {prepared}")
        try:
            cursor.execute(f"EXPLAIN EXECUTE generic_claim({arguments})")
            return "\n".join(line for (line,) in cursor.fetchall())
        finally:
            cursor.execute("DEALLOCATE generic_claim")


def test_the_claim_finds_waiting_cases_by_their_partial_index_once_its_plan_is_generic(
    queue, officer
):
    """PostgreSQL prepares a statement a connection repeats (DATABASE_PREPARED_STATEMENTS) and
    may then plan it once for any values: a state sent as a parameter would no longer match
    the partial indexes' predicates, and the claim would walk every entry of the queue."""
    from reviews import claiming

    now = timezone.now()
    plan = _generic_plan(
        claiming._statements().claim,
        {
            "queue": queue.pk,
            "actor": officer.pk,
            "to": Status.IN_REVIEW,
            "from": [Status.QUEUED],
            "now": now,
            "lease": now,
            "data": "{}",
        },
    )
    assert "queue_entry_claimable_idx" in plan
    assert "queue_entry_one_held_case_per_officer" in plan


def test_a_case_released_by_the_other_tab_while_claiming_is_claimed_not_answered_empty(
    queue, officer, monkeypatch
):
    """The claim finds the officer holding a case; before it looks the case up, the officer's
    other tab releases it. "Nothing waiting" would be wrong: the claim is tried again."""
    queued_cases(queue, 1)
    held = services.case_claim_next(officer=officer, queue=queue)
    assert held is not None
    membership = services.is_queue_member

    def other_tab_releases_meanwhile(**kwargs):
        services.case_release(application=held.application, actor=officer)
        return membership(**kwargs)

    monkeypatch.setattr(services, "is_queue_member", other_tab_releases_meanwhile)
    again = services.case_claim_next(officer=officer, queue=queue)

    assert again is not None
    assert again.state == QueueEntry.State.IN_REVIEW
    assert again.claimed_by_id == officer.pk


def test_an_empty_queue_answers_none_in_a_fixed_number_of_statements(
    queue, officer, django_assert_num_queries
):
    QueueEntry.objects.filter(queue=queue).update(state=QueueEntry.State.DONE)
    assert officer.is_officer  # permissions cached, as after the API's authentication
    # SAVEPOINT, claim, RELEASE; membership; SAVEPOINT, held case, RELEASE; the claim again
    with django_assert_num_queries(CLAIM_SERVICE + 4 + CLAIM_SERVICE):
        assert services.case_claim_next(officer=officer, queue=queue) is None
