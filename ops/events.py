"""The transactional outbox: ``event_emit`` records a domain event in the caller's transaction.

Why an outbox: a webhook sent from inside a transaction may announce a change that then rolls
back; one sent after commit is lost if the process dies or the broker is down in between.
Writing the event as a row of the same transaction makes it exactly as durable as the change;
delivery happens later, from the row, and a periodic sweeper picks up anything whose
after-commit publish never arrived.

ops is the lowest app, so it cannot import the app that dispatches events (integrations).
That app connects its dispatch task here in its ``AppConfig.ready()``, the way apps connect
to ``applications.hooks``.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import connection

from ops.models import EventType, OutboxEvent
from ops.queueing import enqueue_on_commit

_dispatchers: list[Task] = []


def dispatcher_connect(task: Task) -> None:
    """Have ``task`` (no arguments) enqueued after the commit of every transaction that emits."""
    if task not in _dispatchers:
        _dispatchers.append(task)


def event_emit(*, type: str, application_id: int | None, payload: dict[str, Any]) -> OutboxEvent:
    """Record an event; it is dispatched once the caller's transaction commits.

    Must run inside the transaction that makes the change (asserted): an event written in a
    transaction of its own could outlive a change that rolled back, or miss one that did not.
    """
    assert connection.in_atomic_block, "event_emit must run inside the change's transaction"
    event = OutboxEvent.objects.create(
        type=EventType(type), application_id=application_id, payload=payload
    )
    for task in _dispatchers:
        enqueue_on_commit(task)
    return event
