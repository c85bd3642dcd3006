"""Fixtures for sign-in tests, which run against the real Redis cache (see tests/conftest.py,
which empties this run's cache namespace before every test)."""

from __future__ import annotations

import redis
from django.core.cache import cache


def allauth_cache_keys(client: redis.Redis) -> list[bytes]:
    # RedisCache stores "<KEY_PREFIX>:<version>:<key>"; allauth's keys start with "allauth".
    pattern = cache.make_key("allauth*")
    return list(client.scan_iter(match=pattern))
