"""The filing body's types for the OpenAPI schema, read off the applicant's own forms.

A filed application is validated by the forms of the web journey (integrations/filing.py), so
the forms are the contract. Writing the same fields again as serializers would be a second copy
to drift; instead each form field is turned into the serializer field that describes it (type,
enum, length, bounds, label as description), and a field is marked required when the form
requires it on every route. Requirements that depend on the route (a researcher must name a
post), and rules across fields (an expiry after the issue date), stay with the forms: the
422 answer names each field that breaks one.

These serializers only describe; the view still validates with the forms.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.utils.text import capfirst
from django.utils.translation import override
from django_countries import countries
from phonenumber_field.formfields import PhoneNumberField
from rest_framework import serializers

from applications.forms import DegreeForm
from applications.models import ApplicantPath, Application
from integrations.filing import SECTIONS

# Governed lists: named by code or English name in the API (filing._LOOKUPS), not by key.
_LIST_VALUES = {
    "post_field": "A STEM field code from the governed list, e.g. `computer-science`.",
    "field": "A STEM field code from the governed list, e.g. `computer-science`.",
    "employer_institution": "The English name of a recognised institution, as listed.",
    "institution": "The English name of a recognised institution, as listed; otherwise "
    "leave it out and give `institution_other`.",
}


# Limits the policy in force sets, so that they change without a new schema.
_POLICY_LIMITS = {
    "planned_stay_days": "From 1 to the longest stay the policy in force allows (180 days "
    "when this was written).",
}


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166 codes, one enum (CountryEnum, settings.SPECTACULAR_SETTINGS) for every field
    that names a country."""
    return [(code, str(name)) for code, name in countries]


def _choices(field: forms.ChoiceField) -> list[tuple[Any, str]]:
    return [
        (value, str(label))
        for value, label in cast("Iterable[tuple[Any, Any]]", field.choices)
        if value not in ("", None)
    ]


def _describe(name: str, field: forms.Field, *, required: bool) -> serializers.Field:
    with override("en"):
        help_text = capfirst(str(field.label or name.replace("_", " ")))
    if name in _POLICY_LIMITS:
        help_text = f"{help_text}. {_POLICY_LIMITS[name]}"
    common: dict[str, Any] = {"required": required, "help_text": help_text}
    if name in _LIST_VALUES:
        return serializers.CharField(
            required=required, help_text=f"{help_text}. {_LIST_VALUES[name]}"
        )
    if isinstance(field, forms.MultipleChoiceField):
        return serializers.MultipleChoiceField(choices=_choices(field), **common)
    if isinstance(field, forms.ChoiceField):
        values = {str(value) for value, _label in _choices(field)}
        if values == set(countries.countries):
            return serializers.ChoiceField(choices=country_choices(), **common)
        if values == {"True", "False"}:  # a yes/no question: JSON true or false
            return serializers.BooleanField(**common)
        return serializers.ChoiceField(choices=_choices(field), **common)
    if isinstance(field, forms.BooleanField):
        return serializers.BooleanField(required=False, help_text=help_text)
    if isinstance(field, forms.DateField):
        return serializers.DateField(**common)
    if isinstance(field, forms.IntegerField):
        # The applicant forms set plain numbers, never callables.
        low, high = cast("int | None", field.min_value), cast("int | None", field.max_value)
        return serializers.IntegerField(min_value=low, max_value=high, **common)
    if isinstance(field, PhoneNumberField):
        return serializers.CharField(
            required=required, help_text=f"{help_text}, in international form: +2348012345678"
        )
    if isinstance(field, forms.EmailField):
        return serializers.EmailField(max_length=field.max_length, **common)
    if isinstance(field, forms.CharField):
        return serializers.CharField(
            max_length=field.max_length, allow_blank=not required, **common
        )
    raise TypeError(f"no schema type for the form field {name} ({type(field).__name__})")


def _form(form_class: type[forms.BaseForm], path: str) -> forms.BaseForm:
    instance = Application(path=path)
    if issubclass(form_class, forms.ModelForm):
        return form_class(instance=instance)
    return form_class()


def _serializer(form_class: type[forms.BaseForm], name: str) -> type[serializers.Serializer]:
    on_each_path = [_form(form_class, path) for path in ApplicantPath.values]
    fields = {
        field_name: _describe(
            field_name,
            field,
            required=all(form.fields[field_name].required for form in on_each_path),
        )
        for field_name, field in on_each_path[0].fields.items()
    }
    return type(name, (serializers.Serializer,), fields)


@functools.cache
def filing_body_serializer() -> type[serializers.Serializer]:
    """The request body of POST /api/v1/applications/, typed section by section."""
    sections = {
        section: _serializer(form_class, f"Filing{section.title()}Section")()
        for section, form_class in SECTIONS
    }
    degree = _serializer(DegreeForm, "FilingDegree")
    return type(
        "ApplicationFilingRequest",
        (serializers.Serializer,),
        {
            "applicant_email": serializers.EmailField(
                help_text="The applicant's own address: the link to check and sign goes there."
            ),
            "sections": type("FilingSections", (serializers.Serializer,), sections)(
                help_text="The answers by section, as in the applicant's form. Every section "
                "is required; a field required only on one route (a researcher's post) is "
                "refused with 422 when missing on that route."
            ),
            "degrees": degree(many=True, help_text="At least one degree, highest first."),
        },
    )
