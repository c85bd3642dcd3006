"""Fixtures for sign-in tests, which run against the real Redis cache.

allauth keeps rate-limit counters and "TOTP code already used" markers in the cache, i.e. in
Redis, where they outlive a test (and a test run). Each test starts without them; only this
test run's key prefix is touched, never other data in the same Redis database.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from django.conf import settings
from django.core.cache import cache

from tests.conftest import unavailable


def allauth_cache_keys(client: redis.Redis) -> list[bytes]:
    # RedisCache stores "<KEY_PREFIX>:<version>:<key>"; allauth's keys start with "allauth".
    pattern = cache.make_key("allauth*")
    return list(client.scan_iter(match=pattern))


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        client.ping()
    except redis.ConnectionError:
        unavailable("Redis is not reachable at the cache LOCATION")
    yield client
    client.close()


@pytest.fixture(autouse=True)
def _fresh_allauth_cache(redis_client: redis.Redis) -> None:
    keys = allauth_cache_keys(redis_client)
    if keys:
        redis_client.delete(*keys)
