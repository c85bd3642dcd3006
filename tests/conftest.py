"""Shared fixtures. Tests run against the real PostgreSQL and Redis named by DATABASE_URL and
REDIS_URL (the embedded ones under `make test`, the machine's under CI).

KVISA_STRICT=1 (set by .ci/run) turns every "service or browser unavailable" skip into a
failure, so CI can never go green by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.conf import settings

from kvisa.celery import app
from tests.processes import CeleryWorkerProcess

STRICT = os.environ.get("KVISA_STRICT") == "1"


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI: a missing service or browser must never pass silently."""
    if STRICT:
        pytest.fail(f"required for this test but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _api_responses_match_the_schema(monkeypatch):
    """Every response of the API under test is checked against the published schema
    (tests/api_schema.py)."""
    from django.test.client import Client

    from tests import api_schema

    original = Client.request

    def request(self, **environ):
        response = original(self, **environ)
        api_schema.check(
            path=environ.get("PATH_INFO", ""),
            method=environ.get("REQUEST_METHOD", "GET"),
            response=response,
        )
        return response

    monkeypatch.setattr(Client, "request", request)


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _no_rendered_fragments_from_another_test():
    """Each test renders its pages afresh: the fragments cache lives in the process."""
    from django.core.cache import caches

    caches["fragments"].clear()


@pytest.fixture(autouse=True)
def _governed_lists_read_afresh():
    """Each test starts with the governed lists not yet kept by the process, so the queries
    a test pins do not depend on which test ran before it."""
    from policy import selectors

    selectors._lists_seen.clear()


def _purge_queue(app: Celery, queue: str) -> None:
    with app.connection_for_write() as connection:
        connection.default_channel.queue_purge(queue)


@pytest.fixture
def celery_broker() -> Iterator[Celery]:
    """The Celery app with a reachable broker and an empty test queue (purged again after).

    Tests that publish for real use this; an unreachable Redis is `unavailable`, never a pass.
    """
    try:
        redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        unavailable(f"Celery broker at {settings.CELERY_BROKER_URL} unreachable: {exc}")
    queue = settings.CELERY_TASK_DEFAULT_QUEUE
    _purge_queue(app, queue)
    yield app
    _purge_queue(app, queue)


@pytest.fixture
def celery_worker_process(
    transactional_db: None, celery_broker: Celery, tmp_path: Path
) -> Iterator[CeleryWorkerProcess]:
    """A real Celery worker (prefork, one child) consuming this run's test queue.

    It works on the test database, so the test must commit what the worker should see:
    hence transactional_db, which this fixture outlives on neither side (the worker is
    stopped before the tables are flushed). Yields a tests.processes.CeleryWorkerProcess:
    ``kill()`` it mid-task, ``start()`` it again, read ``log_records()``.
    """
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
        ("policy.migrations.0004_seed_queues", "seed"),
        ("reviews.migrations.0002_seed_and_guards", "seed_reasons"),
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
    elif "db" in request.fixturenames or marker is not None:
        # A live-server test (the browser journeys) flushes too, and pytest-django may order
        # plain database tests after it: put the data back inside this test's transaction.
        from django.contrib.auth.models import Group

        from policy.models import PolicyVersion, ReviewQueue

        request.getfixturevalue("db")
        if not (
            Group.objects.exists()
            and ReviewQueue.objects.exists()
            and PolicyVersion.objects.filter(status="published").exists()
        ):
            _reseed_reference_data()


@pytest.fixture
def redis_client():
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        client.ping()
    except redis.ConnectionError:
        unavailable("Redis is not reachable at the cache LOCATION")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_cache(redis_client) -> None:
    """Rate-limit counters, allauth's used-code markers and cached sessions live in Redis and
    would outlive a test (and a run). Each test starts with this run's namespace empty; other
    data in the same Redis database is never touched."""
    from django.conf import settings

    prefix = settings.CACHES["default"]["KEY_PREFIX"]
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)
