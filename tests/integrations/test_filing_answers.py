"""Filing on behalf stores what the web form would, and answers what it would: the rules that
read one section from another, the governed lists, and a statement count that does not grow
with the lists or the stored applications."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Scope
from accounts.services import api_client_create, api_token_issue
from applications.crypto import identifier_digest
from applications.models import Application, TimelineEvent
from integrations.filing_apis import EXAMPLE
from integrations.models import ApplicationFiling
from policy.models import Institution, StemField
from tests.factories import ApplicantFactory

pytestmark = pytest.mark.django_db

INVALID_CHOICE = "Select a valid choice. That choice is not one of the available choices."


@pytest.fixture
def auth():
    client = api_client_create(name="University of Lagos", scopes=[Scope.APPLICATIONS_SUBMIT])
    _token, plain = api_token_issue(user=client.user)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def _body(**changes: dict[str, Any]) -> dict[str, Any]:
    """EXAMPLE with some sections' fields changed (None removes the section)."""
    body = copy.deepcopy(EXAMPLE)
    for section, fields in changes.items():
        if fields is None:
            del body["sections"][section]
        else:
            body["sections"][section].update(fields)
    return body


def _file(client, auth, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(
        "/api/v1/applications/", body, content_type="application/json", **auth, **headers
    )


def _errors(client, auth, body) -> dict[str, list[str]]:
    response = _file(client, auth, body)
    assert response.status_code == 422, response.content
    assert not Application.objects.exists()
    return response.json()["errors"]


def test_a_filing_stores_every_answer_and_its_timeline(client, auth):
    response = _file(client, auth, EXAMPLE)
    assert response.status_code == 201, response.content
    application = Application.objects.get(public_id=response.json()["id"])
    assert application.path == "graduate"
    assert (application.family_name, application.given_names) == ("Okafor", "Amara")
    assert application.passport_number == "A12345678"
    assert application.passport_digest == identifier_digest(kind="passport:NG", value="A12345678")
    assert str(application.phone) == "+2348012345678"
    assert application.contact_email == "a.okafor@example.edu"
    assert (application.years_experience, application.publications_count) == (3, 2)
    assert application.hsk_level == 3
    assert application.intended_activities == ["science"]
    assert application.planned_stay_days == 90
    assert application.previous_visits is False
    (degree,) = application.degrees.all()
    assert (degree.level, degree.field.code) == ("master", "computer-science")
    assert degree.institution.name_en == "University of Lagos"
    assert degree.documents_in_zh_or_en is True
    filing = ApplicationFiling.objects.get(application=application)
    events = list(TimelineEvent.objects.filter(application=application).order_by("pk"))
    assert [(e.kind, e.actor, e.to_status, e.data) for e in events] == [
        ("created", application.applicant, "draft", {}),
        ("filed_by_client", filing.client.user, "", {"client": "University of Lagos"}),
    ]


def test_several_degrees_are_stored_in_their_order(client, auth):
    body = copy.deepcopy(EXAMPLE)
    second = {**body["degrees"][0], "level": "bachelor", "institution": ""}
    second |= {"institution_other": "Lagos Polytechnic", "started_on": "2013-09-01"}
    second |= {"awarded_on": "2017-06-30", "documents_in_zh_or_en": False}
    body["degrees"].append(second)
    assert _file(client, auth, body).status_code == 201
    degrees = list(Application.objects.get().degrees.order_by("pk"))
    assert [(d.level, d.institution_id is None, d.documents_in_zh_or_en) for d in degrees] == [
        ("master", False, True),
        ("bachelor", True, False),
    ]
    assert degrees[1].institution_other == "Lagos Polytechnic"


def test_the_passport_is_checked_against_the_date_of_birth(client, auth):
    body = _body(passport={"passport_issue_date": "1995-01-10"})
    assert _errors(client, auth, body) == {
        "passport.passport_issue_date": ["The date of issue is before your date of birth."]
    }


def test_a_refused_section_still_lends_its_valid_answers_to_the_next(client, auth):
    body = _body(personal={"family_name": ""}, passport={"passport_issue_date": "1995-01-10"})
    assert _errors(client, auth, body) == {
        "personal.family_name": ["This field is required."],
        "passport.passport_issue_date": ["The date of issue is before your date of birth."],
    }


def test_the_stay_is_checked_against_the_passports_expiry(client, auth):
    body = _body(passport={"passport_expiry_date": "2027-03-15"})
    assert _errors(client, auth, body) == {
        "travel.planned_stay_days": [
            "Your passport expires on 2027-03-15, before this stay would end."
        ]
    }


def test_a_valid_section_in_between_forgets_what_a_refused_one_left(client, auth):
    # The refused passport's expiry is not the application's: the valid contact section after
    # it starts again from the saved answers, so the stay is not checked against it.
    body = _body(passport={"passport_number": "!", "passport_expiry_date": "2027-03-15"})
    assert set(_errors(client, auth, body)) == {"passport.passport_number"}


def test_refused_sections_in_between_keep_what_a_refused_one_left(client, auth):
    body = _body(
        passport={"passport_number": "!", "passport_expiry_date": "2027-03-15"},
        contact=None,
        post={"years_experience": 99},
        language={"hsk_level": 12},
    )
    errors = _errors(client, auth, body)
    assert set(errors) == {
        "passport.passport_number",
        "contact",
        "post.years_experience",
        "language.hsk_level",
        "travel.planned_stay_days",
    }
    assert errors["contact"] == ["This section is required."]
    assert errors["travel.planned_stay_days"] == [
        "Your passport expires on 2027-03-15, before this stay would end."
    ]


def test_the_researcher_route_needs_the_post(client, auth):
    errors = _errors(client, auth, _body(path={"path": "researcher"}))
    assert set(errors) == {
        "post.employer_name",
        "post.job_title",
        "post.post_is_stem_teaching_research",
        "post.post_field",
        "post.post_since",
    }
    assert errors["post.employer_name"] == ["This field is required."]


def test_a_researchers_post_names_governed_rows(client, auth):
    post = {
        "employer_name": "University of Lagos",
        "employer_institution": "University of Lagos",
        "job_title": "Lecturer",
        "post_is_stem_teaching_research": True,
        "post_field": "computer-science",
        "post_since": "2022-09-01",
    }
    response = _file(client, auth, _body(path={"path": "researcher"}, post=post))
    assert response.status_code == 201, response.content
    application = Application.objects.get()
    assert application.employer_institution.name_en == "University of Lagos"
    assert application.post_field.code == "computer-science"
    unknown = {"post_field": "astrology", "employer_institution": "Nowhere"}
    refused = _body(path={"path": "researcher"}, post={**post, **unknown})
    refused["applicant_email"] = "other@example.edu"
    errors = _file(client, auth, refused).json()["errors"]
    assert errors == {
        "post.post_field": [INVALID_CHOICE],
        "post.employer_institution": [INVALID_CHOICE],
    }


def test_governed_lists_refuse_unknown_and_retired_rows(client, auth):
    Institution.objects.filter(name_en="University of Lagos").update(is_active=False)
    body = copy.deepcopy(EXAMPLE)
    body["degrees"].append({**body["degrees"][0], "institution": "Nowhere University"})
    body["degrees"].append({**body["degrees"][0], "field": "astrology"})
    refused = [INVALID_CHOICE, "Choose your institution or type its name."]
    assert _errors(client, auth, body) == {
        "degrees.0.institution": refused,
        "degrees.1.institution": refused,
        "degrees.2.institution": refused,
        "degrees.2.field": [INVALID_CHOICE],
    }


def test_a_degree_names_a_listed_institution_or_another_not_both(client, auth):
    body = copy.deepcopy(EXAMPLE)
    body["degrees"][0]["institution_other"] = "Lagos Polytechnic"
    assert _errors(client, auth, body) == {
        "degrees.0.institution_other": [
            "Choose an institution from the list or type one, not both."
        ]
    }


def _count(client, auth, body, key) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert _file(client, auth, body, key=key).status_code == 201
    return len(queries)


def test_a_filing_costs_the_same_statements_however_big_the_lists_and_the_store(client, auth):
    body = copy.deepcopy(EXAMPLE)
    _file(client, auth, {**body, "applicant_email": "warm@example.edu"}, key="warm")
    small = _count(client, auth, {**body, "applicant_email": "one@example.edu"}, key="one")
    StemField.objects.bulk_create(
        StemField(code=f"field-{i}", name_en=f"Field {i}", name_zh="", discipline="x")
        for i in range(200)
    )
    Institution.objects.bulk_create(
        Institution(name_en=f"Institution {i}", name_zh="", country="NG") for i in range(200)
    )
    for i in range(20):
        _file(client, auth, {**body, "applicant_email": f"p{i}@example.edu"})
    ApplicantFactory.create_batch(5)
    assert _count(client, auth, {**body, "applicant_email": "two@example.edu"}, key="two") == small


@pytest.mark.django_db(transaction=True)  # as in production: no test transaction around it
def test_a_filing_is_a_fixed_number_of_statements(client, auth, django_assert_num_queries):
    _file(client, auth, {**EXAMPLE, "applicant_email": "warm@example.edu"}, key="warm")
    body = {**EXAMPLE, "applicant_email": "new@example.edu"}
    # 79 before issue 7's work; the token (with its user and client) and one INSERT claiming
    # the key included
    with django_assert_num_queries(29):
        assert _file(client, auth, body, key="k").status_code == 201
