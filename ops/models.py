"""Infrastructure records shared by every app: idempotency keys, the transactional outbox."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first response to a POST carrying an ``Idempotency-Key``, replayed for repeats.

    One row per (caller, key). ``status_code`` is NULL while the first request is still
    running; repeats wait for it, then replay. Rows expire after settings.IDEMPOTENCY_TTL_HOURS.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    response_headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_one_per_owner_key")
        ]

    def __str__(self) -> str:
        return f"{self.owner_id}:{self.key}"


class EventType(models.TextChoices):
    """What the outbox records (and what webhook endpoints subscribe to)."""

    APPLICATION_SUBMITTED = "application.submitted", _("Application submitted")
    CASE_EVIDENCE_REQUESTED = "case.evidence_requested", _("Evidence requested")
    CASE_DECIDED = "case.decided", _("Case decided")
    VISA_ISSUED = "visa.issued", _("Visa issued")


class OutboxEvent(models.Model):
    """Something that happened, written in the same transaction as the change itself.

    The transactional outbox: an event exists if and only if its change committed, and a
    dispatcher (integrations.tasks.outbox_dispatch, run after commit and by beat as a
    sweeper) turns it into webhook messages and stamps ``dispatched_at``. ``application_id``
    is a plain integer, not a foreign key, so ops stays below every other app. The payload
    holds ids, the reference, statuses and dates, never personal data.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=40, choices=EventType.choices)
    application_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            # The dispatcher's only query: the oldest events not dispatched yet.
            models.Index(
                fields=["created_at"],
                condition=Q(dispatched_at__isnull=True),
                name="ops_outbox_undispatched",
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(type__in=EventType.values), name="ops_outbox_type_valid"
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.public_id}"
