"""Celery tasks: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from applications import hooks, housekeeping
from applications.models import Application
from applications.services import confirmation_send


@shared_task(
    acks_late=True,
    autoretry_for=(ConnectionError, TimeoutError, OperationalError, InterfaceError),
    retry_backoff=True,
    max_retries=8,
)
def application_submitted(application_id: int) -> None:
    """After commit of a submission: screen it (the hook's handlers), then confirm by email.

    One broker message per submission. Screening runs first and is idempotent; the email is
    sent once (recorded on the timeline), so a redelivered task repeats neither.
    """
    application = Application.objects.select_related("applicant").filter(pk=application_id).first()
    if application is None or not application.reference:
        return
    hooks.submitted(application_id=application_id)
    confirmation_send(application=application)


@shared_task(acks_late=True)
def drafts_housekeeping() -> dict[str, int]:
    """Remind owners of stale drafts, then purge drafts abandoned past the limit."""
    return {"reminded": housekeeping.drafts_remind(), "purged": housekeeping.drafts_purge()}
