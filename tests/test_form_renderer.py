"""The project's form renderer writes <select> in Python (kvisa/form_renderer.py): the markup
must be what Django's own templates give, for every kind of select the forms use."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates

from kvisa.form_renderer import FormRenderer
from policy.forms import SelfCheckForm

CHOICES = [
    ("", "—"),
    ("Sciences", [("phys", "Physics"), ("chem", "Chemistry & <Materials>")]),
    ("cs", 'Computer "science"'),
    (3, "Three"),
]


class Sample(forms.Form):
    plain = forms.ChoiceField(choices=CHOICES)
    optional = forms.ChoiceField(choices=CHOICES, required=False)
    several = forms.MultipleChoiceField(choices=CHOICES, required=False)
    styled = forms.ChoiceField(
        choices=CHOICES,
        widget=forms.Select(attrs={"class": "form-select", "aria-describedby": "x-help"}),
    )
    disabled = forms.ChoiceField(choices=CHOICES, disabled=True, required=False)


def _markup(html: str) -> str:
    return re.sub(r">\s+<", "><", html)  # whitespace between tags means nothing in a select


def _both(form: forms.Form, name: str) -> tuple[str, str]:
    ours = form[name].as_widget()
    form.renderer = DjangoTemplates()
    django = form[name].as_widget()
    form.renderer = FormRenderer()
    return _markup(ours), _markup(django)


@pytest.mark.parametrize("name", list(Sample.base_fields))
@pytest.mark.parametrize(
    "data",
    [None, {"plain": "chem", "styled": "3", "several": ["phys", "cs"], "optional": ""}],
    ids=["unbound", "bound"],
)
def test_a_select_renders_as_djangos_templates_render_it(name, data):
    form = Sample(data, renderer=FormRenderer())
    ours, django = _both(form, name)
    assert ours == django
    assert "<option" in ours


@pytest.mark.django_db
def test_the_self_check_form_renders_as_with_djangos_templates():
    form = SelfCheckForm(renderer=FormRenderer())
    for name, field in form.fields.items():
        if isinstance(field.widget, forms.Select):
            ours, django = _both(form, name)
            assert ours == django, name
