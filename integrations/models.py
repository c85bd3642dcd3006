"""Webhooks for integration clients: endpoints, one message per (endpoint, event), and the
log of every delivery attempt; and which client filed which application."""

from __future__ import annotations

import uuid

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import ApiClient
from applications.crypto import EncryptedTextField
from ops.models import EventType, OutboxEvent


class ApplicationFiling(models.Model):
    """The integration client that filed an application on an applicant's behalf.

    Events about an application go to the client that filed it and to no other; the filing
    flow itself (applications:submit) writes these rows.
    """

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="filings")
    application = models.OneToOneField(
        "applications.Application", on_delete=models.CASCADE, related_name="filing"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("application filing")
        verbose_name_plural = _("application filings")

    def __str__(self) -> str:
        return f"{self.application_id} by {self.client_id}"


class WebhookEndpoint(models.Model):
    """A URL of a client's that receives the events it subscribed to, signed with its secret
    (Standard Webhooks: ``whsec_`` + base64 of 32 random bytes, shown to the client once)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    client = models.ForeignKey(
        ApiClient, on_delete=models.CASCADE, related_name="webhook_endpoints"
    )
    url = models.URLField(_("URL"), max_length=2000)
    events = ArrayField(
        models.CharField(max_length=40, choices=EventType.choices), verbose_name=_("events")
    )
    # Encrypted at rest like passport numbers: it must be readable to sign, so it cannot be
    # hashed the way API tokens are.
    secret = EncryptedTextField(_("signing secret"), editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        constraints = [
            models.CheckConstraint(
                condition=Q(events__contained_by=EventType.values), name="webhook_events_known"
            )
        ]

    def __str__(self) -> str:
        return self.url


class WebhookMessage(models.Model):
    """One event for one endpoint, delivered at least once: retried with backoff until a 2xx
    answer or WEBHOOKS_MAX_ATTEMPTS, then ``failed`` (redelivery starts a new round)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed (gave up)")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # db_index=False: webhook_message_log (endpoint first) serves an endpoint's messages.
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Attempts in the current round; a redelivery starts again from 0.
    attempts = models.PositiveSmallIntegerField(default=0)
    # When the next attempt is due; NULL while the endpoint is inactive (resumed on re-enable).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("webhook message")
        verbose_name_plural = _("webhook messages")
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "event"], name="webhook_one_per_event"),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "delivered", "failed"]),
                name="webhook_message_state_valid",
            ),
        ]
        indexes = [
            # The retry sweeper's query: pending messages whose next attempt is due.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="pending"),
                name="webhook_message_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_message_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One delivery attempt, as it happened (append-only)."""

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveSmallIntegerField(help_text=_("The attempt within its round."))
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    # When the next attempt was scheduled for, after this one failed (NULL: no retry).
    next_attempt_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("webhook attempt")
        verbose_name_plural = _("webhook attempts")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"#{self.number} {self.status_code or self.error[:40]}"
