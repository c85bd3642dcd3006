"""Writes to the governed lists (CSV import): the admin and tests call these."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django_countries import countries

from policy.models import Discipline, Institution, StemField


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
