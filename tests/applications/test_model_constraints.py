"""Model validation of applications and degrees answers what Django's own would (it only
skips earlier the check constraints that name an excluded field)."""

from __future__ import annotations

from datetime import date
from itertools import combinations

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from applications.models import Application, Degree

pytestmark = pytest.mark.django_db


def _answer(validate, exclude):
    try:
        validate(exclude=exclude)
    except ValidationError as exc:
        return {field: [str(m) for m in messages] for field, messages in exc.message_dict.items()}
    return None


def _django_answer(instance, exclude):
    return _answer(lambda exclude: models.Model.validate_constraints(instance, exclude), exclude)


@pytest.mark.parametrize(
    ("instance", "violated"),
    [
        (Degree(started_on=date(2020, 9, 1), awarded_on=date(2019, 7, 1)), True),
        (
            Degree(started_on=date(2017, 9, 1), awarded_on=date(2021, 7, 1), institution_other="X"),
            False,
        ),
        (Application(status="draft", hsk_level=12), True),
        (Application(status="submitted", reference=None, hsk_level=3), True),
        (Application(status="nonsense"), True),
    ],
    ids=["degree-dates", "degree-ok", "hsk", "reference", "status"],
)
def test_constraint_answers_are_djangos_whatever_is_excluded(instance, violated):
    names = sorted(
        {n for c in instance._meta.constraints for n in c.condition.referenced_base_fields}
    )
    refused = False
    for size in range(len(names) + 1):
        for exclude in map(set, combinations(names, size)):
            mine = _answer(instance.validate_constraints, exclude or None)
            assert mine == _django_answer(instance, exclude or None), exclude
            refused = refused or mine is not None
    assert refused is violated


def test_a_section_form_still_checks_the_constraints_on_its_fields():
    degree = Degree(started_on=date(2020, 9, 1), awarded_on=date(2019, 7, 1))
    with pytest.raises(ValidationError) as raised:
        degree.validate_constraints(exclude={"level", "field", "institution_other"})
    assert raised.value.messages == ["Constraint “degree_dates_ordered” is violated."]
