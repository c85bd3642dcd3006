from __future__ import annotations

from datetime import date
from types import MappingProxyType

from django.db import connection
from django.db.models import QuerySet

from kvisa.errors import DomainError
from kvisa.rows import one_row
from policy.engine import Lists
from policy.models import (
    Holiday,
    Institution,
    ListsVersion,
    PolicyVersion,
    ReviewQueue,
    StemField,
)


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


_VERSION_SQL = f"SELECT xmin::text FROM {ListsVersion._meta.db_table} WHERE id = 1"  # noqa: S608
# (database name, version row's xmin) → the lists read at that version, one entry a process
_lists_seen: list[tuple[tuple[str, str], Lists]] = []


def engine_lists() -> Lists:
    """The governed lists as the rule engine reads them: kept per process and read again
    (two small queries) only when the version row says they changed (policy.models.
    ListsVersion; one query a call, where reading them was two and a dict built each time).

    The version is read first: lists read after it are at least as new as it, so a version
    never stands for older lists than the ones a later read would give."""
    row = one_row(_VERSION_SQL, {})
    key = (str(connection.settings_dict["NAME"]), row[0]) if row else None
    if key is not None and _lists_seen and _lists_seen[0][0] == key:
        return _lists_seen[0][1]
    lists = Lists(
        stem_field_ids=frozenset(
            StemField.objects.filter(is_active=True).values_list("pk", flat=True)
        ),
        institution_tiers=MappingProxyType(
            dict(Institution.objects.filter(is_active=True).values_list("pk", "tier"))
        ),
    )
    if key is not None:  # no row (a flushed test database): nothing to key them by
        _lists_seen[:] = [(key, lists)]
    return lists


def queue_codes() -> list[str]:
    return list(ReviewQueue.objects.filter(is_active=True).values_list("code", flat=True))


def holidays_between(start: date, end: date) -> frozenset[date]:
    return frozenset(
        Holiday.objects.filter(date__range=(start, end)).values_list("date", flat=True)
    )
