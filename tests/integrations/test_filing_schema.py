"""The filing body in the schema is read off the applicant's forms (integrations/filing_schema.py):
an integrator who follows it sends what the forms accept, and a form change shows in it."""

from __future__ import annotations

import copy

import pytest
from jsonschema import Draft202012Validator

from accounts.models import Scope
from accounts.services import api_client_create, api_token_issue
from applications.forms import DegreeForm
from applications.models import Application
from integrations.filing import SECTIONS
from integrations.filing_apis import EXAMPLE
from kvisa.errors import PROBLEM_CONTENT_TYPE
from tests import api_schema

pytestmark = pytest.mark.django_db

OPERATION = "/api/v1/applications/"


def _components():
    return api_schema._schema()["components"]["schemas"]


def _body_schema():
    content = api_schema._schema()["paths"][OPERATION]["post"]["requestBody"]["content"]
    assert list(content) == ["application/json"], "a nested body travels only as JSON"
    return content["application/json"]["schema"]


def _validator(schema):
    return Draft202012Validator(api_schema._rewrite_refs(schema), registry=api_schema._registry())


def test_every_form_field_is_in_the_schema_of_its_section():
    components = _components()
    for section, form_class in SECTIONS:
        name = f"Filing{section.capitalize()}Section"
        assert set(components[name]["properties"]) == set(form_class.base_fields), section
    assert set(components["FilingDegree"]["properties"]) == set(DegreeForm.base_fields)


def test_countries_are_one_enum_and_yes_no_answers_are_booleans():
    components = _components()
    personal = components["FilingPersonalSection"]
    assert personal["properties"]["nationality"]["allOf"] == [
        {"$ref": "#/components/schemas/CountryEnum"}
    ]
    # the field keeps its own words; the 249 codes are listed once, in the enum
    assert personal["properties"]["nationality"]["description"] == "Nationality"
    assert {"NG", "IN", "DE"} <= set(components["CountryEnum"]["enum"])
    assert {"date_of_birth", "family_name", "nationality"} <= set(personal["required"])
    travel = components["FilingTravelSection"]["properties"]
    assert travel["previous_refusals"]["type"] == "boolean"
    assert "policy in force" in travel["planned_stay_days"]["description"]


def test_the_documented_example_is_valid_and_a_wrong_type_is_not():
    validator = _validator(_body_schema())
    assert not list(validator.iter_errors(EXAMPLE))
    wrong = copy.deepcopy(EXAMPLE)
    wrong["sections"]["personal"]["nationality"] = "Nigeria"
    del wrong["sections"]["passport"]
    messages = [error.message for error in validator.iter_errors(wrong)]
    assert any("'Nigeria'" in message for message in messages), messages
    assert any("'passport' is a required property" in message for message in messages), messages


def test_a_form_body_is_refused_as_unsupported_and_nothing_is_filed(client):
    filer = api_client_create(name="University of Lagos", scopes=[Scope.APPLICATIONS_SUBMIT])
    _token, plain = api_token_issue(user=filer.user)
    response = client.post(
        OPERATION,
        {"applicant_email": "ada@example.org"},  # the test client sends multipart
        HTTP_AUTHORIZATION=f"Bearer {plain}",
    )
    assert response.status_code == 415
    assert response["Content-Type"] == PROBLEM_CONTENT_TYPE
    assert response.json()["title"] == (
        "The request body is in a format this operation does not read."
    )
    assert not Application.objects.exists()
