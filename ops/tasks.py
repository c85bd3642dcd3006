"""Housekeeping tasks, scheduled in CELERY_BEAT_SCHEDULE."""

from __future__ import annotations

from importlib import import_module

from celery import shared_task
from django.conf import settings

from ops.heartbeat import heartbeat_record


@shared_task(ignore_result=True, soft_time_limit=5, time_limit=10)
def worker_heartbeat() -> None:
    """Refresh the heartbeat /readyz reads; beat sends this every 30 s."""
    heartbeat_record()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def clear_expired_sessions() -> None:
    """Delete expired sessions, as ``manage.py clearsessions`` does.

    Idempotent (a DELETE of what has expired), so acks_late's redelivery after a lost worker
    is harmless.
    """
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()


@shared_task(acks_late=True, ignore_result=True, soft_time_limit=240, time_limit=300)
def idempotency_purge() -> int:
    from ops.idempotency import idempotency_purge as purge

    return purge()
