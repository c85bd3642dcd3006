"""A real Celery worker process against the test database and the real Redis broker."""

from __future__ import annotations

from datetime import timedelta

import pytest
import structlog
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.utils import timezone

from ops.tasks import clear_expired_sessions
from tests.processes import wait_until

pytestmark = pytest.mark.integration


def test_the_worker_runs_a_queued_task_against_the_database(celery_worker_process):
    now = timezone.now()
    expired = Session.objects.create(
        session_key="e" * 32, session_data="", expire_date=now - timedelta(hours=1)
    )
    live = Session.objects.create(
        session_key="l" * 32, session_data="", expire_date=now + timedelta(days=1)
    )

    with structlog.contextvars.bound_contextvars(request_id="req-integration-0001"):
        result = clear_expired_sessions.delay()

    wait_until(
        lambda: not Session.objects.filter(pk=expired.pk).exists(),
        timeout=30,
        what="the worker to delete the expired session",
    )
    assert Session.objects.filter(pk=live.pk).exists()

    # The request id bound where the task was queued is bound in the worker's log lines.
    def task_log(event: str) -> dict | None:
        for record in celery_worker_process.log_records():
            if record.get("event") == event and record.get("task_id") == result.id:
                return record
        return None

    started = wait_until(lambda: task_log("task_started"), timeout=10, what="task_started")
    assert started["request_id"] == "req-integration-0001"
    assert started["task"] == "ops.tasks.clear_expired_sessions"
    succeeded = wait_until(lambda: task_log("task_succeeded"), timeout=10, what="task_succeeded")
    assert succeeded["request_id"] == "req-integration-0001"


def test_a_started_worker_makes_readyz_green_at_once(celery_worker_process, client, settings):
    # worker_ready wrote the heartbeat: no need to wait for beat's first 30 s tick.
    def heartbeat_since_start() -> bool:
        beat = cache.get(settings.WORKER_HEARTBEAT_KEY)
        return beat is not None and beat >= celery_worker_process.started_at

    wait_until(heartbeat_since_start, timeout=10, what="the worker_ready heartbeat")

    response = client.get("/readyz")

    assert response.status_code == 200, response.json()
