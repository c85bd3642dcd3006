"""Races made deterministic: let one transaction hold a lock, then see another wait on it."""

from __future__ import annotations

import time

from django.db import connection


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
