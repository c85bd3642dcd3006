from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.models import Application, EvidenceRequest, Status
from policy.models import Institution, StemField
from tests.applications.conftest import pdf_bytes, png_bytes
from tests.factories import ApplicantFactory, OfficerFactory

pytestmark = pytest.mark.django_db


def step_url(application, step):
    return reverse("applications:step", args=[application.public_id, step])


def owner_routes(application, document, evidence):
    """Every applicant URL that belongs to one application, with its method."""
    pid = application.public_id
    return [
        ("get", reverse("applications:detail", args=[pid])),
        *[
            ("get", step_url(application, s))
            for s in (
                "path",
                "personal",
                "passport",
                "contact",
                "education",
                "career",
                "language",
                "travel",
                "documents",
            )
        ],
        ("post", step_url(application, "personal")),
        ("get", reverse("applications:review", args=[pid])),
        ("post", reverse("applications:review", args=[pid])),
        ("get", reverse("applications:submitted", args=[pid])),
        ("get", reverse("applications:withdraw", args=[pid])),
        ("post", reverse("applications:withdraw", args=[pid])),
        ("get", reverse("applications:document", args=[pid, document.public_id])),
        ("post", reverse("applications:document_delete", args=[pid, document.public_id])),
        ("get", reverse("applications:evidence", args=[pid, evidence.public_id])),
        ("post", reverse("applications:evidence", args=[pid, evidence.public_id])),
    ]


@pytest.fixture
def evidence(draft):
    return EvidenceRequest.objects.create(
        application=draft,
        requested_by=OfficerFactory(),
        message="Send your transcript",
        due_at=draft.created_at + timedelta(days=30),
    )


def test_another_applicant_gets_404_on_every_route(client, draft, evidence):
    client.force_login(ApplicantFactory())
    for method, url in owner_routes(draft, draft.documents.first(), evidence):
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url, response.status_code)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT
    assert draft.documents.count() == 4


def test_anonymous_users_are_sent_to_login_everywhere(client, draft, evidence):
    routes = [
        *owner_routes(draft, draft.documents.first(), evidence),
        ("get", reverse("applications:dashboard")),
        ("post", reverse("applications:start")),
        ("get", reverse("applications:export")),
    ]
    for method, url in routes:
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith(reverse("account_login")), url


def test_export_contains_only_the_users_own_data(client, draft):
    other = services.application_create(applicant=ApplicantFactory())
    client.force_login(draft.applicant)
    response = client.get(reverse("applications:export"))
    assert response.status_code == 200
    data = response.json()
    assert [a["id"] for a in data["applications"]] == [str(draft.public_id)]
    assert str(other.public_id) not in response.content.decode()
    assert "A12345678" not in response.content.decode()


def test_owner_downloads_document_as_attachment(client, draft):
    document = draft.documents.get(kind="passport_bio")
    client.force_login(draft.applicant)
    response = client.get(
        reverse("applications:document", args=[draft.public_id, document.public_id])
    )
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_dashboard_runs_a_fixed_number_of_queries(client, django_assert_num_queries, media_root):
    applicant = ApplicantFactory()
    client.force_login(applicant)
    services.application_create(applicant=applicant)
    client.get(reverse("applications:dashboard"))  # warm the session and caches
    # session, user, roles (one query), applications (with their visa), their decision letters
    with django_assert_num_queries(4) as first:
        client.get(reverse("applications:dashboard"))
    for _ in range(5):
        services.application_create(applicant=applicant)
    with django_assert_num_queries(len(first.captured_queries)):
        response = client.get(reverse("applications:dashboard"))
    assert response.content.decode().count("Draft (no reference yet)") == 6


