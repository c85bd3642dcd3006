from __future__ import annotations

from django.db.models import QuerySet

from kvisa.errors import DomainError
from policy.models import Institution, PolicyVersion, StemField


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
