"""The applicant's answers as plain data: the frozen snapshot, the review page and the export.

One function builds the data (`application_answers`) and one renders it for people
(`render_answers`), so a live draft and a frozen snapshot are shown exactly alike.
The passport number never enters the snapshot in clear: only a masked form does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils.formats import date_format
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_countries import countries

from applications.checklist import STEPS, Step
from applications.models import Activity, Application, Degree, DegreeLevel, DocumentKind

SECTION_FIELDS: dict[Step, list[str]] = {
    Step.PATH: ["path"],
    Step.PERSONAL: [
        "family_name",
        "given_names",
        "native_name",
        "sex",
        "date_of_birth",
        "place_of_birth",
        "nationality",
    ],
    Step.PASSPORT: [
        "passport_number",
        "passport_issuing_country",
        "passport_issue_date",
        "passport_expiry_date",
    ],
    Step.CONTACT: [
        "contact_email",
        "phone",
        "address_line",
        "city",
        "postal_code",
        "country_of_residence",
    ],
    Step.CAREER: [
        "employer_name",
        "employer_institution",
        "job_title",
        "post_is_stem_teaching_research",
        "post_field",
        "post_since",
        "years_experience",
        "publications_count",
        "patents_count",
        "research_summary",
    ],
    Step.LANGUAGE: ["hsk_level", "degree_taught_in_chinese"],
    Step.TRAVEL: [
        "intended_activities",
        "planned_entry_date",
        "planned_stay_days",
        "previous_visits",
        "previous_visits_details",
        "previous_refusals",
        "previous_refusals_details",
    ],
}
COUNTRY_FIELDS = {"nationality", "passport_issuing_country", "country_of_residence", "country"}
SNAPSHOT_VERSION = 1
DATE_FIELDS = frozenset(
    {f.name for f in Application._meta.fields if isinstance(f, models.DateField)}
    | {"started_on", "awarded_on"}
)


def mask_identifier(value: str) -> str:
    value = value or ""
    return "•" * max(len(value) - 4, 0) + value[-4:] if value else ""


def _raw(application: Application, name: str) -> Any:
    value = getattr(application, name)
    if name == "passport_number":
        return mask_identifier(value)
    field = Application._meta.get_field(name)
    if isinstance(field, models.ForeignKey):
        return (
            {"id": value.pk, "name_en": value.name_en, "name_zh": value.name_zh} if value else None
        )
    if isinstance(value, date):
        return value.isoformat()
    if name in COUNTRY_FIELDS or name == "phone":
        return str(value) if value else ""
    return value


def _degree(degree: Degree) -> dict[str, Any]:
    institution = degree.institution
    return {
        "level": degree.level,
        "field": {
            "id": degree.field.pk,
            "name_en": degree.field.name_en,
            "name_zh": degree.field.name_zh,
        },
        "institution": (
            {"id": institution.pk, "name_en": institution.name_en, "name_zh": institution.name_zh}
            if institution
            else None
        ),
        "institution_other": degree.institution_other,
        "country": str(degree.country),
        "started_on": degree.started_on.isoformat(),
        "awarded_on": degree.awarded_on.isoformat(),
        "documents_in_zh_or_en": degree.documents_in_zh_or_en,
    }


def application_answers(application: Application) -> dict[str, Any]:
    """Everything the applicant answered, as JSON-ready data (the submission snapshot)."""
    answers: dict[str, Any] = {"version": SNAPSHOT_VERSION}
    for step, names in SECTION_FIELDS.items():
        answers[step.value] = {name: _raw(application, name) for name in names}
    answers[Step.EDUCATION.value] = {"degrees": [_degree(d) for d in application.degrees.all()]}
    answers[Step.DOCUMENTS.value] = {
        "documents": [
            {
                "kind": d.kind,
                "name": d.original_name,
                "sha256": d.sha256,
                "size": d.size,
                "degree_index": next(
                    (i for i, g in enumerate(application.degrees.all()) if g.pk == d.degree_id),
                    None,
                ),
            }
            for d in application.documents.all()
            if d.evidence_response_id is None
        ]
    }
    return answers


def _display(name: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if isinstance(value, dict) and "name_en" in value:
        return (
            value["name_zh"]
            if (get_language() or "").startswith("zh") and value["name_zh"]
            else value["name_en"]
        )
    if name in COUNTRY_FIELDS:
        return str(countries.name(value)) or value
    if name == "intended_activities":
        labels = dict(Activity.choices)
        return ", ".join(str(labels.get(v, v)) for v in value)
    if name in DATE_FIELDS:
        return date_format(date.fromisoformat(value), "DATE_FORMAT")
    choices: dict[Any, Any] = dict(DegreeLevel.choices)
    if name != "level":
        try:
            choices = dict(getattr(Application._meta.get_field(name), "choices", None) or [])
        except FieldDoesNotExist:
            choices = {}
    if value in choices:
        return str(choices[value])
    return str(value)


def render_answers(answers: dict[str, Any]) -> list[dict[str, Any]]:
    """Sections of (label, text) rows for templates, in form order."""
    sections: list[dict[str, Any]] = []
    for step in STEPS:
        data = answers.get(step.value, {})
        rows: list[tuple[str, str]] = []
        if step == Step.EDUCATION:
            for degree in data.get("degrees", []):
                institution = (
                    _display("institution", degree["institution"])
                    if degree["institution"]
                    else degree["institution_other"]
                )
                rows.append(
                    (
                        _display("level", degree["level"]),
                        "{field} — {institution}, {country} ({start} - {end})".format(
                            field=_display("field", degree["field"]),
                            institution=institution,
                            country=_display("country", degree["country"]),
                            start=_display("started_on", degree["started_on"]),
                            end=_display("awarded_on", degree["awarded_on"]),
                        ),
                    )
                )
        elif step == Step.DOCUMENTS:
            labels = dict(DocumentKind.choices)
            rows = [
                (str(labels.get(d["kind"], d["kind"])), d["name"])
                for d in data.get("documents", [])
            ]
        else:
            for name, value in data.items():
                label = getattr(Application._meta.get_field(name), "verbose_name", name)
                rows.append((capfirst(str(label)), _display(name, value)))
        sections.append({"step": step, "title": step.label, "rows": rows})
    return sections
