"""Decision letters: a bilingual A4 PDF for every final decision, stored privately, and the
email that tells the applicant it is ready.

`letter_issue` runs in a Celery task after the decision commits, and again from the sweeper
for any decision still without a notified letter, so it must be safe to run twice, at once or
after a crash:

1. under a lock on the decision row: render, store, create the Letter (one-to-one with the
   decision), commit;
2. under a lock on the letter row: email the applicant, set notified_at, commit.

A crash after 1 leaves a letter with notified_at NULL, which the sweeper finds: the email is
late, never lost. A crash between sending and committing 2 sends the email again. Two
concurrent runs queue on the locks, and the second finds the work done.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import segno
import weasyprint
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from applications.notifications import send_applicant_email
from reviews.models import Decision, Letter, Visa

# Each letter carries both languages, English first, each from the translation catalogue.
LETTER_LANGUAGES = (("en", "en"), ("zh-hans", "zh-Hans"))  # (Django code, HTML lang)
QR_SCALE = 8  # pixels per module of the embedded PNG
QR_BORDER = 4  # the quiet zone the QR standard asks for, in modules


def verification_url(visa: Visa) -> str:
    """The public page a border officer or host institution reaches from the QR code."""
    return settings.SITE_URL + reverse("verify", args=[visa.verification_token])


def _qr_data_uri(url: str) -> str:
    # A PNG rather than SVG: WeasyPrint embeds it as one image, which a test can read back.
    qr = segno.make(url, error="m", micro=False)
    return str(qr.png_data_uri(scale=QR_SCALE, border=QR_BORDER))


def _passport_tail(number: str) -> str:
    """At most the last four characters, and never more than half of the number."""
    return number[-min(4, len(number) // 2) :] if len(number) >= 2 else ""


class _LetterFetcher(weasyprint.URLFetcher):
    """The letter loads nothing but its own data: URIs and the configured font file, so no
    text that ends up in a letter can make the worker fetch a URL or read another file."""

    def __init__(self, font_url: str | None) -> None:
        super().__init__(allowed_protocols={"data", "file"}, allow_redirects=False)
        self._font_url = font_url

    def fetch(self, url: str, headers: Any = None) -> Any:
        if url.lower().startswith("file:") and url != self._font_url:
            raise ValueError(f"a letter may not load {url}")
        return super().fetch(url, headers)


def _font_url() -> str | None:
    """The bundled CJK font, when scripts/fonts.py fetched one (the system font comes first)."""
    path = Path(settings.LETTER_CJK_FONT_FILE)
    return path.resolve().as_uri() if path.is_file() else None


def _letter_context(decision: Decision, *, today: date) -> dict[str, Any]:
    application = decision.application
    context: dict[str, Any] = {
        "application": application,
        "decision": decision,
        "decided_on": timezone.localdate(decision.final_at) if decision.final_at else today,
        "letter_date": today,
        "site_url": settings.SITE_URL,
    }
    if decision.outcome == Decision.Outcome.APPROVE:
        visa = decision.visa
        url = verification_url(visa)
        context |= {
            "visa": visa,
            "passport_tail": _passport_tail(application.passport_number or ""),
            "verification_url": url,
            "qr_data_uri": _qr_data_uri(url),
        }
    else:
        context |= {
            "reasons": list(decision.reasons.all()),
            "review_days": settings.REVIEW_REQUEST_DAYS,
            "review_by": today + timedelta(days=settings.REVIEW_REQUEST_DAYS),
        }
    return context


def letter_html(*, decision: Decision, today: date | None = None) -> str:
    """The letter as HTML: one section per language, each rendered in its own language."""
    today = today or timezone.localdate()
    template = (
        "reviews/letters/approval.html"
        if decision.outcome == Decision.Outcome.APPROVE
        else "reviews/letters/refusal.html"
    )
    context = _letter_context(decision, today=today)
    sections = []
    for code, html_lang in LETTER_LANGUAGES:
        with translation.override(code):
            sections.append(
                render_to_string(
                    template,
                    {**context, "html_lang": html_lang, "chinese": code.startswith("zh")},
                )
            )
    return render_to_string(
        "reviews/letters/document.html",
        {
            "sections": sections,
            "reference": decision.application.reference,
            "font_url": _font_url(),
        },
    )


def letter_render(*, decision: Decision) -> bytes:
    """The bilingual A4 PDF of a final decision."""
    font_url = _font_url()
    document = weasyprint.HTML(
        string=letter_html(decision=decision), url_fetcher=_LetterFetcher(font_url)
    )
    pdf: bytes = document.write_pdf()
    return pdf


def _letter_stored(*, decision_id: int) -> Letter | None:
    """Step 1: the letter of a final decision, rendered and stored once."""
    with transaction.atomic():
        decision = (
            Decision.objects.select_for_update(of=("self",))
            .select_related("application", "visa")
            .filter(pk=decision_id)
            .first()
        )
        if decision is None or decision.state != Decision.State.FINAL:
            return None
        existing = Letter.objects.filter(decision=decision).first()
        if existing is not None:
            return existing
        pdf = letter_render(decision=decision)
        approved = decision.outcome == Decision.Outcome.APPROVE
        kind = Letter.Kind.APPROVAL if approved else Letter.Kind.REFUSAL
        letter = Letter(
            application=decision.application,
            decision=decision,
            kind=kind,
            sha256=hashlib.sha256(pdf).hexdigest(),
            size=len(pdf),
        )
        letter.file.save(
            f"{decision.application.reference}-{kind}.pdf", ContentFile(pdf), save=False
        )
        try:
            letter.save()
        except BaseException:
            # The row was not written: do not leave personal data behind in the storage.
            letter.file.delete(save=False)
            raise
        return letter


def _letter_notified(*, letter_id: int) -> Letter:
    """Step 2: tell the applicant, once. The email goes out under the letter's row lock, so a
    concurrent run waits and then finds notified_at set."""
    with transaction.atomic():
        letter = (
            Letter.objects.select_for_update(of=("self",))
            .select_related("application__applicant", "decision")
            .get(pk=letter_id)
        )
        if letter.notified_at is not None:
            return letter
        send_applicant_email(
            application=letter.application,
            template="decision",
            extra={
                "approved": letter.kind == Letter.Kind.APPROVAL,
                "review_days": settings.REVIEW_REQUEST_DAYS,
            },
        )
        letter.notified_at = timezone.now()
        letter.save(update_fields=["notified_at"])
        return letter


def letter_issue(*, decision_id: int) -> Letter | None:
    """Render and store the letter of a final decision, then email the applicant; each once.

    None when the decision does not exist or is not final. See the module docstring for why
    this is two transactions.
    """
    letter = _letter_stored(decision_id=decision_id)
    if letter is None or letter.notified_at is not None:
        return letter
    return _letter_notified(letter_id=letter.pk)


def decisions_without_letter(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Final decisions, older than LETTER_STUCK_AFTER_SECONDS, whose letter is missing or was
    never announced: what the sweeper re-enqueues (a lost message, a crashed worker)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.LETTER_STUCK_AFTER_SECONDS)
    # Only recent decisions (decision_recent_final_idx): an older one without a letter has been
    # swept hundreds of times already and needs a person, not another retry.
    window = now - timedelta(days=settings.LETTER_SWEEP_DAYS)
    return list(
        Decision.objects.filter(
            state=Decision.State.FINAL, final_at__lt=cutoff, final_at__gte=window
        )
        .filter(Q(letter__isnull=True) | Q(letter__notified_at__isnull=True))
        .order_by("final_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
