"""API rate limits per caller: each user, each integration client (its own user), and each
address for anonymous calls; rates from settings.API_RATES, read on every request so that a
change of settings (or a test's override) applies at once. Counters live in Redis (the
default cache), shared by all web processes.

DRF's own throttles keep the timestamp of every request of the window in one cache value,
read and written whole on every request: at 1,200 a minute that is a list of up to 1,200
floats unpickled and pickled twice a call, in two round trips. Here each caller has two
counters, this window's and the last one's, and the limit applies to the sliding window's
estimate (the last window's count weighted by the part of it still inside the sliding window,
plus this window's), checked and counted by one Lua script: one round trip, constant work.
A refused request is not counted, as in DRF.
"""

from __future__ import annotations

import functools
import math
from typing import Any

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import (
    AnonRateThrottle,
    ScopedRateThrottle,
    SimpleRateThrottle,
    UserRateThrottle,
)

# KEYS: this window's counter, the last window's. ARGV: limit, weight of the last window,
# counter lifetime in ms. Returns {allowed (1 or 0), this window's count, last window's count}.
_CHECK_AND_COUNT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local previous = tonumber(redis.call('GET', KEYS[2]) or '0')
if previous * tonumber(ARGV[2]) + current >= tonumber(ARGV[1]) then
  return {0, current, previous}
end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {1, current + 1, previous}
"""


@functools.cache
def _check_and_count() -> Any:
    """The script, registered once a process (redis-py runs it by its SHA, loading it when the
    server does not know it yet); each call passes the client to run it on."""
    return cache._cache.get_client(write=True).register_script(_CHECK_AND_COUNT)  # type: ignore[attr-defined]


class SlidingWindowThrottle(SimpleRateThrottle):
    """DRF's SimpleRateThrottle with counters instead of a history (see the module's text)."""

    num_requests: int
    duration: int

    def allow_request(self, request: Any, view: Any) -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        window, self.into = divmod(self.now, self.duration)
        last_window_weight = 1 - self.into / self.duration
        allowed, self.current, self.previous = _check_and_count()(
            keys=[cache.make_key(f"{self.key}:{int(window)}"),
                  cache.make_key(f"{self.key}:{int(window) - 1}")],
            args=[self.num_requests, last_window_weight, self.duration * 2000],
            client=cache._cache.get_client(write=True),  # type: ignore[attr-defined]
        )  # fmt: skip
        return bool(allowed)

    def wait(self) -> float | None:
        """Whole seconds until a request would be allowed again (the Retry-After header)."""
        limit, duration = self.num_requests, self.duration
        if self.current >= limit:
            # This window is full: its end, then until its count, as the last window's, has
            # lost enough weight (a rate of 0 has no count and never fits: its window's end).
            decay = 1 - limit / self.current if self.current else 0
            seconds = duration - self.into + duration * decay
        else:
            # The last window's weight must fall until it and this window's count fit.
            seconds = (1 - (limit - self.current) / self.previous) * duration - self.into
        return max(1, math.floor(seconds) + 1)  # strictly past the moment it would fit


class _FromSettings:
    def get_rate(self) -> str | None:
        return settings.API_RATES.get(self.scope)  # type: ignore[attr-defined]


class CallerRateThrottle(_FromSettings, SlidingWindowThrottle, UserRateThrottle):
    """Per user or per integration client (authenticated calls)."""

    def allow_request(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return True  # anonymous calls: AnonymousRateThrottle
        return super().allow_request(request, view)


class AnonymousRateThrottle(_FromSettings, SlidingWindowThrottle, AnonRateThrottle):
    pass


class EndpointRateThrottle(_FromSettings, ScopedRateThrottle, SlidingWindowThrottle):
    """A tighter limit on endpoints that name a ``throttle_scope`` (e.g. visa checks)."""
