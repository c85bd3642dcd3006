"""The public eligibility self-check: what someone enters, turned into the engine's Facts.

The form asks only what the rules look at, in the shape the application form stores it, so a
self-check and the screening of a submitted application with the same answers give the same
result. Nothing here is saved.
"""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from applications.models import ApplicantPath, DegreeLevel
from policy.engine import DegreeFact, Facts
from policy.selectors import active_institutions, active_stem_fields

NOT_LISTED = "other"
DEGREE_SLOTS = (1, 2)
DEGREE_PARTS = ("level", "field", "institution")
MAX_YEARS_EXPERIENCE = 60
MAX_OUTPUT = 500  # publications or patents: more is a typing mistake, not a career


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


def _interpolated(template: Any, **params: Any) -> Any:
    """Fill in a lazy translation when it is shown, not when the class is defined: `%` on a
    lazy string translates it at once, in whatever language is active at import."""
    return lazy(lambda: str(template) % params, str)()


def _count_field(label: Any, maximum: int, *, required: bool, help_text: Any = "") -> Any:
    message = _interpolated(_("Enter a whole number between 0 and %(max)d."), max=maximum)
    return forms.IntegerField(
        label=label,
        min_value=0,
        max_value=maximum,
        required=required,
        help_text=help_text,
        error_messages={
            "required": _("Enter a number (0 if none)."),
            "min_value": message,
            "max_value": message,
            "invalid": message,
        },
        widget=forms.NumberInput(attrs={"min": 0, "max": maximum, "inputmode": "numeric"}),
    )


def _id_or_none(value: str) -> int | None:
    return int(value) if value and value != NOT_LISTED else None


