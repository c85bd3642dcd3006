"""The project's Celery app with one task of the bench's own: the no-op whose throughput is
the screening pipeline's baseline (``celery -A bench.celery_app worker``)."""

from __future__ import annotations

import redis
from django.conf import settings

from kvisa.celery import app

COUNTER = "bench:noop-done"
_redis: list[redis.Redis] = []  # one connection per worker process, made on first use

__all__ = ["app", "noop"]


@app.task(name="bench.noop", acks_late=True)
def noop() -> None:
    """Nothing, then one INCR so the harness sees when the last one ran."""
    if not _redis:
        _redis.append(redis.Redis.from_url(settings.CELERY_BROKER_URL))
    _redis[0].incr(COUNTER)
