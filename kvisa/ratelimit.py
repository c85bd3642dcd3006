"""A fixed-window rate limit kept in the cache (Redis), shared by every web process."""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # Behind the production proxy REMOTE_ADDR is set from X-Forwarded-For by gunicorn's
    # --forwarded-allow-ips; the header itself is never trusted here.
    return request.META.get("REMOTE_ADDR", "")


def allow(*, scope: str, key: str, limit: int, window_seconds: int) -> bool:
    """Count one hit; False once `limit` hits were counted in the current window."""
    bucket = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{bucket}"
    cache.add(cache_key, 0, timeout=window_seconds + 1)
    return cache.incr(cache_key) <= limit
