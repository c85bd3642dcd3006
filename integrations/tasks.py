"""Webhook tasks: ids in, one service call, safe to run twice (the services lock and check)."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from integrations import services
from ops.queueing import enqueue

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def outbox_dispatch() -> int:
    """Turn undispatched outbox events into webhook messages; how many messages.

    Enqueued after the commit of every event, and on the beat schedule as the sweeper for
    events whose enqueue never reached the broker.
    """
    return len(services.outbox_dispatch())


# No autoretry: a failed delivery is rescheduled in the database (next_attempt_at), and a
# database error leaves the message due, so webhooks_retry_due enqueues it again.
@shared_task(acks_late=True, soft_time_limit=60, time_limit=90)
def webhook_deliver(message_id: int) -> None:
    services.webhook_deliver(message_id=message_id)


@shared_task(acks_late=True)
def webhooks_retry_due() -> int:
    """Enqueue every pending message whose next attempt is due; how many were published."""
    return sum(enqueue(webhook_deliver, pk) for pk in services.messages_due())


@shared_task(acks_late=True)
def delivery_log_purge() -> int:
    return services.delivery_log_purge()
