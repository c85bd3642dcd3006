"""Real project processes for integration tests: a Celery worker against the test database.

The fixture ``celery_worker_process`` in tests/conftest.py wraps this; tests that need to kill a
worker mid-task, or restart it with other options, call the methods here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any
from urllib.parse import quote

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def wait_until(
    condition: Callable[[], Any], *, timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll ``condition`` until it returns something truthy; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def child_database_url() -> str:
    """DATABASE_URL for the database pytest-django created (test_kvisa, test_kvisa_gw0, ...).

    Read at test time: pytest-django renames settings.DATABASES' NAME once the test database
    exists, so a child process given this URL sees the rows the test commits.
    """
    db = settings.DATABASES["default"]
    auth = quote(db["USER"] or "", safe="")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{quote(db['NAME'], safe='')}"


class CeleryWorkerProcess:
    """One ``celery -A kvisa worker`` subprocess consuming only this test run's queue.

    The worker runs kvisa.settings_test against the test database, logs JSON lines to a file
    (``log_records()`` parses them), and runs in its own process group so ``kill()`` takes
    the pool children down with it, as an OOM kill or a lost machine would.
    """

    def __init__(self, *, queue: str, log_dir: Path) -> None:
        self.queue = queue
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.hostname = ""
        self.started_at = 0.0
        self.log_path = log_dir / "worker-0.log"
        self._starts = 0

    def start(self, *, pool: str = "prefork", extra_args: tuple[str, ...] = ()) -> None:
        """Start a worker (prefork with one child by default, like production) and wait until
        it answers a ping. A second start() after stop()/kill() is a fresh worker."""
        if self.proc is not None and self.proc.poll() is None:
            raise RuntimeError("worker already running")
        self.hostname = f"kvisa-test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.log_path = self.log_dir / f"worker-{self._starts}.log"
        self._starts += 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "kvisa.settings_test",
            "DATABASE_URL": child_database_url(),
            "LOG_FORMAT": "json",
            "PYTHONUNBUFFERED": "1",
        }
        command = [
            sys.executable, "-m", "celery", "-A", "kvisa", "worker",
            "--queues", self.queue, "--hostname", self.hostname,
            "--pool", pool, "--concurrency", "1", "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
            *extra_args,
        ]  # fmt: skip
        self.started_at = time.time()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30.0) -> None:
        from kvisa.celery import app

        def answers() -> bool:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"worker exited during start-up:\n{self.output()}")
            return bool(app.control.ping(destination=[self.hostname], timeout=0.5))

        try:
            wait_until(answers, timeout=timeout, what=f"worker {self.hostname} to answer a ping")
        except AssertionError:
            self.kill()
            raise

    def stop(self, timeout: float = 20.0) -> None:
        """Warm shutdown (SIGTERM: finish the current task), then SIGKILL if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=timeout)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no shutdown, no acks."""
        if self.proc is None:
            return
        with suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def log_records(self) -> list[dict[str, Any]]:
        """The worker's JSON log lines as dicts (anything else it printed is skipped)."""
        records = []
        for line in self.output().splitlines():
            with suppress(ValueError):
                record = json.loads(line)
                if isinstance(record, dict):
                    records.append(record)
        return records
