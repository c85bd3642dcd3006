"""What a draft still needs before it can be submitted, section by section.

The document checklist comes from the policy version in force (it differs by applicant path
and changes with policy), so nothing here hard-codes which documents a path needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from applications.models import ApplicantPath, Application, DocumentKind
from policy.models import PolicyVersion


class Step(models.TextChoices):
    """The sections of the form, in order; each has its own page."""

    PATH = "path", _("Your route")
    PERSONAL = "personal", _("Personal details")
    PASSPORT = "passport", _("Passport")
    CONTACT = "contact", _("Contact details")
    EDUCATION = "education", _("Education")
    CAREER = "career", _("Current post and experience")
    LANGUAGE = "language", _("Chinese language")
    TRAVEL = "travel", _("Your stay in China")
    DOCUMENTS = "documents", _("Documents")


STEPS: list[Step] = list(Step)


@dataclass(frozen=True)
class MissingItem:
    step: Step
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"step": str(self.step), "message": str(self.message)}


@dataclass(frozen=True)
class ChecklistEntry:
    """One document the applicant must (or may) upload, with what is already there."""

    kind: str
    label: str
    required: bool
    degree: Any | None
    uploaded: Any | None


REQUIRED_FIELDS: dict[Step, list[str]] = {
    Step.PATH: ["path"],
    Step.PERSONAL: [
        "family_name",
        "given_names",
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
    Step.CONTACT: ["contact_email", "phone", "address_line", "city", "country_of_residence"],
    Step.CAREER: ["years_experience"],
    Step.TRAVEL: [
        "planned_entry_date",
        "planned_stay_days",
        "previous_visits",
        "previous_refusals",
    ],
}
RESEARCHER_FIELDS = [
    "employer_name",
    "job_title",
    "post_is_stem_teaching_research",
    "post_field",
    "post_since",
]


def _is_blank(value: Any) -> bool:
    return value is None or value == "" or value == []


def document_checklist(application: Application, *, policy: PolicyVersion) -> list[ChecklistEntry]:
    """The documents this application needs under `policy`, matched with the uploads."""
    degrees = list(application.degrees.all())
    documents = [d for d in application.documents.all() if d.evidence_response_id is None]
    labels = dict(DocumentKind.choices)
    entries: list[ChecklistEntry] = []

    def uploaded(kind: str, degree: Any | None) -> Any | None:
        return next(
            (
                d
                for d in documents
                if d.kind == kind and d.degree_id == (degree.pk if degree else None)
            ),
            None,
        )

    for item in policy.checklist_for(application.path):
        if item.get("per_degree"):
            for degree in degrees:
                label = f"{labels[item['kind']]}: {degree}"
                entries.append(
                    ChecklistEntry(
                        item["kind"],
                        label,
                        item["required"],
                        degree,
                        uploaded(item["kind"], degree),
                    )
                )
        else:
            entries.append(
                ChecklistEntry(
                    item["kind"],
                    str(labels[item["kind"]]),
                    item["required"],
                    None,
                    uploaded(item["kind"], None),
                )
            )
    if policy.document_checklist.get("translation_for_other_languages"):
        for degree in degrees:
            if not degree.documents_in_zh_or_en:
                label = f"{labels[DocumentKind.TRANSLATION]}: {degree}"
                entries.append(
                    ChecklistEntry(
                        DocumentKind.TRANSLATION,
                        label,
                        True,
                        degree,
                        uploaded(DocumentKind.TRANSLATION, degree),
                    )
                )
    return entries


def missing_items(application: Application, *, policy: PolicyVersion) -> list[MissingItem]:
    """Everything that stops submission, in form order, each pointing at its section."""
    missing: list[MissingItem] = []
    field_labels = {
        f.name: f.verbose_name for f in Application._meta.get_fields() if hasattr(f, "verbose_name")
    }
    for step in STEPS:
        names = list(REQUIRED_FIELDS.get(step, []))
        if step == Step.CAREER and application.path == ApplicantPath.RESEARCHER:
            names += RESEARCHER_FIELDS
        for name in names:
            if _is_blank(getattr(application, name)):
                missing.append(
                    MissingItem(
                        step,
                        gettext("%(field)s is missing.")
                        % {"field": capfirst(str(field_labels[name]))},
                    )
                )
        if (
            step == Step.CAREER
            and application.path == ApplicantPath.RESEARCHER
            and application.post_is_stem_teaching_research is False
        ):
            missing.append(
                MissingItem(
                    step,
                    gettext("The researcher route needs a current STEM teaching or research post."),
                )
            )
        if step == Step.EDUCATION and not application.degrees.exists():
            missing.append(MissingItem(step, gettext("Add at least one degree.")))
        if step == Step.TRAVEL:
            if not application.intended_activities:
                missing.append(MissingItem(step, gettext("Choose at least one intended activity.")))
            stay_end = application.planned_stay_end
            if (
                stay_end
                and application.passport_expiry_date
                and application.passport_expiry_date < stay_end
            ):
                missing.append(
                    MissingItem(
                        step, gettext("Your passport expires before your planned stay ends.")
                    )
                )
        if step == Step.DOCUMENTS and application.path:
            for entry in document_checklist(application, policy=policy):
                if entry.required and entry.uploaded is None:
                    missing.append(
                        MissingItem(
                            step, gettext("Upload: %(document)s.") % {"document": entry.label}
                        )
                    )
    return missing
