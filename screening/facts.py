"""The rule engine's facts, read from an application's frozen snapshot.

Screening reads what the applicant signed (the snapshot), never the live row, so a later
edit by anyone cannot change what the case is judged on.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from policy.engine import DegreeFact, Facts


def _id(value: Any) -> int | None:
    return value.get("id") if isinstance(value, dict) else None


def facts_from_snapshot(snapshot: dict[str, Any], *, reference_date: date) -> Facts:
    personal, career = snapshot.get("personal", {}), snapshot.get("career", {})
    language = snapshot.get("language", {})
    born = personal.get("date_of_birth")
    return Facts(
        path=snapshot.get("path", {}).get("path") or "",
        date_of_birth=date.fromisoformat(born) if born else None,
        reference_date=reference_date,
        degrees=tuple(
            DegreeFact(
                level=d["level"],
                field_id=_id(d.get("field")),
                institution_id=_id(d.get("institution")),
            )
            for d in snapshot.get("education", {}).get("degrees", [])
        ),
        post_is_stem=career.get("post_is_stem_teaching_research"),
        post_field_id=_id(career.get("post_field")),
        post_institution_id=_id(career.get("employer_institution")),
        years_experience=career.get("years_experience") or 0,
        hsk_level=language.get("hsk_level"),
        taught_in_chinese=bool(language.get("degree_taught_in_chinese")),
        publications=career.get("publications_count") or 0,
        patents=career.get("patents_count") or 0,
    )
