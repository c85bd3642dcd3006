"""Builders for applications in every state, through the real services."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from applications import services
from applications.demo import sample_pdf, sample_png
from applications.models import ApplicantPath, Application, DegreeLevel, DocumentKind
from policy.models import Institution, StemField
from tests.factories import ApplicantFactory


def pdf_bytes() -> bytes:
    return sample_pdf().read()


def png_bytes(size: tuple[int, int] = (60, 80)) -> bytes:
    return sample_png(size=size).read()


def pdf_upload(name: str = "document.pdf") -> SimpleUploadedFile:
    return sample_pdf(name)


def png_upload(name: str = "photo.png") -> SimpleUploadedFile:
    return sample_png(name, size=(60, 80))


ANSWERS = {
    "path": ApplicantPath.GRADUATE,
    "family_name": "Okafor",
    "given_names": "Amara Chidi",
    "native_name": "",
    "sex": "F",
    "date_of_birth": date(1996, 4, 12),
    "place_of_birth": "Lagos",
    "nationality": "NG",
    "passport_number": "A12345678",
    "passport_issuing_country": "NG",
    "passport_issue_date": date(2022, 1, 10),
    "passport_expiry_date": timezone.localdate() + timedelta(days=5 * 365),
    "contact_email": "amara@example.test",
    "phone": "+2348012345678",
    "address_line": "12 Marina Road",
    "city": "Lagos",
    "postal_code": "101001",
    "country_of_residence": "NG",
    "years_experience": 3,
    "publications_count": 2,
    "patents_count": 0,
    "hsk_level": 3,
    "intended_activities": ["science", "entrepreneurship"],
    "planned_entry_date": timezone.localdate() + timedelta(days=60),
    "planned_stay_days": 90,
    "previous_visits": False,
    "previous_refusals": False,
}


def complete_draft(applicant=None) -> Application:
    """A draft with every section and document filled in, ready to submit."""
    applicant = applicant or ApplicantFactory()
    application = services.application_create(applicant=applicant)
    application = services.application_update(application=application, data=ANSWERS)
    degree = services.degree_save(
        application=application,
        degree=None,
        data={
            "level": DegreeLevel.MASTER,
            "field": StemField.objects.get(code="computer-science"),
            "institution": Institution.objects.get(name_en="University of Lagos"),
            "country": "NG",
            "started_on": date(2017, 9, 1),
            "awarded_on": date(2021, 7, 1),
        },
    )
    services.document_add(
        application=application,
        kind=DocumentKind.PASSPORT_BIO,
        upload=pdf_upload(),
        actor=applicant,
    )
    services.document_add(
        application=application, kind=DocumentKind.PHOTO, upload=png_upload(), actor=applicant
    )
    for kind in (DocumentKind.DEGREE_CERTIFICATE, DocumentKind.TRANSCRIPT):
        services.document_add(
            application=application, kind=kind, upload=pdf_upload(), actor=applicant, degree=degree
        )
    return Application.objects.get(pk=application.pk)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def draft(db, media_root) -> Application:
    return complete_draft()


def submit(application: Application) -> Application:
    """Submit as the applicant, signing with the full name as the form requires."""
    return services.application_submit(
        application=application, actor=application.applicant, signature_name=application.full_name
    )


@pytest.fixture
def submitted(draft, django_capture_on_commit_callbacks) -> Application:
    """A submitted application whose after-commit task was not run (nothing screened yet)."""
    with django_capture_on_commit_callbacks(execute=False):
        return submit(draft)
