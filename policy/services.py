"""Writes to the policy: governed lists (CSV import) and policy versions (draft, edit,
publish). The admin, the API and tests call these; every policy-version write leaves a
PolicyEvent in the same transaction."""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_countries import countries

from accounts.models import User
from kvisa.errors import Conflict, ValidationFailed
from policy.models import Discipline, Institution, PolicyEvent, PolicyVersion, StemField
from policy.schema import SECTIONS, validate_policy
from policy.selectors import queue_codes

SECTION_NAMES: tuple[str, ...] = tuple(SECTIONS)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    errors: list[str] = field(default_factory=list)


class RowError(ValueError):
    pass


def _import(
    text: str, *, columns: set[str], upsert: Callable[[dict[str, str]], bool]
) -> ImportReport:
    """Apply `upsert` to every row; any bad row rolls the whole file back (all or nothing)."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    missing = columns - set(reader.fieldnames or [])
    if missing:
        report.errors.append(f"missing columns: {', '.join(sorted(missing))}")
        return report
    with transaction.atomic():
        for line, raw in enumerate(reader, start=2):
            row = {k: (v or "").strip() for k, v in raw.items() if k}
            try:
                created = upsert(row)
            except RowError as exc:
                report.errors.append(f"line {line}: {exc}")
                continue
            report.created += created
            report.updated += not created
        if report.errors:
            transaction.set_rollback(True)
            report.created = report.updated = 0
    return report


def _upsert_institution(row: dict[str, str]) -> bool:
    country = row["country"].upper()
    if country not in countries:
        raise RowError(f"unknown country code {row['country']!r}")
    if row["kind"] not in Institution.Kind.values:
        raise RowError(f"kind must be one of {', '.join(Institution.Kind.values)}")
    if row["tier"] not in {"1", "2", "3"} or not row["name_en"]:
        raise RowError("an English name and a tier of 1, 2 or 3 are required")
    _, created = Institution.objects.update_or_create(
        name_en=row["name_en"],
        country=country,
        defaults={"name_zh": row["name_zh"], "kind": row["kind"], "tier": int(row["tier"])},
    )
    return created


def _upsert_stem_field(row: dict[str, str]) -> bool:
    if row["discipline"] not in Discipline.values or not row["code"] or not row["name_en"]:
        raise RowError("a code, an English name and a known discipline are required")
    _, created = StemField.objects.update_or_create(
        code=row["code"],
        defaults={k: row[k] for k in ("discipline", "name_en", "name_zh")},
    )
    return created


def institutions_import_csv(*, text: str) -> ImportReport:
    """Create or update recognised institutions keyed by (English name, country)."""
    return _import(
        text, columns={"name_en", "name_zh", "country", "kind", "tier"}, upsert=_upsert_institution
    )


def stem_fields_import_csv(*, text: str) -> ImportReport:
    """Create or update STEM fields keyed by code."""
    return _import(
        text, columns={"code", "discipline", "name_en", "name_zh"}, upsert=_upsert_stem_field
    )


# --- Policy versions ---------------------------------------------------------------------------

EDITABLE_FIELDS = ("name", "notes", *SECTION_NAMES)


def changed_sections(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The section names whose content differs between two `PolicyVersion.sections` dicts."""
    return [name for name in SECTION_NAMES if before.get(name) != after.get(name)]


def _event(
    *, version: PolicyVersion, action: str, actor: User | None, data: dict[str, Any]
) -> PolicyEvent:
    return PolicyEvent.objects.create(version=version, action=action, actor=actor, data=data)


def _refuse_invalid(sections: Mapping[str, Any]) -> None:
    problems = validate_policy(sections, queue_codes=queue_codes())
    if problems:
        raise ValidationFailed(
            gettext("The policy version is not valid: correct the sections listed."),
            extra={"problems": problems},
        )


def _refuse_taken_name(name: str) -> None:
    if PolicyVersion.objects.filter(name=name).exists():
        raise ValidationFailed(
            gettext("A policy version named %(name)s already exists.") % {"name": name},
            extra={"problems": {"name": [gettext("This name is already taken.")]}},
        )


