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


def _submit_demo_case(
    *, applicant: User, answers: dict[str, object], degree: dict[str, object], signature: str
) -> Application:
    """One complete application, submitted through the real services."""
    application = services.application_update(
        application=services.application_create(applicant=applicant), data=answers
    )
    saved_degree = services.degree_save(
        application=application,
        degree=None,
        data={
            "level": degree["level"],
            "field": StemField.objects.get(code=degree["field"]),
            "institution": Institution.objects.get(name_en=degree["institution"]),
            "country": degree["country"],
            "started_on": degree["started_on"],
            "awarded_on": degree["awarded_on"],
        },
    )
    for kind, upload, for_degree in (
        (DocumentKind.PASSPORT_BIO, sample_pdf("passport.pdf"), None),
        (DocumentKind.PHOTO, sample_png(), None),
        (DocumentKind.DEGREE_CERTIFICATE, sample_pdf("degree-certificate.pdf"), saved_degree),
        (DocumentKind.TRANSCRIPT, sample_pdf("transcript.pdf"), saved_degree),
    ):
        services.document_add(
            application=application, kind=kind, upload=upload, actor=applicant, degree=for_degree
        )
    return services.application_submit(
        application=application, actor=applicant, signature_name=signature
    )


def demo_applications_seed(*, applicant: User) -> list[Application]:
    if Application.objects.filter(applicant=applicant).exists():
        return list(Application.objects.filter(applicant=applicant))
    submitted = _submit_demo_case(
        applicant=applicant,
        answers=_answers(),
        degree={
            "level": DegreeLevel.MASTER,
            "field": "computer-science",
            "institution": "ETH Zurich",
            "country": "CH",
            "started_on": date(2017, 9, 15),
            "awarded_on": date(2020, 6, 30),
        },
        signature="Maria Keller",
    )
    draft = services.application_update(
        application=services.application_create(applicant=applicant),
        data={"path": ApplicantPath.RESEARCHER, "family_name": "Keller", "given_names": "Maria"},
    )
    return [submitted, draft]


# Other people's cases, so the officers' queues have work in them. These applicants cannot
# sign in (no password); only the officer side sees them.
OTHER_APPLICANTS: tuple[tuple[str, dict[str, object], dict[str, object]], ...] = (
    (
        "Arjun Mehta",
        {
            "nationality": "IN",
            "passport_number": "Z7654321",
            "date_of_birth": date(1993, 8, 2),
            "sex": "M",
            "place_of_birth": "Pune",
            "city": "Bengaluru",
            "years_experience": 7,
            "publications_count": 9,
            "hsk_level": None,
        },
        {
            "level": DegreeLevel.DOCTORATE,
            "field": "artificial-intelligence",
            "institution": "Indian Institute of Science",
            "country": "IN",
            "started_on": date(2015, 8, 1),
            "awarded_on": date(2020, 12, 15),
        },
    ),
    (
        "Yuki Tanaka",
        {
            "nationality": "JP",
            "passport_number": "TK1029384",
            "date_of_birth": date(1998, 1, 21),
            "sex": "F",
            "place_of_birth": "Osaka",
            "city": "Tokyo",
            "years_experience": 2,
            "publications_count": 1,
            "patents_count": 0,
            "hsk_level": 4,
        },
        {
            "level": DegreeLevel.BACHELOR,
            "field": "mechanical-engineering",
            "institution": "University of Tokyo",
            "country": "JP",
            "started_on": date(2016, 4, 1),
            "awarded_on": date(2020, 3, 25),
        },
    ),
    (
        "Lucas Oliveira",
        {
            "nationality": "BR",
            "passport_number": "GB5566778",
            "date_of_birth": date(1990, 11, 5),
            "sex": "M",
            "place_of_birth": "Campinas",
            "city": "São Paulo",
            "years_experience": 10,
            "publications_count": 14,
            "patents_count": 2,
            "hsk_level": None,
        },
        {
            "level": DegreeLevel.MASTER,
            "field": "materials-science",
            "institution": "University of São Paulo",
            "country": "BR",
            "started_on": date(2012, 3, 1),
            "awarded_on": date(2014, 12, 10),
        },
    ),
)


def other_applications_seed() -> list[Application]:
    made = []
    for index, (name, changes, degree) in enumerate(OTHER_APPLICANTS, start=2):
        email = f"applicant{index}@{DEMO_DOMAIN}"
        if User.objects.filter(email=email).exists():
            continue
        applicant = User.objects.create_user(email, None, full_name=name)
        given, family = name.split(" ", 1)
        answers = {
            **_answers(),
            "family_name": family,
            "given_names": given,
            "contact_email": email,
            "passport_issuing_country": changes["nationality"],
            "country_of_residence": changes["nationality"],
            **changes,
        }
        made.append(
            _submit_demo_case(applicant=applicant, answers=answers, degree=degree, signature=name)
        )
    return made


def seed_demo() -> Sequence[DemoSection]:
    applicant = User.objects.get(email=f"applicant@{DEMO_DOMAIN}")
    applications = demo_applications_seed(applicant=applicant)
    applications += other_applications_seed()
    return [
        DemoSection(
            title="Demo applications (applicant@demo.kvisa.test and three other applicants)",
            headers=("reference", "status"),
            rows=[(a.reference or "(draft)", a.status) for a in applications],
        )
    ]