def test_the_whole_journey_through_the_pages(client, media_root):
    applicant = ApplicantFactory(full_name="Lena Fischer")
    client.force_login(applicant)
    response = client.post(reverse("applications:start"))
    application = Application.objects.get(applicant=applicant)
    assert response["Location"] == step_url(application, "path")

    def post(step, data, expect_next=True):
        response = client.post(step_url(application, step), data)
        assert response.status_code == 302, (
            response.context["form"].errors if response.context else response
        )
        return response

    post("path", {"path": "researcher"})
    post(
        "personal",
        {
            "family_name": "Fischer",
            "given_names": "Lena",
            "sex": "F",
            "date_of_birth": "1993-02-01",
            "place_of_birth": "Leipzig",
            "nationality": "DE",
        },
    )
    post(
        "passport",
        {
            "passport_number": "c01x00t47",
            "passport_issuing_country": "DE",
            "passport_issue_date": "2021-05-01",
            "passport_expiry_date": str(
                timezone.localdate().replace(year=timezone.localdate().year + 6)
            ),
        },
    )
    post(
        "contact",
        {
            "contact_email": "lena@example.test",
            "phone": "+49 30 901820",
            "address_line": "Unter den Linden 6",
            "city": "Berlin",
            "country_of_residence": "DE",
        },
    )
    field = StemField.objects.get(code="physics")
    institution = Institution.objects.get(name_en="Max Planck Society")
    client.post(
        step_url(application, "education"),
        {
            "level": "doctorate",
            "field": field.pk,
            "institution": Institution.objects.get(name_en="Technical University of Munich").pk,
            "country": "DE",
            "started_on": "2016-10-01",
            "awarded_on": "2020-09-30",
            "documents_in_zh_or_en": "",
            "save_degree": "1",
        },
    )
    assert application.degrees.count() == 1
    post("education", {"continue": "1"})
    post(
        "career",
        {
            "employer_name": "Max Planck Institute for Quantum Optics",
            "employer_institution": institution.pk,
            "job_title": "Postdoctoral researcher",
            "post_is_stem_teaching_research": "True",
            "post_field": field.pk,
            "post_since": "2021-01-01",
            "years_experience": "5",
            "publications_count": "9",
            "patents_count": "1",
        },
    )
    post("language", {"hsk_level": "2"})
    post(
        "travel",
        {
            "intended_activities": ["science", "education"],
            "planned_entry_date": str(timezone.localdate() + timedelta(days=40)),
            "planned_stay_days": "120",
            "previous_visits": "False",
            "previous_refusals": "False",
        },
    )
    application.refresh_from_db()
    assert application.passport_number == "C01X00T47"
    degree = application.degrees.get()
    uploads = [
        ("passport_bio", None, "passport.pdf", pdf_bytes()),
        ("photo", None, "me.png", png_bytes()),
        ("degree_certificate", degree.pk, "phd.pdf", pdf_bytes()),
        ("translation", degree.pk, "tr.pdf", pdf_bytes()),
        ("post_proof", None, "contract.pdf", pdf_bytes()),
    ]
    for kind, degree_id, name, content in uploads:
        data = {"kind": kind, "file": SimpleUploadedFile(name, content)}
        if degree_id:
            data["degree"] = degree_id
        assert client.post(step_url(application, "documents"), data).status_code == 302
    review = client.get(reverse("applications:review", args=[application.public_id]))
    assert review.context["missing"] == [], review.context["missing"]
    assert "Max Planck Institute for Quantum Optics" in review.content.decode()
    response = client.post(
        reverse("applications:review", args=[application.public_id]),
        {
            "declare_true": "on",
            "declare_documents": "on",
            "declare_consent": "on",
            "signature_name": "Lena Fischer",
        },
    )
    assert response["Location"] == reverse("applications:submitted", args=[application.public_id])
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    page = client.get(response["Location"])
    assert application.reference in page.content.decode()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"date_of_birth": "2031-01-01"}, "date_of_birth", "must be in the past"),
        ({"date_of_birth": "1990-02-30"}, "date_of_birth", "Enter a valid date"),
        ({"date_of_birth": "not a date"}, "date_of_birth", "Enter a valid date"),
        ({"date_of_birth": "1890-01-01"}, "date_of_birth", "more than 100 years ago"),
    ],
)
def test_bad_dates_are_explained_and_nothing_saved_is_lost(client, draft, data, field, message):
    client.force_login(draft.applicant)
    payload = {
        "family_name": "Changed",
        "given_names": "Amara Chidi",
        "sex": "F",
        "date_of_birth": "1996-04-12",
        "place_of_birth": "Lagos",
        "nationality": "NG",
        **data,
    }
    response = client.post(step_url(draft, "personal"), payload)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    draft.refresh_from_db()
    assert draft.family_name == "Okafor"
    assert draft.date_of_birth == date(1996, 4, 12)


