"""How the workspace pages word what the domain stores as codes: timeline event kinds, rule and
flag codes, and the applicant's answers. Pure functions of already-loaded rows: no queries."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_countries import countries

from accounts.models import User
from applications.answers import SECTION_FIELDS
from applications.checklist import Step
from applications.models import Activity, Application, Degree, Status, TimelineEvent
from policy.engine import explanation_in_active_language
from policy.views import RULE_LABELS
from reviews.models import Decision
from screening.models import Screening

# Every kind the services write (applications, screening, reviews). An unknown kind (a newer
# service) still reads as words, never as a bare code.
KIND_LABELS: dict[str, Promise] = {
    "created": gettext_lazy("Application started"),
    "status": gettext_lazy("Status changed"),
    "confirmation_sent": gettext_lazy("Confirmation email sent to the applicant"),
    "screened": gettext_lazy("Screened automatically"),
    "reevaluated": gettext_lazy("Screened again"),
    "requeued": gettext_lazy("Moved to another queue"),
    "escalated": gettext_lazy("Escalated: past its due date"),
    "released": gettext_lazy("Released back to the queue"),
    "reassigned": gettext_lazy("Reassigned by a supervisor"),
    "lease_expired": gettext_lazy("Returned to the queue: the officer's hold expired"),
    "note": gettext_lazy("Internal note added"),
    "evidence_overdue": gettext_lazy("Requested evidence not provided in time"),
    "decision_proposed": gettext_lazy("Decision proposed for second review"),
    "decided": gettext_lazy("Decision made"),
    "second_review_confirmed": gettext_lazy("Decision confirmed by a second officer"),
    "second_review_sent_back": gettext_lazy("Decision sent back by the second officer"),
    "visa_issued": gettext_lazy("Visa issued"),
    "review_requested": gettext_lazy("The applicant asked for an administrative review"),
    "letter_issued": gettext_lazy("Decision letter issued"),
    "letter_sent": gettext_lazy("Decision letter sent to the applicant"),
}

FLAG_LABELS: dict[str, Promise] = {
    "duplicate_passport": gettext_lazy("Same passport on another open application"),
    "reused_document": gettext_lazy("Document identical to another applicant's"),
    "passport_expired": gettext_lazy("Passport expired"),
    "passport_validity": gettext_lazy("Passport ends before the planned stay"),
}


def event_label(event: TimelineEvent) -> str:
    if event.kind == "status" and event.to_status:
        return _("Status: %(status)s") % {"status": _status_label(event.to_status)}
    return kind_label(event.kind)


def kind_label(kind: str) -> str:
    label = KIND_LABELS.get(kind)
    return str(label) if label is not None else capfirst(kind.replace("_", " "))


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, str(label)) for kind, label in KIND_LABELS.items()]


def person(user: User | None) -> str:
    if user is None:
        return _("the system")
    return user.full_name or user.email


# --- Timeline ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRow:
    event: TimelineEvent
    label: str
    detail: str

    @property
    def actor(self) -> str:
        return person(self.event.actor)


def _someone(people: Mapping[int, User], pk: Any, otherwise: str) -> str:
    return person(people[pk]) if pk in people else otherwise


def _status_label(code: str) -> str:
    return str(Status(code).label) if code in Status.values else code


def _when(value: Any) -> str:
    moment = parse_datetime(value) if isinstance(value, str) else None
    return date_format(moment, "DATETIME_FORMAT") if moment else ""


def _event_detail(
    event: TimelineEvent, people: Mapping[int, User], queues: Mapping[str, str]
) -> str:
    data = event.data or {}
    queue = queues.get(data.get("queue", ""), data.get("queue", ""))
    parts: list[str] = []
    if event.kind == "status":
        if event.from_status:
            parts.append(_("Was “%(from)s”.") % {"from": _status_label(event.from_status)})
        if data.get("claimed"):
            parts.append(_("Claimed from the queue “%(queue)s”.") % {"queue": queue})
        if data.get("expired"):
            parts.append(_("The request for evidence expired unanswered."))
    elif event.kind in ("screened", "reevaluated"):
        parts.append(
            _("Eligible, %(points)s points.") % {"points": data.get("points")}
            if data.get("eligible")
            else _("Not eligible, %(points)s points.") % {"points": data.get("points")}
        )
        if data.get("fast_track"):
            parts.append(_("Fast track."))
        if data.get("flags"):
            parts.append(
                _("Integrity flags: %(flags)s.")
                % {"flags": ", ".join(str(FLAG_LABELS.get(f, f)) for f in data["flags"])}
            )
        if queue:
            parts.append(_("Queue: %(queue)s.") % {"queue": queue})
    elif event.kind in ("requeued", "escalated"):
        if queue:
            parts.append(_("Queue: %(queue)s.") % {"queue": queue})
        if data.get("due_at"):
            parts.append(_("Due %(when)s.") % {"when": _when(data["due_at"])})
    elif event.kind in ("released", "lease_expired"):
        if data.get("holder"):
            parts.append(
                _("It was held by %(officer)s.")
                % {"officer": _someone(people, data["holder"], _("another officer"))}
            )
    elif event.kind == "reassigned":
        parts.append(
            _("From %(from)s to %(to)s.")
            % {
                "from": _someone(people, data.get("from"), _("the queue")),
                "to": _someone(people, data.get("to"), _("another officer")),
            }
        )
    elif event.kind in ("decision_proposed", "decided"):
        outcome = data.get("outcome", "")
        if outcome in Decision.Outcome.values:
            parts.append(str(Decision.Outcome(outcome).label) + ".")
        if data.get("sampled"):
            parts.append(_("An approval drawn for sampling."))
    elif event.kind == "visa_issued" and data.get("visa"):
        parts.append(_("Visa number %(number)s.") % {"number": data["visa"]})
    if event.message:
        parts.append(event.message)
    return " ".join(parts)


def people_in(events: Iterable[TimelineEvent]) -> set[int]:
    """The user ids that events name in their data, to load in one query."""
    ids: set[int] = set()
    for event in events:
        for key in ("holder", "from", "to"):
            value = (event.data or {}).get(key)
            if isinstance(value, int):
                ids.add(value)
    return ids


def event_rows(
    events: Iterable[TimelineEvent], *, people: Mapping[int, User], queues: Mapping[str, str]
) -> list[EventRow]:
    return [
        EventRow(event=e, label=event_label(e), detail=_event_detail(e, people, queues))
        for e in events
    ]


# --- The applicant's answers -------------------------------------------------------------------

# Field labels worded for the applicant ("your post") that read wrongly to an officer.
OFFICER_LABELS: dict[str, Promise] = {
    "employer_institution": gettext_lazy("Recognised institution of the post"),
}


def _value(application: Application, name: str) -> str:
    value = getattr(application, name)
    if name == "intended_activities":
        labels = dict(Activity.choices)
        return ", ".join(str(labels.get(v, v)) for v in value) or "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value is None or value == "" or (hasattr(value, "code") and not value.code):
        return "—"
    field = Application._meta.get_field(name)
    if getattr(field, "choices", None):
        return str(getattr(application, f"get_{name}_display")())
    if hasattr(value, "code") and hasattr(value, "name"):  # a django-countries Country
        return str(value.name)
    if isinstance(value, datetime | date):
        return date_format(value, "DATE_FORMAT")
    return str(value)


def _verbose_name(name: str) -> str:
    return str(getattr(Application._meta.get_field(name), "verbose_name", None) or name)


def applicant_sections(application: Application, degrees: list[Degree]) -> list[dict[str, Any]]:
    """The application as the officer reads it, section by section, in form order.

    Live values, not the snapshot: the passport number in clear (only this page shows it) and
    names of governed lists in the active language.
    """
    sections: list[dict[str, Any]] = []
    for step in Step:
        rows: list[tuple[str, str]] = []
        if step == Step.EDUCATION:
            for degree in degrees:
                rows.append(
                    (
                        degree.get_level_display(),
                        _("%(field)s — %(institution)s, %(country)s (%(start)s to %(end)s)")
                        % {
                            "field": degree.field.name,
                            "institution": degree.institution_name,
                            "country": countries.name(str(degree.country)),
                            "start": date_format(degree.started_on, "DATE_FORMAT"),
                            "end": date_format(degree.awarded_on, "DATE_FORMAT"),
                        },
                    )
                )
        elif step in SECTION_FIELDS:
            for name in SECTION_FIELDS[step]:
                label = str(OFFICER_LABELS.get(name) or _verbose_name(name))
                rows.append((capfirst(label), _value(application, name)))
        else:
            continue
        sections.append({"step": step.value, "title": step.label, "rows": rows})
    return sections


# --- Screening ---------------------------------------------------------------------------------


def rule_rows(screening: Screening | None) -> list[dict[str, Any]]:
    rules = ((screening.evaluation if screening else None) or {}).get("rules", [])
    return [
        {
            "label": str(RULE_LABELS.get(r.get("code", ""), kind_label(r.get("code", "")))),
            "kind": r.get("kind", ""),
            "passed": r.get("passed"),
            "points": r.get("points"),
            "max_points": r.get("max_points"),
            "explanation": explanation_in_active_language(r.get("explanation")),
        }
        for r in rules
    ]


def missing_rows(screening: Screening | None) -> list[dict[str, str]]:
    return [
        {
            "step": str(Step(m["step"]).label) if m.get("step") in Step.values else "",
            "explanation": explanation_in_active_language(m),
        }
        for m in (screening.missing if screening else [])
    ]


def flag_rows(screening: Screening | None, related_visible: set[str]) -> list[dict[str, Any]]:
    return [
        {
            "label": str(FLAG_LABELS.get(f.get("code", ""), kind_label(f.get("code", "")))),
            "explanation": explanation_in_active_language(f.get("explanation")),
            "related": [
                {"reference": r["reference"], "visible": r["reference"] in related_visible}
                for r in f.get("related", [])
                if r.get("reference")
            ],
        }
        for f in (screening.flags if screening else [])
    ]
