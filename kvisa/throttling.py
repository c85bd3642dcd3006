"""API rate limits per caller: each user, each integration client (its own user), and each
address for anonymous calls; rates from settings.API_RATES, read on every request so that a
change of settings (or a test's override) applies at once. Counters live in Redis (the
default cache), shared by all web processes."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle


class _FromSettings:
    def get_rate(self) -> str | None:
        return settings.API_RATES.get(self.scope)  # type: ignore[attr-defined]


class CallerRateThrottle(_FromSettings, UserRateThrottle):
    """Per user or per integration client (authenticated calls)."""

    def allow_request(self, request: Any, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return True  # anonymous calls: AnonymousRateThrottle
        return super().allow_request(request, view)


class AnonymousRateThrottle(_FromSettings, AnonRateThrottle):
    pass


class EndpointRateThrottle(_FromSettings, ScopedRateThrottle):
    """A tighter limit on endpoints that name a ``throttle_scope`` (e.g. visa checks)."""
