"""Enqueue Celery tasks after commit without ever failing the request that committed.

The database is the source of truth: when the broker is down, the row that needed work is
already committed, the publish error is logged, and a periodic sweeper (for submissions:
screening.tasks.screening_sweep) enqueues the work again once the broker is back.
"""

from __future__ import annotations

from typing import Any

import structlog
from celery import Task
from django.db import transaction
from kombu.exceptions import OperationalError

logger = structlog.get_logger(__name__)


def enqueue(task: Task, *args: Any) -> bool:
    """Publish now; False (and a log line) when the broker cannot be reached."""
    try:
        task.apply_async(args=args)
    except (OperationalError, ConnectionError, TimeoutError, OSError) as exc:
        logger.warning("task_publish_failed", task=task.name, args=args, error=str(exc))
        return False
    return True


def enqueue_on_commit(task: Task, *args: Any) -> None:
    """Publish once the current transaction commits (never for work that was rolled back)."""
    transaction.on_commit(lambda: enqueue(task, *args))
