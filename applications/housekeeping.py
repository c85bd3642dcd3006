"""Retention for drafts: remind after DRAFT_REMINDER_DAYS untouched, purge after DRAFT_PURGE_DAYS.

Works in bounded batches over the partial index on draft age, so a large backlog never loads
a whole table.
"""

from __future__ import annotations

from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from applications.models import Application, Status
from applications.notifications import send_applicant_email

BATCH = 500


def _delete_files(files: list[tuple[Any, str | None]]) -> None:
    for storage, name in files:
        if name:
            storage.delete(name)


def drafts_remind() -> int:
    cutoff = timezone.now() - timedelta(days=settings.DRAFT_REMINDER_DAYS)
    stale = (
        Application.objects.filter(
            status=Status.DRAFT, updated_at__lt=cutoff, reminded_at__isnull=True
        )
        .select_related("applicant")
        .order_by("updated_at")[:BATCH]
    )
    count = 0
    for application in stale:
        # Marked with update() so the reminder does not count as the applicant touching it.
        if Application.objects.filter(pk=application.pk, reminded_at__isnull=True).update(
            reminded_at=timezone.now()
        ):
            send_applicant_email(
                application=application,
                template="draft_reminder",
                extra={"purge_days": settings.DRAFT_PURGE_DAYS},
            )
            count += 1
    return count


def drafts_purge() -> int:
    cutoff = timezone.now() - timedelta(days=settings.DRAFT_PURGE_DAYS)
    ids = list(
        Application.objects.filter(status=Status.DRAFT, updated_at__lt=cutoff)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:BATCH]
    )
    purged = 0
    for pk in ids:
        with transaction.atomic():
            application = (
                Application.objects.select_for_update(skip_locked=True)
                .filter(pk=pk, status=Status.DRAFT, updated_at__lt=cutoff)
                .first()
            )
            if application is None:
                continue
            files = [(d.file.storage, d.file.name) for d in application.documents.all()]
            application.delete()
            transaction.on_commit(partial(_delete_files, files))
            purged += 1
    return purged
