"""Races made deterministic: let one transaction hold a lock, then see another wait on it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


def another_session_waits_on_a_lock(timeout: float = 30) -> bool:
    """Whether another database session is waiting on a lock (polled from this one)."""
    deadline = time.monotonic() + timeout
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
            if cursor.fetchone()[0]:
                return True
            time.sleep(0.02)
    return False


def race_on_a_lock(first: Callable[[], Any], second: Callable[[], Any]) -> tuple[Any, Any]:
    """``first`` runs in a transaction of its own thread that stays open; then ``second`` runs
    in another thread; once ``second`` is seen waiting on a lock, ``first`` commits. Returns
    what each returned (or the exception each raised). Needs a transactional test database."""
    ran, commit = threading.Event(), threading.Event()
    results: list[Any] = [None, None]

    def run_first() -> None:
        try:
            with transaction.atomic():
                results[0] = first()
                ran.set()
                commit.wait(30)
        except Exception as exc:  # reported to the test, which asserts on it
            results[0] = exc
            ran.set()
        finally:
            connection.close()

    def run_second() -> None:
        try:
            ran.wait(30)
            results[1] = second()
        except Exception as exc:  # reported to the test, which asserts on it
            results[1] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run_first), threading.Thread(target=run_second)]
    for thread in threads:
        thread.start()
    try:
        waited = another_session_waits_on_a_lock()
    finally:
        commit.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck (deadlock?)"
    assert waited, f"the second never waited for the first: {results}"
    return results[0], results[1]
