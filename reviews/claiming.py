"""Claim next and release in SQL written once a process from the models' metadata (issue 7).

``reviews.services.case_claim_next`` and ``case_release`` are the services; this module holds
their SQL. Built by the ORM on every call, the same statements cost more in Python (compiling
a 60-column join, three saves, inserts) than PostgreSQL spent running them, and each was a
round trip of its own. Here:

1. ``claim`` picks the queue's first waiting case that no other claim has locked (entry and
   application, SKIP LOCKED), if the officer is a member of the queue and holds no case,
   takes it for the officer under a lease, moves the application from queued to in review and
   writes the timeline row, in one statement of data-modifying CTEs, and returns the entry
   and the application as written. Two claims from one officer's two tabs at the same moment
   both find nothing held (each statement sees the rows committed when it started): the
   second then waits on the "one held case" unique index for the first, and fails when the
   first commits; the service answers it with the case the first took.
2. ``release`` locks the case and its entry (application first, as every officer path does),
   and if the actor holds it (or is a supervisor) puts the entry back in its place, moves the
   application back to queued and writes its two timeline rows, in one statement; it returns
   what it found, so the service can say why nothing was released.

The application's part is ``applications.services.application_transition`` written out in
SQL for these two transitions (applications/transition_sql.py): the same status table
(TRANSITIONS decides which statuses may become the new one; any other is refused with the
same IllegalTransition), the same two columns written, the same timeline rows.
tests/reviews/test_claim_queries.py holds the rows written equal to the ORM path's.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accounts.models import User
from applications.models import Application, Status
from applications.transition_sql import may_become, transition_ctes
from kvisa.rows import Columns, columns, literal, one_row, table
from policy.models import ReviewQueue
from screening.models import QueueEntry


@dataclass(frozen=True)
class _Statements:
    claim: str
    release: str
    entry: Columns
    application: Columns
    queue: Columns
    from_statuses: dict[str, list[str]]  # status: the statuses TRANSITIONS lets become it


@functools.cache
def _statements() -> _Statements:
    entries, applications, queues = table(QueueEntry), table(Application), table(ReviewQueue)
    members = ReviewQueue.members.through
    # The states are written into the SQL, not sent as parameters: once PostgreSQL plans a
    # prepared statement generically, "state = $2" no longer matches the partial indexes'
    # "state = 'waiting'" (the claimable cases) and "state = 'in_review'" (the held ones).
    waiting, in_review = literal(QueueEntry.State.WAITING), literal(QueueEntry.State.IN_REVIEW)
    entry, application, queue = (
        columns(QueueEntry, "e"),
        columns(Application, "a"),
        columns(ReviewQueue, "q"),
    )
    claim_moves = transition_ctes(
        "picked", "(1, 'status', picked.status, %(to)s, '', true, %(data)s::jsonb)"
    )
    release_moves = transition_ctes(
        "held",
        "(1, 'status', held.status, %(to)s, '', true, '{}'::jsonb), "
        "(2, 'released', '', '', %(reason)s, false, "
        "jsonb_build_object('queue', q.code, 'holder', held.claimed_by_id))",
        events_from=f"held JOIN {queues} q ON q.id = held.queue_id",
    )
    claim = f"""
        WITH picked AS (
            SELECT e.id, e.application_id, a.status
            FROM {entries} e JOIN {applications} a ON a.id = e.application_id
            WHERE e.queue_id = %(queue)s AND e.state = {waiting}
              AND EXISTS (
                  SELECT 1 FROM {table(members)} m
                  WHERE m.reviewqueue_id = %(queue)s AND m.user_id = %(actor)s
              )
              AND NOT EXISTS (
                  SELECT 1 FROM {entries} h
                  WHERE h.claimed_by_id = %(actor)s AND h.state = {in_review}
              )
            ORDER BY e.priority DESC, e.entered_at
            LIMIT 1
            FOR UPDATE OF e, a SKIP LOCKED
        ), taken AS (
            UPDATE {entries} AS e
            SET state = {in_review}, claimed_by_id = %(actor)s, claimed_at = %(now)s,
                lease_expires_at = %(lease)s, updated_at = %(now)s
            FROM picked WHERE e.id = picked.id
            RETURNING {", ".join(entry.sql)}
        ), {claim_moves}
        SELECT picked.status, taken.*, moved.*
        FROM picked CROSS JOIN taken LEFT JOIN moved ON true
    """  # noqa: S608 - names from the models' metadata, values parameters
    release = f"""
        WITH held AS (
            SELECT e.id, e.application_id, e.queue_id, e.state, e.claimed_by_id, a.status
            FROM {entries} e JOIN {applications} a ON a.id = e.application_id
            WHERE e.application_id = %(application)s
            FOR UPDATE OF a, e
        ), returned AS (
            UPDATE {entries} AS e
            SET state = {waiting}, claimed_by_id = NULL, claimed_at = NULL,
                lease_expires_at = NULL, updated_at = %(now)s
            FROM held
            WHERE e.id = held.id AND held.state = {in_review}
              AND (held.claimed_by_id = %(actor)s OR %(supervisor)s)
            RETURNING {", ".join(entry.sql)}
        ), {release_moves}
        SELECT held.state, held.claimed_by_id, held.status, {", ".join(queue.sql)},
               returned.*, moved.*
        FROM held JOIN {queues} q ON q.id = held.queue_id
        LEFT JOIN returned ON true LEFT JOIN moved ON true
    """  # noqa: S608 - names from the models' metadata, values parameters
    from_statuses: dict[str, list[str]] = {
        str(to): may_become(to) for to in (Status.IN_REVIEW, Status.QUEUED)
    }
    return _Statements(claim, release, entry, application, queue, from_statuses)


@dataclass(frozen=True)
class Moved:
    """What a claim or a release wrote: the entry and the application as written, and the
    application's status before. ``application`` is None when TRANSITIONS does not let that
    status change (the statement then wrote the entry: the caller raises, rolling it back)."""

    previous_status: str
    entry: QueueEntry
    application: Application | None


def _moved(statements: _Statements, previous_status: str, values: tuple[Any, ...]) -> Moved:
    split = len(statements.entry)
    return Moved(
        previous_status=previous_status,
        entry=statements.entry.instance(values[:split]),
        application=(
            None if values[split] is None else statements.application.instance(values[split:])
        ),
    )


def claim(
    *, officer: User, queue: ReviewQueue, now: datetime, lease_until: datetime, data: dict[str, Any]
) -> Moved | None:
    """Take the queue's next case for the officer (see the module docstring); None when none
    is waiting, the officer is not a member of the queue, or already holds a case. Needs the
    caller's transaction."""
    statements = _statements()
    row = one_row(
        statements.claim,
        {
            "queue": queue.pk,
            "actor": officer.pk,
            "to": Status.IN_REVIEW,
            "from": statements.from_statuses[Status.IN_REVIEW],
            "now": now,
            "lease": lease_until,
            "data": json.dumps(data),
        },
    )
    return None if row is None else _moved(statements, row[0], row[1:])


@dataclass(frozen=True)
class Held:
    """The case's entry as the release found it, under its lock."""

    state: str
    holder_id: int | None
    queue: ReviewQueue


def release(
    *, application: Application, actor: User, supervisor: bool, now: datetime, reason: str
) -> tuple[Held, Moved | None] | None:
    """Put the case back in its queue if the actor holds it (or is a ``supervisor``), writing
    the status change and a "released" timeline row; None when the case has no queue entry.
    The Held part says what was found, so the caller can say why nothing was released."""
    statements = _statements()
    row = one_row(
        statements.release,
        {
            "application": application.pk,
            "actor": actor.pk,
            "supervisor": supervisor,
            "to": Status.QUEUED,
            "from": statements.from_statuses[Status.QUEUED],
            "now": now,
            "reason": reason,
        },
    )
    if row is None:
        return None
    state, holder_id, previous_status = row[:3]
    split = 3 + len(statements.queue)
    held = Held(state, holder_id, statements.queue.instance(row[3:split]))
    if row[split] is None:  # nothing returned to the queue
        return held, None
    return held, _moved(statements, previous_status, row[split:])
