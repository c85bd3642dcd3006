"""Shared fixtures. Tests run against the real PostgreSQL and Redis named by DATABASE_URL and
REDIS_URL (the embedded ones under `make test`, the machine's under CI).

KVISA_STRICT=1 (set by .ci/run) turns every "service or browser unavailable" skip into a
failure, so CI can never go green by skipping.
"""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("KVISA_STRICT") == "1"


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI: a missing service or browser must never pass silently."""
    if STRICT:
        pytest.fail(f"required for this test but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    settings.LANGUAGE_CODE = "en"


def _purge_queue(app, queue: str) -> None:
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


@pytest.fixture
def celery_broker():
    """The Celery app with a reachable broker and an empty test queue (purged again after).

    Tests that publish for real use this; an unreachable Redis is `unavailable`, never a pass.
    """
    import redis
    from django.conf import settings

    from kvisa.celery import app

    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Celery broker at {settings.CELERY_BROKER_URL} unreachable: {exc}")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    _purge_queue(app, queue)
    yield app
    _purge_queue(app, queue)


@pytest.fixture
def celery_worker_process(transactional_db, celery_broker, tmp_path):
    """A real Celery worker (prefork, one child) consuming this run's test queue.

    It works on the test database, so the test must commit what the worker should see:
    hence transactional_db, which this fixture outlives on neither side (the worker is
    stopped before the tables are flushed). Yields a tests.processes.CeleryWorkerProcess:
    ``kill()`` it mid-task, ``start()`` it again, read ``log_records()``.
    """
    from django.conf import settings

    from tests.processes import CeleryWorkerProcess

    worker = CeleryWorkerProcess(queue=settings.CELERY_TASK_DEFAULT_QUEUE, log_dir=tmp_path)
    worker.start()
    yield worker
    worker.stop()


def _reseed_reference_data() -> None:
    """Re-run the data migrations' seeding (all idempotent) with the live app registry."""
    import importlib

    from django.apps import apps

    for module, function in (
        ("accounts.migrations.0002_roles", "create_roles"),
        ("accounts.migrations.0003_staff_permissions", "grant"),
        ("policy.migrations.0002_seed", "seed"),
    ):
        getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def _reference_data_in_transactional_tests(request):
    """A transactional test's flush also deletes what data migrations seeded (roles, policy
    lists, the policy in force); put it back so test order never matters."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or (
        marker is not None and marker.kwargs.get("transaction")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        _reseed_reference_data()
