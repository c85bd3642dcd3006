"""Decision letters: the bilingual PDF, its storage, the email, and the sweeper's query.

Rendering a PDF takes most of a second, so only the two content tests render for real; the
tests of the issuing steps render a stand-in PDF.
"""

from __future__ import annotations

import io
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import segno
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from PIL import Image
from pypdf import PdfReader

from applications.demo import sample_pdf
from reviews import letters, services, tasks
from reviews.models import Letter, RefusalReason
from tests.reviews.decided import approve, claimed, refuse

pytestmark = pytest.mark.django_db

CHINESE_REFERENCE_LABEL = "申请编号"  # "Reference number" in the catalogue
CHINESE_NIGERIA = "尼日利亚"  # the nationality, named in Chinese by django-countries


def _pdf_text(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def _squeezed(text: str) -> str:
    """Text without whitespace: PDF extraction breaks lines where the layout did."""
    return re.sub(r"\s+", "", text)


def _font_names(reader: PdfReader) -> set[str]:
    names = set()
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font") or {}
        for font in fonts.values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


def _qr_matrix_from_png(image: Image.Image) -> list[list[bool]]:
    """Read the modules back from the embedded PNG: the centre pixel of each square."""
    gray = image.convert("L")
    scale, border = letters.QR_SCALE, letters.QR_BORDER
    size = gray.width // scale - 2 * border
    return [
        [
            gray.getpixel(((c + border) * scale + scale // 2, (r + border) * scale + scale // 2))
            < 128
            for c in range(size)
        ]
        for r in range(size)
    ]


@dataclass
class StandIn:
    pdf: bytes
    renders: list[int] = field(default_factory=list)


@pytest.fixture
def stand_in(monkeypatch) -> StandIn:
    """The issuing steps without the cost of WeasyPrint (rendering has its own tests above)."""
    stand_in = StandIn(pdf=sample_pdf().read())

    def render(*, decision):
        stand_in.renders.append(decision.pk)
        return stand_in.pdf

    monkeypatch.setattr(letters, "letter_render", render)
    return stand_in


# --- content ------------------------------------------------------------------------------------


def test_the_approval_letter_is_a_bilingual_pdf_with_the_visa_and_a_verification_qr(
    case, officer, settings
):
    settings.SITE_URL = "https://kvisa.example"
    decision = approve(case, officer, settings)
    visa = decision.visa

    pdf = letters.letter_render(decision=decision)

    assert pdf.startswith(b"%PDF-")
    reader, text = _pdf_text(pdf)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=1)  # A4 portrait
    flat = _squeezed(text)
    assert visa.number in flat
    assert case.reference in flat
    assert "Nigeria" in flat
    assert CHINESE_REFERENCE_LABEL in flat
    assert CHINESE_NIGERIA in flat
    assert "5678" in flat
    assert "A12345678" not in flat
    assert any("CJK" in name for name in _font_names(reader))
    url = "https://kvisa.example" + reverse("verify", args=[visa.verification_token])
    assert url in flat
    # The QR code, read back from the PDF's images, holds exactly the verification URL.
    expected = [[bool(m) for m in row] for row in segno.make(url, error="m").matrix]
    codes = [_qr_matrix_from_png(image.image) for page in reader.pages for image in page.images]
    assert codes
    assert all(code == expected for code in codes)


def test_the_refusal_letter_gives_every_reason_in_both_languages_and_the_review_route(
    case, officer, second_officer, settings
):
    settings.REVIEW_REQUEST_DAYS = 14
    decision = refuse(
        case,
        officer,
        second_officer,
        reason_codes=["criteria-not-met", "documents-not-genuine"],
        statement="The degree certificate's seal does not match the issuing university's.",
    )

    reader, text = _pdf_text(letters.letter_render(decision=decision))

    flat = _squeezed(text)
    reasons = RefusalReason.objects.filter(code__in=["criteria-not-met", "documents-not-genuine"])
    assert len(reasons) == 2
    for reason in reasons:
        assert _squeezed(reason.letter_text_en) in flat
        assert _squeezed(reason.letter_text_zh) in flat
    assert _squeezed("The degree certificate's seal does not match") in flat
    assert _squeezed("administrative review within 14 days of the date of this letter") in flat
    review_by = timezone.localdate() + timedelta(days=14)
    for language in ("en", "zh-hans"):
        with translation.override(language):
            assert _squeezed(date_format(review_by)) in flat
    assert case.reference in flat
    assert any("CJK" in name for name in _font_names(reader))
    for person in (officer, second_officer):
        assert _squeezed(person.full_name) not in flat
        assert person.email not in flat


def test_the_letter_html_names_no_officer_and_loads_nothing_from_outside(case, officer, settings):
    decision = approve(case, officer, settings)

    html = letters.letter_html(decision=decision)

    assert officer.full_name not in html
    assert officer.email not in html
    assert "A12345678" not in html
    assert 'lang="zh-Hans"' in html
    assert 'font-family: "Noto Sans CJK SC", "KVisa CJK", sans-serif' in html
    assert re.findall(r"(?:src|href)=\"(?!data:)", html) == []


def test_a_bundled_font_file_is_declared_only_when_it_exists(case, officer, settings, tmp_path):
    decision = approve(case, officer, settings)
    font = tmp_path / "NotoSansCJKsc-Regular.otf"
    settings.LETTER_CJK_FONT_FILE = str(font)

    assert "@font-face" not in letters.letter_html(decision=decision)

    font.write_bytes(b"not really a font")
    html = letters.letter_html(decision=decision)
    assert '@font-face { font-family: "KVisa CJK"; src: url("' + font.as_uri() + '"); }' in html


# --- issuing ------------------------------------------------------------------------------------


def test_issuing_stores_the_letter_and_emails_the_applicant_once(case, officer, settings, stand_in):
    settings.SITE_URL = "https://kvisa.example"
    decision = approve(case, officer, settings)

    first = letters.letter_issue(decision_id=decision.pk)
    second = letters.letter_issue(decision_id=decision.pk)

    assert first is not None
    assert second is not None
    assert second.pk == first.pk
    assert Letter.objects.filter(decision=decision).count() == 1
    assert stand_in.renders == [decision.pk]
    letter = Letter.objects.get(decision=decision)
    assert letter.kind == Letter.Kind.APPROVAL
    assert letter.application_id == case.pk
    assert letter.notified_at is not None
    assert letter.file.name.endswith(f"{case.reference}-approval.pdf")
    with letter.file.open("rb") as stored:
        assert stored.read() == stand_in.pdf
    assert letter.size == len(stand_in.pdf)
    assert len(letter.sha256) == 64

    assert len(mail.outbox) == 1
    (message,) = mail.outbox
    assert case.reference in message.subject
    assert set(message.to) == {case.applicant.email, case.contact_email}
    assert "approved" in message.body
    assert "https://kvisa.example" + reverse("applications:detail", args=[case.public_id]) in (
        message.body
    )
    assert message.attachments == []


def test_a_refusal_email_mentions_the_review(case, officer, second_officer, stand_in):
    decision = refuse(case, officer, second_officer, reason_codes=["criteria-not-met"])

    letter = letters.letter_issue(decision_id=decision.pk)

    assert letter is not None
    assert letter.kind == Letter.Kind.REFUSAL
    (message,) = mail.outbox
    assert "refused" in message.body
    assert "administrative review within 28 days" in message.body


def test_no_letter_for_a_decision_that_is_not_final(case, officer, stand_in):
    claimed(case, officer)
    decision = services.decision_make(
        application=case, officer=officer, outcome="refuse", reason_codes=["criteria-not-met"]
    )

    assert letters.letter_issue(decision_id=decision.pk) is None
    assert letters.letter_issue(decision_id=decision.pk + 10_000) is None
    assert not Letter.objects.exists()
    assert mail.outbox == []


def test_a_failed_email_leaves_the_letter_for_the_sweeper_which_sends_it(
    case, officer, settings, stand_in, monkeypatch
):
    decision = approve(case, officer, settings)

    def smtp_down(**kwargs):
        raise ConnectionError("SMTP unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(letters, "send_applicant_email", smtp_down)
        with pytest.raises(ConnectionError):
            letters.letter_issue(decision_id=decision.pk)
    letter = Letter.objects.get(decision=decision)
    assert letter.notified_at is None
    later = timezone.now() + timedelta(seconds=settings.LETTER_STUCK_AFTER_SECONDS + 1)
    assert letters.decisions_without_letter(now=later) == [decision.pk]

    letters.letter_issue(decision_id=decision.pk)  # the mail server is back

    letter.refresh_from_db()
    assert letter.notified_at is not None
    assert len(mail.outbox) == 1
    assert Letter.objects.count() == 1
    assert letters.decisions_without_letter(now=later) == []


def test_the_sweeper_finds_a_final_decision_without_a_letter_only_after_the_delay(
    case, officer, settings, stand_in
):
    settings.LETTER_STUCK_AFTER_SECONDS = 300
    decision = approve(case, officer, settings)
    final_at = decision.final_at

    assert letters.decisions_without_letter(now=final_at + timedelta(seconds=299)) == []
    assert letters.decisions_without_letter(now=final_at + timedelta(seconds=301)) == [decision.pk]
    assert letters.decisions_without_letter(now=final_at + timedelta(days=1), limit=0) == []
    # past the sweep window it is left to a person (the admin lists letters and decisions)
    beyond = final_at + timedelta(days=settings.LETTER_SWEEP_DAYS, seconds=1)
    assert letters.decisions_without_letter(now=beyond) == []

    letters.letter_issue(decision_id=decision.pk)
    assert letters.decisions_without_letter(now=final_at + timedelta(days=1)) == []


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_make_one_letter_and_one_email(
    case, officer, settings, stand_in, monkeypatch
):
    decision = approve(case, officer, settings)
    rendering = threading.Event()
    release = threading.Event()

    def slow_render(*, decision):
        rendering.set()
        assert release.wait(10)
        return stand_in.pdf

    monkeypatch.setattr(letters, "letter_render", slow_render)
    results: list[Letter | None] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(letters.letter_issue(decision_id=decision.pk))
        except BaseException as exc:  # reported below, in the test's own thread
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=run)
    first.start()
    assert rendering.wait(10)
    second = threading.Thread(target=run)
    second.start()
    time.sleep(0.3)  # the second run is now waiting on the decision's row lock
    assert second.is_alive()
    release.set()
    first.join(10)
    second.join(10)

    assert errors == []
    assert len(results) == 2
    assert Letter.objects.filter(decision=decision).count() == 1
    assert len(mail.outbox) == 1


# --- the tasks ----------------------------------------------------------------------------------


def test_the_task_issues_the_letter_and_the_sweeper_re_enqueues_a_stuck_one(
    case, officer, settings, stand_in, monkeypatch
):
    settings.LETTER_STUCK_AFTER_SECONDS = 0
    decision = approve(case, officer, settings)
    published: list[tuple] = []
    monkeypatch.setattr(
        tasks, "enqueue", lambda task, *args: published.append((task, args)) or True
    )

    assert tasks.letters_sweep() == 1
    assert published == [(tasks.letter_issue, (decision.pk,))]

    tasks.letter_issue(decision.pk)

    assert Letter.objects.get(decision=decision).notified_at is not None
    assert tasks.letters_sweep() == 0
