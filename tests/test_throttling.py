"""The API's sliding-window rate limits (kvisa.throttling), against the real Redis: counters,
not histories; the last window weighted; refusals not counted; Retry-After in bounds."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.core.cache import cache

from kvisa import throttling

pytestmark = pytest.mark.django_db


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _mine() -> str:
    """This test process's counters (each xdist worker has its own cache key prefix)."""
    return cache.make_key("throttle_user_424242") + ":*"


@pytest.fixture
def limit(settings, monkeypatch, redis_client):
    """A 3-a-minute caller limit on a clock the test moves; one request by one user."""
    settings.API_RATES = {**settings.API_RATES, "user": "3/minute"}
    clock = _Clock(6_000_000.0)  # the start of a minute
    monkeypatch.setattr(throttling.CallerRateThrottle, "timer", clock)
    request = SimpleNamespace(user=SimpleNamespace(is_authenticated=True, pk=424242))
    cache.delete_many([f"throttle_user_424242:{w}" for w in range(99_990, 100_010)])

    def ask() -> throttling.CallerRateThrottle:
        throttle = throttling.CallerRateThrottle()
        throttle.allowed = throttle.allow_request(request, view=None)
        return throttle

    ask.clock = clock
    return ask


def test_the_counters_are_two_integers_whatever_the_number_of_requests(limit, redis_client):
    for _ in range(3):
        assert limit().allowed
    keys = sorted(k.decode() for k in redis_client.keys(_mine()))
    assert len(keys) == 1  # this window's counter; the last window had none
    assert redis_client.get(keys[0]) == b"3"  # a count, not a list of timestamps
    assert 60_000 < redis_client.pttl(keys[0]) <= 120_000  # lives through the next window


def test_the_limit_holds_and_a_refusal_is_not_counted(limit, redis_client):
    for _ in range(3):
        assert limit().allowed
    refused = limit()
    assert not refused.allowed
    assert refused.wait() == 61  # just past the window's end
    assert not limit().allowed
    (key,) = redis_client.keys(_mine())
    assert redis_client.get(key) == b"3"


def test_the_last_window_counts_by_the_share_of_it_still_inside_the_sliding_window(limit):
    for _ in range(3):
        assert limit().allowed  # at 0 s of window 0
    limit.clock.now += 90  # half-way through window 1: the last window weighs 0.5 → 1.5
    assert limit().allowed  # 1.5 + 0 before it
    assert limit().allowed  # 1.5 + 1 = 2.5 before it
    refused = limit()  # 1.5 + 2 ≥ 3
    assert not refused.allowed
    # Allowed again just past the moment the last window's weight falls to 1/3 (40 s into
    # window 1); not a moment before.
    assert refused.wait() == 11
    limit.clock.now += 10
    assert not limit().allowed
    limit.clock.now += 1
    assert limit().allowed
    limit.clock.now += 60  # window 2: window 0 no longer counts; window 1's 3 weigh 0.32
    assert limit().allowed


def test_a_full_window_waits_for_its_end(limit):
    limit.clock.now += 20
    for _ in range(3):
        assert limit().allowed
    refused = limit()
    assert not refused.allowed
    assert refused.wait() == 41  # the window's end, at 60 s, and a moment past it
    limit.clock.now += 40
    assert not limit().allowed
    limit.clock.now += 1
    assert limit().allowed


def test_a_rate_of_zero_refuses_everything_with_a_retry_after(limit, settings):
    settings.API_RATES = {**settings.API_RATES, "user": "0/minute"}
    limit.clock.now += 15
    refused = limit()
    assert not refused.allowed
    assert refused.wait() == 46  # the window's end, and a moment past it
