"""Demo applications for the demo applicant: one submitted, one draft half-way through.

Built through the real services (uploads validated, submission numbered and snapshotted),
so the demo shows exactly what a real applicant would have. Idempotent: an applicant who
already has applications is left alone.
"""

from __future__ import annotations

import io
import secrets
import uuid
from collections.abc import Sequence
from datetime import date, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from pypdf import PdfWriter

from accounts.demo import DEMO_DOMAIN, DemoSection
from accounts.models import User
from applications import services
from applications.models import ApplicantPath, Application, DegreeLevel, DocumentKind
from policy.models import Institution, StemField


def sample_pdf(name: str = "document.pdf") -> SimpleUploadedFile:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    # A distinct file each time: identical bytes on two applicants' files is an integrity flag.
    writer.add_metadata({"/Title": name, "/Subject": uuid.uuid4().hex})
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/pdf")


def sample_png(name: str = "photo.png", size: tuple[int, int] = (330, 480)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (225, 228, 232))
    image.putpixel((0, 0), tuple(secrets.token_bytes(3)))  # distinct bytes, as for PDFs
    image.save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _answers() -> dict[str, object]:
    today = timezone.localdate()
    return {
        "path": ApplicantPath.GRADUATE,
        "family_name": "Keller",
        "given_names": "Maria",
        "sex": "F",
        "date_of_birth": date(1995, 3, 14),
        "place_of_birth": "Zurich",
        "nationality": "CH",
        "passport_number": "X1234567",
        "passport_issuing_country": "CH",
        "passport_issue_date": date(2023, 2, 1),
        "passport_expiry_date": date(2033, 1, 31),
        "contact_email": f"applicant@{DEMO_DOMAIN}",
        "phone": "+41 44 668 18 00",
        "address_line": "Rämistrasse 101",
        "city": "Zurich",
        "postal_code": "8092",
        "country_of_residence": "CH",
        "years_experience": 4,
        "publications_count": 3,
        "patents_count": 1,
        "hsk_level": 2,
        "intended_activities": ["science", "entrepreneurship"],
        "planned_entry_date": today + timedelta(days=45),
        "planned_stay_days": 90,
        "previous_visits": False,
        "previous_refusals": False,
    }


def demo_applications_seed(*, applicant: User) -> list[Application]:
    if Application.objects.filter(applicant=applicant).exists():
        return list(Application.objects.filter(applicant=applicant))
    submitted = services.application_update(
        application=services.application_create(applicant=applicant), data=_answers()
    )
    degree = services.degree_save(
        application=submitted,
        degree=None,
        data={
            "level": DegreeLevel.MASTER,
            "field": StemField.objects.get(code="computer-science"),
            "institution": Institution.objects.get(name_en="ETH Zurich"),
            "country": "CH",
            "started_on": date(2017, 9, 15),
            "awarded_on": date(2020, 6, 30),
        },
    )
    for kind, upload, for_degree in (
        (DocumentKind.PASSPORT_BIO, sample_pdf("passport.pdf"), None),
        (DocumentKind.PHOTO, sample_png(), None),
        (DocumentKind.DEGREE_CERTIFICATE, sample_pdf("msc-certificate.pdf"), degree),
        (DocumentKind.TRANSCRIPT, sample_pdf("msc-transcript.pdf"), degree),
    ):
        services.document_add(
            application=submitted, kind=kind, upload=upload, actor=applicant, degree=for_degree
        )
    submitted = services.application_submit(
        application=submitted, actor=applicant, signature_name="Maria Keller"
    )
    draft = services.application_update(
        application=services.application_create(applicant=applicant),
        data={"path": ApplicantPath.RESEARCHER, "family_name": "Keller", "given_names": "Maria"},
    )
    return [submitted, draft]


def seed_demo() -> Sequence[DemoSection]:
    applicant = User.objects.get(email=f"applicant@{DEMO_DOMAIN}")
    applications = demo_applications_seed(applicant=applicant)
    return [
        DemoSection(
            title="Demo applications (applicant@demo.kvisa.test)",
            headers=("reference", "status"),
            rows=[(a.reference or "(draft)", a.status) for a in applications],
        )
    ]
