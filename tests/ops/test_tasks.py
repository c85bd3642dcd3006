"""ops.tasks, called directly (the real worker runs them in test_worker_integration.py)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from celery.signals import worker_ready
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from ops.heartbeat import heartbeat_age
from ops.tasks import clear_expired_sessions, worker_heartbeat


def _session(key: str, expires_in: timedelta) -> Session:
    return Session.objects.create(
        session_key=key, session_data="", expire_date=timezone.now() + expires_in
    )


@pytest.mark.django_db
def test_clear_expired_sessions_deletes_only_expired_sessions():
    expired = _session("expired" + "x" * 25, timedelta(minutes=-1))
    live = _session("live" + "x" * 28, timedelta(days=1))

    clear_expired_sessions()

    assert not Session.objects.filter(pk=expired.pk).exists()
    assert Session.objects.filter(pk=live.pk).exists()


def test_clear_expired_sessions_is_acked_late_and_time_limited():
    # acks_late: a worker lost mid-task leaves the message to be redelivered, not dropped.
    assert clear_expired_sessions.acks_late is True
    assert 0 < clear_expired_sessions.soft_time_limit < clear_expired_sessions.time_limit


def test_worker_heartbeat_task_records_the_current_time(settings):
    cache.delete(settings.WORKER_HEARTBEAT_KEY)

    worker_heartbeat()

    age = heartbeat_age()
    assert age is not None
    assert age < 2


def test_a_worker_becoming_ready_records_a_heartbeat(settings):
    cache.delete(settings.WORKER_HEARTBEAT_KEY)
    before = time.time()

    worker_ready.send(sender=None)

    assert cache.get(settings.WORKER_HEARTBEAT_KEY) >= before
