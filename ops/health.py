"""Readiness checks behind /readyz: the database, Redis and the worker heartbeat.

Each check is one cheap round trip and returns a JSON-ready dict. Errors are reported by
exception class only: the probe is public, and a driver's message can name hosts and users.
The full error goes to the log.
"""

from __future__ import annotations

from typing import Any

import structlog
from django.conf import settings
from django.db import DatabaseError, connections

from ops.heartbeat import heartbeat_age

logger = structlog.get_logger(__name__)

Check = dict[str, Any]


def check_database() -> Check:
    """Run SELECT 1 on the default database."""
    try:
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        logger.warning("readiness_check_failed", check="database", exc_info=True)
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True}


def check_redis_and_heartbeat() -> tuple[Check, Check]:
    """Read the worker heartbeat from Redis; that read is also the Redis check.

    One GET proves Redis answers as well as a PING would, without reaching into the cache
    backend's private client, and keeps the probe at one Redis round trip.
    """
    try:
        age = heartbeat_age()
    except Exception as exc:
        # Broad on purpose: redis-py, socket and unpickling errors all mean "Redis is not usable".
        logger.warning("readiness_check_failed", check="redis", exc_info=True)
        failed = {"ok": False, "error": type(exc).__name__}
        return failed, {"ok": False, "error": "redis unavailable"}
    max_age = settings.WORKER_HEARTBEAT_MAX_AGE
    if age is None:
        return {"ok": True}, {"ok": False, "error": "no heartbeat yet", "max_age_seconds": max_age}
    heartbeat: Check = {
        "ok": age <= max_age,
        "age_seconds": round(age, 1),
        "max_age_seconds": max_age,
    }
    if not heartbeat["ok"]:
        heartbeat["error"] = "stale"
    return {"ok": True}, heartbeat


def readiness() -> dict[str, Check]:
    """All checks by name, in the order a reader would debug them."""
    redis, heartbeat = check_redis_and_heartbeat()
    return {"database": check_database(), "redis": redis, "worker_heartbeat": heartbeat}
