"""Routing's writes in one statement, written once a process from the models' metadata
(issue 7).

``screening.services._step_routing`` decides where a screened case goes (in Python: the
policy's routing rules, the active queues, the due date over working days); this module
writes it. Built by the ORM, the same transaction was six statements (lock, entry, screening,
two timeline rows, the status change), each compiled on every case and each a round trip.
Here one statement of data-modifying CTEs locks the screening and its application, and only
if the case is still submitted and not yet routed, inserts its queue entry, records the
routing on the screening, moves the application to queued (applications/transition_sql.py)
and writes the "screened" and the status timeline rows.

A concurrent run of the pipeline for the same case waits on the lock, then finds it routed
(PostgreSQL re-checks a locked row's conditions once its lock is free) and writes nothing.
tests/screening/test_pipeline.py holds the rows written equal to what the ORM path wrote.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any

from applications.models import TRANSITIONS, Application, Status
from applications.transition_sql import may_become, transition_ctes
from kvisa.rows import Columns, columns, literal, one_row, table
from policy.models import ReviewQueue
from screening.models import QueueEntry, Screening


@functools.cache
def _statement() -> tuple[str, Columns, list[str]]:
    assert Status.QUEUED in TRANSITIONS[Status.SUBMITTED]  # the move this statement makes
    entry = columns(QueueEntry, "e")
    screenings, entries = table(Screening), table(QueueEntry)
    # Literals, not parameters: a generic plan must still know the state it looks for.
    submitted, waiting = literal(Status.SUBMITTED), literal(QueueEntry.State.WAITING)
    moves = transition_ctes(
        "locked",
        "(1, 'screened', '', '', '', false, %(screened)s::jsonb), "
        "(2, 'status', locked.status, %(to)s, '', true, '{}'::jsonb)",
    )
    sql = f"""
        WITH locked AS (
            SELECT s.id, s.application_id, a.status
            FROM {screenings} s JOIN {table(Application)} a ON a.id = s.application_id
            WHERE s.id = %(screening)s AND s.routed_at IS NULL AND a.status = {submitted}
            FOR UPDATE OF s, a
        ), entered AS (
            INSERT INTO {entries} AS e
                (application_id, queue_id, state, priority, entered_at, due_at, updated_at)
            SELECT locked.application_id, %(queue)s, {waiting}, %(priority)s, %(now)s, %(due)s,
                   %(now)s
            FROM locked
            RETURNING {", ".join(entry.sql)}
        ), routed AS (
            UPDATE {screenings} AS s
            SET queue_id = %(queue)s, routing = %(routing)s::jsonb, routed_at = %(now)s
            FROM locked WHERE s.id = locked.id
        ), {moves}
        SELECT entered.* FROM entered
    """  # noqa: S608 - names from the models' metadata, values parameters
    return sql, entry, may_become(Status.QUEUED)


def route(
    *,
    screening: Screening,
    queue: ReviewQueue,
    priority: int,
    due_at: datetime,
    routing: dict[str, Any],
    screened: dict[str, Any],
    now: datetime,
) -> QueueEntry | None:
    """Put the screened case in ``queue`` (see the module docstring); None when it is routed
    already or no longer submitted. ``screened`` is the "screened" timeline row's data."""
    sql, entry, from_statuses = _statement()
    row = one_row(
        sql,
        {
            "screening": screening.pk,
            "queue": queue.pk,
            "priority": priority,
            "now": now,
            "due": due_at,
            "routing": json.dumps(routing),
            "screened": json.dumps(screened),
            "to": Status.QUEUED,
            "from": from_statuses,
            "actor": None,
        },
    )
    return None if row is None else entry.instance(row)
