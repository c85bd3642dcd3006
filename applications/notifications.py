"""Bilingual emails to applicants. Each message carries English and Chinese, in the
applicant's preferred language first, because a visa email must be readable by the applicant
and by whoever helps them."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from applications.models import Application

LANGUAGES = ("en", "zh-hans")


def _bilingual(template: str, context: dict[str, Any], first: str) -> tuple[str, str]:
    order = sorted(LANGUAGES, key=lambda code: code != first)
    subjects, bodies = [], []
    for code in order:
        with translation.override(code):
            subjects.append(render_to_string(f"emails/{template}_subject.txt", context).strip())
            bodies.append(render_to_string(f"emails/{template}.txt", context).strip())
    return " / ".join(subjects), "\n\n――――――――――――――――\n\n".join(bodies) + "\n"


def send_applicant_email(
    *, application: Application, template: str, extra: dict[str, Any] | None = None
) -> None:
    context = {"application": application, "site_url": settings.SITE_URL, **(extra or {})}
    first = application.applicant.preferred_language or "en"
    subject, body = _bilingual(template, context, "zh-hans" if first.startswith("zh") else "en")
    recipients = sorted({application.applicant.email, application.contact_email} - {""})
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