def test_passport_expiring_before_the_stay_is_refused_on_the_passport_page(client, draft):
    client.force_login(draft.applicant)
    expiry = draft.planned_entry_date + timedelta(days=10)
    response = client.post(
        step_url(draft, "passport"),
        {
            "passport_number": "A12345678",
            "passport_issuing_country": "NG",
            "passport_issue_date": "2022-01-10",
            "passport_expiry_date": expiry.isoformat(),
        },
    )
    assert response.status_code == 200
    assert "expires before your planned stay ends" in " ".join(
        response.context["form"].errors["passport_expiry_date"]
    )
    draft.refresh_from_db()
    assert draft.passport_expiry_date != expiry


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("cv.pdf", b"<html><script>alert(1)</script></html>", "not of an accepted type"),
        ("empty.pdf", b"", "empty"),
        ("photo.png", png_bytes() + b"<html><script>alert(1)</script></html>", ""),
    ],
)
def test_bad_uploads_are_refused_with_a_message_and_the_old_file_kept(
    client, draft, name, content, message
):
    client.force_login(draft.applicant)
    before = draft.documents.get(kind="passport_bio")
    response = client.post(
        step_url(draft, "documents"),
        {"kind": "passport_bio", "file": SimpleUploadedFile(name, content)},
    )
    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"]]
    assert errors
    assert all(m for m in errors)
    if message:
        assert any(message.lower() in m.lower() for m in errors), errors
    assert draft.documents.get(kind="passport_bio").pk == before.pk


def test_oversized_upload_is_refused(client, draft, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    client.force_login(draft.applicant)
    response = client.post(
        step_url(draft, "documents"),
        {"kind": "photo", "file": SimpleUploadedFile("big.png", png_bytes((400, 400)))},
    )
    assert response.status_code == 200
    assert any(
        "larger" in str(m).lower() or "too large" in str(m).lower()
        for m in response.context["messages"]
    )


def test_path_characters_in_a_file_name_never_reach_storage(client, draft):
    client.force_login(draft.applicant)
    client.post(
        step_url(draft, "documents"),
        {"kind": "passport_bio", "file": SimpleUploadedFile("../../etc/passwd.pdf", pdf_bytes())},
    )
    document = draft.documents.get(kind="passport_bio")
    assert "/" not in document.original_name
    assert ".." not in document.original_name
    assert document.file.name.startswith("documents/")
    assert "passwd" not in document.file.name


def test_public_status_lookup_answers_alike_for_unknown_and_wrong_passport(client, submitted):
    url = reverse("status_lookup")
    good = client.post(
        url,
        {
            "reference": submitted.reference.lower().replace("-", " "),
            "passport_number": "a12345678",
        },
    )
    assert good.context["result"].pk == submitted.pk
    assert "Okafor" not in good.content.decode()  # status and dates only
    wrong = client.post(url, {"reference": submitted.reference, "passport_number": "B99999999"})
    unknown = client.post(url, {"reference": "KV-2026-9999999-0", "passport_number": "A12345678"})
    assert wrong.context["result"] is None
    assert unknown.context["result"] is None
    assert wrong.context["not_found"]
    assert unknown.context["not_found"]


def test_public_status_lookup_is_rate_limited(client, submitted, settings):
    from django.core.cache import cache

    cache.clear()
    settings.STATUS_LOOKUP_RATE = 3
    url = reverse("status_lookup")
    codes = [
        client.post(
            url, {"reference": submitted.reference, "passport_number": "X1234567"}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]


@pytest.mark.parametrize("passport", ["--", "a:b", "   "])
def test_public_status_lookup_survives_odd_passport_input(client, submitted, passport):
    response = client.post(
        reverse("status_lookup"), {"reference": submitted.reference, "passport_number": passport}
    )
    assert response.status_code == 200
    assert response.context["result"] is None
