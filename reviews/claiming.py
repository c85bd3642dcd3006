"""Claim next in two statements, written once a process from the models' metadata (issue 7).

``reviews.services.case_claim_next`` is the service; this module holds its SQL. Built by the
ORM on every claim, the same five statements cost more in Python (compiling a 60-column join,
three saves, an insert) than PostgreSQL spent running them, and each was a round trip of its
own. Here:

1. ``officer_lock`` locks the officer's row, so two claims from the officer's two tabs take
   turns, and answers whether the officer is a member of the queue. It must be a statement of
   its own: under READ COMMITTED a statement's snapshot is taken before it waits on a lock, so
   the claim that follows must start after the lock is held to see the other tab's claim.
2. ``claim`` picks the queue's first waiting case that no other claim has locked (entry and
   application, SKIP LOCKED), takes it for the officer under a lease, moves the application
   from queued to in review and writes the timeline row, in one statement of data-modifying
   CTEs, and returns the entry and the application as written.

Step 2 is ``applications.services.application_transition`` written out in SQL for this one
transition: the same status table (TRANSITIONS decides which statuses may become "in review";
a case in any other status is refused with the same IllegalTransition), the same two columns
written, the same timeline row. tests/reviews/test_claim_queries.py holds the rows it writes
equal to the ORM path's.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from accounts.models import User
from applications.models import TRANSITIONS, Application, Status, TimelineEvent
from kvisa.rows import Columns, columns, table
from policy.models import ReviewQueue
from screening.models import QueueEntry


@dataclass(frozen=True)
class _Statements:
    officer_lock: str
    claim: str
    entry: Columns
    application: Columns
    may_start_review: list[str]  # the statuses TRANSITIONS lets become "in review"


@functools.cache
def _statements() -> _Statements:
    entries, applications, timeline = table(QueueEntry), table(Application), table(TimelineEvent)
    members = ReviewQueue.members.through
    entry, application = columns(QueueEntry, "e"), columns(Application, "a")
    officer_lock = f"""
        SELECT EXISTS(
            SELECT 1 FROM {table(members)} m WHERE m.reviewqueue_id = %(queue)s AND m.user_id = u.id
        )
        FROM {table(User)} u WHERE u.id = %(officer)s FOR UPDATE OF u
    """  # noqa: S608 - names from the models' metadata, values parameters
    claim = f"""
        WITH picked AS (
            SELECT e.id, e.application_id, a.status
            FROM {entries} e JOIN {applications} a ON a.id = e.application_id
            WHERE e.queue_id = %(queue)s AND e.state = %(waiting)s
              AND NOT EXISTS (
                  SELECT 1 FROM {entries} h
                  WHERE h.claimed_by_id = %(officer)s AND h.state = %(in_review)s
              )
            ORDER BY e.priority DESC, e.entered_at
            LIMIT 1
            FOR UPDATE OF e, a SKIP LOCKED
        ), taken AS (
            UPDATE {entries} AS e
            SET state = %(in_review)s, claimed_by_id = %(officer)s, claimed_at = %(now)s,
                lease_expires_at = %(lease)s, updated_at = %(now)s
            FROM picked WHERE e.id = picked.id
            RETURNING {", ".join(entry.sql)}
        ), moved AS (
            UPDATE {applications} AS a SET status = %(to)s, updated_at = %(now)s
            FROM picked
            WHERE a.id = picked.application_id AND picked.status = ANY(%(from)s)
            RETURNING {", ".join(application.sql)}
        ), recorded AS (
            INSERT INTO {timeline}
                (application_id, at, actor_id, kind, from_status, to_status, message, public, data)
            SELECT moved.id, %(now)s, %(officer)s, 'status', picked.status, %(to)s, '', true,
                   %(data)s::jsonb
            FROM moved CROSS JOIN picked
        )
        SELECT picked.status, taken.*, moved.*
        FROM picked CROSS JOIN taken LEFT JOIN moved ON true
    """  # noqa: S608 - names from the models' metadata, values parameters
    may_start_review = sorted(s for s, to in TRANSITIONS.items() if Status.IN_REVIEW in to)
    return _Statements(officer_lock, claim, entry, application, may_start_review)


def officer_lock(*, officer: User, queue: ReviewQueue) -> bool:
    """Lock the officer's row (until the transaction ends); whether they are in the queue."""
    with connection.cursor() as cursor:
        cursor.execute(_statements().officer_lock, {"queue": queue.pk, "officer": officer.pk})
        (member,) = cursor.fetchone()
    return bool(member)


@dataclass(frozen=True)
class Claimed:
    previous_status: str
    entry: QueueEntry
    application: Application | None  # None: its status may not become "in review"


def claim(
    *, officer: User, queue: ReviewQueue, now: datetime, lease_until: datetime, data: dict[str, Any]
) -> Claimed | None:
    """Take the queue's next case for the officer (see the module docstring); None when none
    is waiting, or the officer already holds one. Needs the caller's transaction."""
    statements = _statements()
    with connection.cursor() as cursor:
        cursor.execute(
            statements.claim,
            {
                "queue": queue.pk,
                "officer": officer.pk,
                "waiting": QueueEntry.State.WAITING,
                "in_review": QueueEntry.State.IN_REVIEW,
                "to": Status.IN_REVIEW,
                "from": statements.may_start_review,
                "now": now,
                "lease": lease_until,
                "data": json.dumps(data),
            },
        )
        row = cursor.fetchone()
    if row is None:
        return None
    split = 1 + len(statements.entry)
    return Claimed(
        previous_status=row[0],
        entry=statements.entry.instance(row[1:split]),
        application=None if row[split] is None else statements.application.instance(row[split:]),
    )
