"""The worker heartbeat: proof, readable by any web process, that a Celery worker consumes tasks.

A worker writes the time on start (``worker_ready``) and whenever it runs the periodic
``ops.tasks.worker_heartbeat`` that beat schedules every 30 s. So a fresh heartbeat means
beat, the broker and at least one worker all work; /readyz reports its age.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.cache import cache


def heartbeat_record() -> float:
    """Store the current time (epoch seconds, comparable across machines) as the heartbeat."""
    now = time.time()
    # No expiry: after an outage the stale value still tells how long ago a worker was seen.
    cache.set(settings.WORKER_HEARTBEAT_KEY, now, timeout=None)
    return now


def heartbeat_age() -> float | None:
    """Seconds since the last heartbeat, or None when no worker has ever written one.

    Raises the cache's connection error when Redis is unreachable: callers report that.
    """
    beat = cache.get(settings.WORKER_HEARTBEAT_KEY)
    if beat is None:
        return None
    return max(0.0, time.time() - float(beat))


def on_worker_ready(**kwargs: Any) -> None:
    """``celery.signals.worker_ready`` receiver: a just-started worker is ready at once."""
    heartbeat_record()
