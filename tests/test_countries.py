"""kvisa.countries.CountryField: the same answers as django-countries' own checks, by lookup."""

from __future__ import annotations

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django_countries import countries
from django_countries.fields import CountryField as BaseCountryField
from hypothesis import given
from hypothesis import strategies as st

from applications.forms import PersonalForm
from applications.models import Application
from kvisa.countries import CountryChoiceField, CountryField

ours = Application._meta.get_field("nationality")
theirs = BaseCountryField(blank=True)
theirs.set_attributes_from_name("nationality")

CODES = list(countries.countries)
NOT_CODES = ["XX", "gb", "GBR", "826", " GB", "G", "ZZZ", "None"]


def _model_verdict(field, value) -> str:
    try:
        field.validate(value, None)
    except ValidationError as exc:
        return exc.code or "invalid"
    return "ok"


def _form_verdict(field: forms.Field, value) -> str:
    try:
        field.clean(value)
    except ValidationError as exc:
        return exc.code or "invalid"
    return "ok"


def test_the_field_is_ours_and_the_database_column_unchanged():
    assert isinstance(ours, CountryField)
    assert isinstance(ours.formfield(), CountryChoiceField)
    assert ours.deconstruct()[1:] == (
        "kvisa.countries.CountryField",
        [],
        theirs.deconstruct()[3] | {"verbose_name": "nationality"},
    )


@pytest.mark.parametrize("value", [*CODES, *NOT_CODES, ""])
def test_model_and_form_checks_agree_with_django_countries(value):
    assert _model_verdict(ours, value) == _model_verdict(theirs, value)
    assert _form_verdict(ours.formfield(), value) == _form_verdict(theirs.formfield(), value)


@given(st.text(max_size=4))
def test_any_text_gets_the_same_verdict(value):
    assert _model_verdict(ours, value) == _model_verdict(theirs, value)
    assert _form_verdict(ours.formfield(), value) == _form_verdict(theirs.formfield(), value)


def test_an_applicants_form_refuses_a_code_that_is_not_a_country_in_its_own_words():
    form = PersonalForm(data={"nationality": "XX"})
    assert not form.is_valid()
    assert "nationality" in form.errors
    assert "XX" in str(form.errors["nationality"])
