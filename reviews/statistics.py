"""Aggregate, privacy-safe statistics of the caseload (stats:read; the public transparency page
will read the same): volumes by status, outcomes, processing times, and breakdowns by field
and nationality in which any count below settings.STATS_MIN_COUNT is suppressed, so that no
figure can point at a person. A few GROUP BY queries, on the read replica when there is one
(kvisa/db.py), cached for STATS_CACHE_SECONDS.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.db.models import Count, F, OuterRef, Q, Subquery
from django.utils import timezone

from applications.models import Application, Degree, Status
from kvisa.db import reporting_alias

CACHE_KEY = "reviews:statistics:v1"
_COUNTED = [s for s in Status.values if s != Status.DRAFT]


def _suppressed(value: int) -> int | None:
    return value if value >= settings.STATS_MIN_COUNT else None


def _breakdown(field: Any, name: str) -> list[dict[str, Any]]:
    rows = (
        Application.objects.using(reporting_alias())
        .exclude(status=Status.DRAFT)
        .exclude(reference=None)
        .annotate(group=field)
        .values("group")
        .annotate(
            submitted=Count("id"),
            approved=Count("id", filter=Q(status=Status.APPROVED)),
            refused=Count("id", filter=Q(status=Status.REFUSED)),
        )
        .order_by("-submitted", "group")
    )
    result = []
    for row in rows:
        if row["group"] in (None, "") or row["submitted"] < settings.STATS_MIN_COUNT:
            continue  # small groups are left out, not shown as zero
        result.append(
            {
                name: row["group"],
                "submitted": row["submitted"],
                "approved": _suppressed(row["approved"]),
                "refused": _suppressed(row["refused"]),
            }
        )
    return result


def _processing_days() -> dict[str, float | None]:
    with connections[reporting_alias()].cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d), "
            "percentile_cont(0.9) WITHIN GROUP (ORDER BY d), count(*) FROM ("
            "  SELECT extract(epoch FROM decided_at - submitted_at) / 86400 AS d"
            "  FROM applications_application"
            "  WHERE status IN ('approved', 'refused') AND decided_at IS NOT NULL"
            "    AND submitted_at IS NOT NULL) AS decided"
        )
        median, p90, count = cursor.fetchone()
    if count < settings.STATS_MIN_COUNT:
        return {"median": None, "p90": None}
    return {"median": round(float(median), 1), "p90": round(float(p90), 1)}


def statistics_compute() -> dict[str, Any]:
    by_status = dict(
        Application.objects.using(reporting_alias())
        .filter(status__in=_COUNTED)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    approved = by_status.get(Status.APPROVED, 0)
    refused = by_status.get(Status.REFUSED, 0)
    decided = approved + refused
    latest_degree_field = Subquery(
        Degree.objects.filter(application=OuterRef("pk"))
        .order_by("-awarded_on", "-pk")
        .values("field__code")[:1]
    )
    return {
        "generated_at": timezone.now(),
        "minimum_count": settings.STATS_MIN_COUNT,
        "applications": {status: _suppressed(by_status.get(status, 0)) for status in _COUNTED},
        "decided": _suppressed(decided),
        "approval_rate": (
            round(approved / decided, 3) if decided >= settings.STATS_MIN_COUNT else None
        ),
        "processing_days": _processing_days(),
        "by_field": _breakdown(latest_degree_field, "field"),
        "by_nationality": _breakdown(F("nationality"), "nationality"),
    }


def statistics() -> dict[str, Any]:
    """The statistics, from the cache when fresh."""
    cached = cache.get(CACHE_KEY)
    if cached is None:
        cached = statistics_compute()
        cache.set(CACHE_KEY, cached, settings.STATS_CACHE_SECONDS)
    return cached
