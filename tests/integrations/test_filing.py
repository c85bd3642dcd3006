"""applications:submit: an institution files for its people; only the applicant's signature
submits; the institution then follows the case (cases:read) and its events."""

from __future__ import annotations

import copy
import re
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.models import Scope, User
from accounts.services import api_client_create, api_token_issue
from applications.models import Application, Status
from integrations.filing_apis import EXAMPLE
from ops.models import OutboxEvent
from tests.applications.conftest import pdf_bytes, png_bytes
from tests.factories import OfficerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def university(media_root):
    client = api_client_create(
        name="University of Lagos", scopes=[Scope.APPLICATIONS_SUBMIT, Scope.CASES_READ]
    )
    _token, plain = api_token_issue(user=client.user)
    return client, {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def _file(client, auth, body=None):
    return client.post(
        "/api/v1/applications/", body or EXAMPLE, content_type="application/json", **auth
    )


def _upload(client, auth, application_id, kind, name, content, degree=None):
    data = {"kind": kind, "file": SimpleUploadedFile(name, content)}
    if degree is not None:
        data["degree"] = degree
    return client.post(f"/api/v1/applications/{application_id}/documents/", data, **auth)


def test_an_institution_files_and_only_the_applicants_signature_submits(
    client, university, mailoutbox, django_capture_on_commit_callbacks
):
    _api_client, auth = university
    created = _file(client, auth)
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["status"] == "draft"
    assert body["reference"] is None
    assert {m["step"] for m in body["missing"]} == {"documents"}
    applicant = User.objects.get(email="a.okafor@example.edu")
    assert not applicant.has_usable_password()
    application = Application.objects.get(public_id=body["id"])
    assert application.applicant == applicant

    # not complete yet: the invitation lists what is missing
    early = client.post(f"/api/v1/applications/{body['id']}/invitation/", **auth)
    assert early.status_code == 422
    for kind, name, content, degree in (
        ("passport_bio", "passport.pdf", pdf_bytes(), None),
        ("photo", "photo.png", png_bytes((300, 400)), None),
        ("degree_certificate", "degree.pdf", pdf_bytes(), 0),
        ("transcript", "transcript.pdf", pdf_bytes(), 0),
    ):
        assert _upload(client, auth, body["id"], kind, name, content, degree).status_code == 201

    with django_capture_on_commit_callbacks(execute=True):
        invited = client.post(f"/api/v1/applications/{body['id']}/invitation/", **auth)
    assert invited.status_code == 202, invited.json()["errors"]
    (mail,) = [m for m in mailoutbox if applicant.email in m.to]
    link = re.search(r"https?://\S+/applications/confirm/\S+/", mail.body).group(0)
    application.refresh_from_db()
    assert application.status == Status.DRAFT  # nothing is submitted by the institution

    # the applicant follows the link, sets a password, and signs
    path = urlsplit(link).path
    page = client.get(path)
    assert page.status_code == 200
    assert "University of Lagos" in page.content.decode()
    form = client.post(
        path,
        {"new_password1": "a-long-Passphrase-42", "new_password2": "a-long-Passphrase-42"},
    )
    review = reverse("applications:review", args=[application.public_id])
    assert form.status_code == 302
    assert form.url == review
    applicant.refresh_from_db()
    assert applicant.emailaddress_set.get().verified
    from applications import services as app_services

    app_services.application_submit(
        application=application, actor=applicant, signature_name="Amara Okafor"
    )
    assert OutboxEvent.objects.filter(type="application.submitted").count() == 1
    followed = client.get(f"/api/v1/applications/{body['id']}/", **auth).json()
    assert followed["status"] == "submitted"
    assert followed["reference"]
    assert (
        client.get("/api/v1/cases/", **auth).json()["results"][0]["reference"]
        == followed["reference"]
    )


def test_invalid_answers_come_back_per_field_and_nothing_is_kept(client, university):
    _client, auth = university
    body = copy.deepcopy(EXAMPLE)
    body["sections"]["personal"]["date_of_birth"] = "2030-01-01"
    body["sections"]["passport"]["passport_number"] = "!"
    body["degrees"][0]["field"] = "astrology"
    response = _file(client, auth, body)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {"personal.date_of_birth", "passport.passport_number", "degrees.0.field"} <= set(errors)
    assert not Application.objects.exists()
    assert not User.objects.filter(email="a.okafor@example.edu").exists()


def test_an_officers_address_cannot_be_filed_for(client, university):
    _client, auth = university
    officer = OfficerFactory()
    body = {**EXAMPLE, "applicant_email": officer.email}
    assert _file(client, auth, body).status_code == 422


def test_filing_needs_the_scope_and_clients_see_only_their_own(client, university):
    _client, auth = university
    created = _file(client, auth).json()
    other = api_client_create(name="Other", scopes=[Scope.APPLICATIONS_SUBMIT])
    _t, plain = api_token_issue(user=other.user)
    other_auth = {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
    assert client.get(f"/api/v1/applications/{created['id']}/", **other_auth).status_code == 404
    reader = api_client_create(name="Reader", scopes=[Scope.CASES_READ])
    _t, plain = api_token_issue(user=reader.user)
    assert _file(client, {"HTTP_AUTHORIZATION": f"Bearer {plain}"}).status_code == 403


def test_a_forged_link_does_nothing_and_a_known_applicant_signs_in_first(client, university):
    assert client.get("/applications/confirm/not-a-token/").status_code == 400
    from applications.confirmation import confirmation_token
    from tests.factories import ApplicantFactory

    person = ApplicantFactory(email="a.okafor@example.edu")
    _client, auth = university
    created = _file(client, auth).json()
    application = Application.objects.get(public_id=created["id"])
    assert application.applicant == person  # their existing account, not a second one
    response = client.get(f"/applications/confirm/{confirmation_token(application)}/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))