class SelfCheckForm(forms.Form):
    path = forms.ChoiceField(
        label=_("Which route describes you?"),
        choices=ApplicantPath.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the route that describes you.")},
    )
    date_of_birth = forms.DateField(
        label=_("Date of birth"),
        widget=DateInput(),
        error_messages={
            "required": _("Enter your date of birth."),
            "invalid": _("Enter the date of birth as a date, e.g. 1996-04-12."),
        },
    )
    post_is_stem = forms.TypedChoiceField(
        label=_("Is your current post STEM teaching or research?"),
        choices=[("True", _("Yes")), ("False", _("No"))],
        widget=forms.RadioSelect,
        required=False,
        coerce=lambda v: v == "True",
        empty_value=None,
        help_text=_("Required for teachers and researchers."),
    )
    post_field = forms.ChoiceField(
        label=_("Field of the post"),
        required=False,
        help_text=_("Required for teachers and researchers."),
    )
    post_institution = forms.ChoiceField(
        label=_("Institution of the post"),
        required=False,
        help_text=_(
            "Required for teachers and researchers. A post at a recognised institution can also "
            "earn points on the graduate route."
        ),
    )
    years_experience = _count_field(
        _("Years of relevant experience"),
        MAX_YEARS_EXPERIENCE,
        required=True,
        help_text=_("Full years of STEM work, teaching or research after your first degree."),
    )
    hsk_level = forms.TypedChoiceField(
        label=_("HSK level"),
        coerce=int,
        initial=0,
        choices=[(0, _("No HSK certificate"))]
        + [(n, _interpolated(_("HSK %(level)d"), level=n)) for n in range(1, 10)],
    )
    taught_in_chinese = forms.BooleanField(label=_("A degree taught in Chinese"), required=False)
    publications = _count_field(_("Peer-reviewed publications"), MAX_OUTPUT, required=False)
    patents = _count_field(_("Granted patents"), MAX_OUTPUT, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One query each, in the active language; both lists serve every select on the page.
        fields = [(str(f.pk), f.name) for f in active_stem_fields()]
        institutions = [(str(i.pk), i.name) for i in active_institutions()]
        # Names the lists as shown (ids and names in the active language): the page caches
        # the unbound form's markup under it, so a change to either list renders anew.
        self.choices_key = hashlib.sha256(repr((fields, institutions)).encode()).hexdigest()
        choose = [("", _("Choose…"))]
        field_choices = [*choose, *fields, (NOT_LISTED, _("Another field (not in this list)"))]
        institution_choices = [
            *choose,
            *institutions,
            (NOT_LISTED, _("Not in the list of recognised institutions")),
        ]
        for slot in DEGREE_SLOTS:
            required = slot == 1
            self.fields[f"degree{slot}_level"] = forms.ChoiceField(
                label=_("Level"), choices=[*choose, *DegreeLevel.choices], required=required
            )
            self.fields[f"degree{slot}_field"] = forms.ChoiceField(
                label=_("Field"), choices=field_choices, required=required
            )
            self.fields[f"degree{slot}_institution"] = forms.ChoiceField(
                label=_("Institution"), choices=institution_choices, required=required
            )
        self.order_fields(
            ["path", "date_of_birth"]
            + [f"degree{slot}_{part}" for slot in DEGREE_SLOTS for part in DEGREE_PARTS]
        )
        cast(forms.ChoiceField, self.fields["post_field"]).choices = field_choices
        cast(forms.ChoiceField, self.fields["post_institution"]).choices = institution_choices
        for part, message in (
            ("level", _("Choose the level of your highest degree.")),
            ("field", _("Choose the field of your highest degree.")),
            ("institution", _("Choose the institution, or that it is not in the list.")),
        ):
            self.fields[f"degree1_{part}"].error_messages["required"] = message

    def error_summary(self) -> list[dict[str, Any]]:
        """Each field error with the field's id and a label that says which degree it is
        about (the page shows this list first, each item linking to its field)."""
        groups = {1: _("Highest degree"), 2: _("Another degree")}
        summary = []
        for bound in self:
            label: Any = bound.label
            for slot, group in groups.items():
                if bound.name.startswith(f"degree{slot}_"):
                    label = f"{group}: {bound.label}"
            # A radio group has no single labelled input: link to its first option.
            target = bound.id_for_label or f"{bound.auto_id}_0"
            summary += [{"id": target, "label": label, "error": e} for e in bound.errors]
        return summary

    def clean_date_of_birth(self) -> date:
        born: date = self.cleaned_data["date_of_birth"]
        today = timezone.localdate()
        if born >= today:
            raise forms.ValidationError(_("The date of birth must be in the past."), code="future")
        if born.year < today.year - 100:
            raise forms.ValidationError(
                _("Check the year of birth: it is more than 100 years ago."), code="too_old"
            )
        return born

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        second = [data.get(f"degree2_{part}") for part in DEGREE_PARTS]
        if any(second) and not all(second):
            for part, value in zip(DEGREE_PARTS, second, strict=True):
                if not value:
                    self.add_error(
                        f"degree2_{part}",
                        _("Complete the second degree, or leave all its fields empty."),
                    )
        if data.get("path") == ApplicantPath.RESEARCHER:
            required = {
                "post_is_stem": _("Say whether your current post is STEM teaching or research."),
                "post_field": _("Choose the field of your post."),
                "post_institution": _(
                    "Choose the institution of your post, or that it is not in the list."
                ),
            }
            for name, message in required.items():
                if data.get(name) in (None, "") and name not in self.errors:
                    self.add_error(name, message)
        born, years = data.get("date_of_birth"), data.get("years_experience")
        if born and years is not None:
            age = Facts(path="", date_of_birth=born, reference_date=timezone.localdate()).age or 0
            if years > max(age - 14, 0):
                self.add_error(
                    "years_experience",
                    _("That is more years of experience than your age allows."),
                )
        return data

    def facts(self) -> Facts:
        """The engine's facts, counted on today (an application is counted on its
        submission day). Call only on a valid form."""
        data = self.cleaned_data
        degrees = tuple(
            DegreeFact(
                level=data[f"degree{slot}_level"],
                field_id=_id_or_none(data[f"degree{slot}_field"]),
                institution_id=_id_or_none(data[f"degree{slot}_institution"]),
            )
            for slot in DEGREE_SLOTS
            if data.get(f"degree{slot}_level")
        )
        return Facts(
            path=data["path"],
            date_of_birth=data["date_of_birth"],
            reference_date=timezone.localdate(),
            degrees=degrees,
            post_is_stem=data.get("post_is_stem"),
            post_field_id=_id_or_none(data.get("post_field") or ""),
            post_institution_id=_id_or_none(data.get("post_institution") or ""),
            years_experience=data["years_experience"],
            # The application stores "no certificate" as no level, not level 0.
            hsk_level=data["hsk_level"] or None,
            taught_in_chinese=bool(data.get("taught_in_chinese")),
            publications=data.get("publications") or 0,
            patents=data.get("patents") or 0,
        )