@transaction.atomic
def policy_version_create_draft(
    *, actor: User | None, source: PolicyVersion | None = None, name: str
) -> PolicyVersion:
    """A new draft, starting from a copy of `source`'s sections (typically the version in force)
    so that a policy change is an edit of the rules people know, not a blank page."""
    _refuse_taken_name(name)
    sections = copy.deepcopy(source.sections) if source is not None else {}
    version = PolicyVersion.objects.create(name=name, status=PolicyVersion.Status.DRAFT, **sections)
    _event(
        version=version,
        action=PolicyEvent.Action.CREATED,
        actor=actor,
        data={"source": source.pk, "source_name": source.name} if source else {},
    )
    return version


@transaction.atomic
def policy_version_update(
    *, version: PolicyVersion, actor: User | None, data: Mapping[str, Any]
) -> PolicyVersion:
    """Change a draft's name, notes or sections; the result must be a valid policy.

    Only drafts change: applications were judged by published and retired versions, so those
    are history. Validation happens here, not only in the admin form, so that no caller can
    leave a draft that would fail at publication time for a reason nobody was shown.
    """
    unknown = set(data) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    locked = PolicyVersion.objects.select_for_update().get(pk=version.pk)
    if locked.status != PolicyVersion.Status.DRAFT:
        raise Conflict(gettext("Only a draft policy version can be edited."))
    before = locked.sections
    changed = [f for f in EDITABLE_FIELDS if f in data and getattr(locked, f) != data[f]]
    if not changed:
        return locked
    if "name" in changed:
        _refuse_taken_name(data["name"])
    for field_name in changed:
        setattr(locked, field_name, data[field_name])
    _refuse_invalid(locked.sections)
    locked.save(update_fields=changed)
    _event(
        version=locked,
        action=PolicyEvent.Action.EDITED,
        actor=actor,
        data={
            "sections": changed_sections(before, locked.sections),
            "fields": changed,
        },
    )
    return locked


@transaction.atomic
def policy_version_publish(*, version: PolicyVersion, actor: User) -> PolicyVersion:
    """Put a valid draft in force and retire the version it replaces, in one transaction.

    Every version that is not retired is locked first, in primary-key order: a concurrent
    publish waits here, and PostgreSQL hands it the rows as the first one committed them, so
    the second publish retires the first one's version instead of missing it. The partial
    unique index on the published status is the last line: it turns any interleaving this
    misses into a Conflict, never into two versions in force.

    Applications already screened keep their result and their version: re-evaluation is a
    separate, explicit act (screening.services.screening_reevaluate).
    """
    locked = list(
        PolicyVersion.objects.select_for_update()
        .exclude(status=PolicyVersion.Status.RETIRED)
        .order_by("pk")
    )
    target = next((v for v in locked if v.pk == version.pk), None)
    if target is None or target.status != PolicyVersion.Status.DRAFT:
        raise Conflict(gettext("Only a draft policy version can be published."))
    _refuse_invalid(target.sections)
    now = timezone.now()
    in_force = [v for v in locked if v.status == PolicyVersion.Status.PUBLISHED]
    for old in in_force:
        old.status = PolicyVersion.Status.RETIRED
        old.save(update_fields=["status"])
        _event(
            version=old,
            action=PolicyEvent.Action.RETIRED,
            actor=actor,
            data={"replaced_by": target.pk, "replaced_by_name": target.name},
        )
    target.status = PolicyVersion.Status.PUBLISHED
    target.published_at = now
    target.published_by = actor
    try:
        with transaction.atomic():
            target.save(update_fields=["status", "published_at", "published_by"])
    except IntegrityError as exc:
        raise Conflict(
            gettext("Another policy version was published at the same time. Try again.")
        ) from exc
    previous = in_force[0] if in_force else None
    _event(
        version=target,
        action=PolicyEvent.Action.PUBLISHED,
        actor=actor,
        data={
            "replaces": previous.pk if previous else None,
            "replaces_name": previous.name if previous else None,
            "sections": changed_sections(previous.sections, target.sections)
            if previous
            else list(SECTION_NAMES),
        },
    )
    return target
