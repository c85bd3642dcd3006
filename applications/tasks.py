"""Celery tasks: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from applications import housekeeping
from applications.models import Application
from applications.notifications import send_applicant_email


@shared_task(
    acks_late=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=8
)
def application_submitted(application_id: int) -> None:
    """After commit of a submission: confirm to the applicant. Screening hooks in here next."""
    application = Application.objects.select_related("applicant").filter(pk=application_id).first()
    if application is None or not application.reference:
        return
    send_applicant_email(application=application, template="submitted")


@shared_task(acks_late=True)
def drafts_housekeeping() -> dict[str, int]:
    """Remind owners of stale drafts, then purge drafts abandoned past the limit."""
    return {"reminded": housekeeping.drafts_remind(), "purged": housekeeping.drafts_purge()}
