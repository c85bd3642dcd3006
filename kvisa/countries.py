"""django-countries' CountryField, checked by a lookup in the country codes.

Django checks a value against a field's choices by walking them, and for a lazy choices
object it normalises every choice again on each walk: about 250 countries, checked twice per
country field (by the form, then by the model's full_clean). That was a fifth of the CPU of a
filing through the API (issue 7). The codes are the keys of the field's own ``countries``
dictionary, so the answer is the same (tests/test_countries.py holds it equal for every code
and for values that are not codes); the choices shown, and the database column, are unchanged.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django_countries.fields import CountryField as BaseCountryField
from django_countries.fields import LazyTypedChoiceField  # type: ignore[attr-defined]


class CountryChoiceField(LazyTypedChoiceField):
    """The form field: a country code is valid when it is one of the field's countries."""

    countries: Any = None  # the model field's django_countries.Countries, set by formfield()

    def valid_value(self, value: Any) -> bool:
        if self.countries is None:  # built without a model field
            return bool(super().valid_value(value))
        return str(value) in self.countries.countries


class CountryField(BaseCountryField):
    def validate(self, value: Any, model_instance: Any) -> None:
        if self.multiple or not self.editable or value in self.empty_values:
            return super().validate(value, model_instance)
        # A value that is not empty: Django's own check would only walk the choices.
        if str(value) not in self.countries.countries:
            raise ValidationError(
                self.error_messages["invalid_choice"],
                code="invalid_choice",
                params={"value": value},
            )
        return None

    def formfield(self, **kwargs: Any) -> Any:
        if self.multiple:
            return super().formfield(**kwargs)
        kwargs.setdefault("choices_form_class", CountryChoiceField)
        field = super().formfield(**kwargs)
        if isinstance(field, CountryChoiceField):
            field.countries = self.countries
        return field
