"""Probes and metrics: public paths that need no login, no session and little work.

- ``/healthz``: liveness. The process answers; it touches neither the database nor Redis, so
  a database outage never makes an orchestrator restart healthy web processes.
- ``/readyz``: readiness. Database, Redis and a recent worker heartbeat; 503 lists failures.
- ``/metrics``: the Prometheus exposition, only for METRICS_ALLOWED_IPS.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ImproperlyConfigured
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django_prometheus.exports import ExportToDjangoView

from ops import health

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@login_not_required
@never_cache
@require_safe
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_safe
def readyz(request: HttpRequest) -> HttpResponse:
    checks = health.readiness()
    ready = all(check["ok"] for check in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )


@lru_cache(maxsize=4)
def _allowed_networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    """Parse METRICS_ALLOWED_IPS once; entries are addresses or networks (10.0.0.0/8)."""
    try:
        return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"METRICS_ALLOWED_IPS: {exc}") from exc


def metrics_allowed(remote_addr: str) -> bool:
    """Whether the peer address may scrape /metrics.

    REMOTE_ADDR is the TCP peer (gunicorn does not rewrite it from X-Forwarded-For), so a
    client cannot talk its way in through a header.
    """
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    networks = _allowed_networks(tuple(settings.METRICS_ALLOWED_IPS))
    return any(address in network for network in networks)


@login_not_required
@never_cache
@require_safe
def metrics(request: HttpRequest) -> HttpResponse:
    # 404 rather than 403: to everyone else the endpoint does not exist.
    if not metrics_allowed(request.META.get("REMOTE_ADDR", "")):
        raise Http404
    return ExportToDjangoView(request)
