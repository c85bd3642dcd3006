from __future__ import annotations

from datetime import date

from django.db.models import QuerySet

from kvisa.errors import DomainError
from policy.engine import Lists
from policy.models import Holiday, Institution, PolicyVersion, ReviewQueue, StemField


class NoPolicyInForce(DomainError):
    code = "no_policy_in_force"
    status_code = 503


def policy_in_force() -> PolicyVersion:
    """The one published version; applications submitted now are evaluated against it."""
    try:
        return PolicyVersion.objects.get(status=PolicyVersion.Status.PUBLISHED)
    except PolicyVersion.DoesNotExist as exc:
        raise NoPolicyInForce("No policy version is in force.") from exc


def active_stem_fields() -> QuerySet[StemField]:
    return StemField.objects.filter(is_active=True).order_by("discipline", "name_en")


def active_institutions() -> QuerySet[Institution]:
    return Institution.objects.filter(is_active=True).order_by("name_en")


def engine_lists() -> Lists:
    """The governed lists as the rule engine reads them (two small queries)."""
    return Lists(
        stem_field_ids=frozenset(
            StemField.objects.filter(is_active=True).values_list("pk", flat=True)
        ),
        institution_tiers=dict(
            Institution.objects.filter(is_active=True).values_list("pk", "tier")
        ),
    )


def queue_codes() -> list[str]:
    return list(ReviewQueue.objects.filter(is_active=True).values_list("code", flat=True))


def holidays_between(start: date, end: date) -> frozenset[date]:
    return frozenset(
        Holiday.objects.filter(date__range=(start, end)).values_list("date", flat=True)
    )
