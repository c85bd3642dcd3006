"""Webhook endpoints, and delivery of outbox events to them (Standard Webhooks).

Delivery is at least once: each (endpoint, event) is one message, retried with exponential
backoff until the receiver answers 2xx. Every attempt of a message carries the same
``webhook-id`` (the event's id), so receivers deduplicate. The schedule lives in the database
(``next_attempt_at``), never in delayed broker messages, so it survives worker restarts and
Redis's visibility timeout; a beat task enqueues what is due.

Locks, always in this order: endpoint, then message. A delivery claims its message in one
short transaction, calls the receiver outside any transaction (no row lock or connection held
open on someone else's server) and records the result in a second one.
"""

from __future__ import annotations

import base64
import json
import math
import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import requests
import structlog
from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from standardwebhooks.webhooks import Webhook

from accounts.models import ApiClient
from integrations import selectors
from integrations.addresses import UnsafeUrl, webhook_url_check
from integrations.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from integrations.transport import webhook_session
from kvisa.errors import Conflict, ValidationFailed
from ops.models import EventType, OutboxEvent
from ops.queueing import enqueue_on_commit

logger = structlog.get_logger(__name__)

USER_AGENT = "kvisa-webhooks/1"
# How long a claimed attempt may take before the retry sweeper treats its worker as lost.
CLAIM_GRACE = timedelta(seconds=60)


class EndpointInactive(Conflict):
    code = "webhook_endpoint_inactive"


# --- Endpoints ---------------------------------------------------------------------------------


def webhook_secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _events_clean(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EventType.values))
    if not events or unknown:
        raise ValidationFailed(
            _("Subscribe to at least one of the event types."),
            extra={"errors": {"events": [_("Unknown event types: %s") % ", ".join(unknown)]}}
            if unknown
            else None,
        )
    return sorted(set(events))


@transaction.atomic
def webhook_endpoint_create(*, client: ApiClient, url: str, events: list[str]) -> WebhookEndpoint:
    """Register an endpoint with a fresh secret (returned on the model, shown to the client once).

    The URL is checked here and again before every delivery (integrations.addresses).
    """
    webhook_url_check(url)
    return WebhookEndpoint.objects.create(
        client=client, url=url, events=_events_clean(events), secret=webhook_secret_generate()
    )


@transaction.atomic
def webhook_endpoint_update(
    *,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    events: list[str] | None = None,
    is_active: bool | None = None,
) -> WebhookEndpoint:
    """Change the URL or subscriptions, turn the endpoint off, or back on.

    Turning it back on clears a disablement (failures, reason) and resumes the messages that
    were waiting when it went off.
    """
    locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    if url is not None and url != locked.url:
        webhook_url_check(url)
        locked.url = url
    if events is not None:
        locked.events = _events_clean(events)
    if is_active is True and not locked.is_active:
        locked.is_active = True
        locked.disabled_at = None
        locked.disabled_reason = ""
        locked.consecutive_failures = 0
        WebhookMessage.objects.filter(
            endpoint=locked, state=WebhookMessage.State.PENDING, next_attempt_at__isnull=True
        ).update(next_attempt_at=timezone.now())
        from integrations.tasks import webhooks_retry_due

        enqueue_on_commit(webhooks_retry_due)
    elif is_active is False:
        locked.is_active = False
    locked.save()
    return locked


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its delivery log (the events stay in the outbox)."""
    WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).delete()


def _endpoint_disable(endpoint: WebhookEndpoint, *, reason: str, now: datetime) -> None:
    """Switch off an endpoint that keeps failing, pause its messages, tell the client."""
    endpoint.is_active = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason[:300]
    WebhookMessage.objects.filter(endpoint=endpoint, state=WebhookMessage.State.PENDING).update(
        next_attempt_at=None
    )
    logger.warning("webhook_endpoint_disabled", endpoint=endpoint.pk, reason=reason)
    recipient = endpoint.client.contact_email
    if not recipient:
        return
    subject = _("[K visa] Webhook endpoint disabled: %(url)s") % {"url": endpoint.url}
    body = _(
        "Deliveries to your webhook endpoint %(url)s failed %(count)s times in a row, so it "
        "has been disabled.\n\nLast error: %(reason)s\n\nEvents that were waiting are kept. "
        "Once the endpoint answers again, re-enable it with PATCH "
        '/api/v1/webhooks/endpoints/%(id)s/ and {"is_active": true}: the waiting events are '
        "then delivered."
    ) % {
        "url": endpoint.url,
        "count": endpoint.consecutive_failures,
        "reason": reason,
        "id": endpoint.public_id,
    }
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient])
    )


# --- Dispatch: outbox events → messages ---------------------------------------------------------


@transaction.atomic
def outbox_dispatch(*, limit: int | None = None) -> list[int]:
    """Turn undispatched outbox events into messages for their recipients; the message ids.

    Run after the commit of each event and by beat as a sweeper. SKIP LOCKED: two dispatchers
    at once take different events; ``dispatched_at`` and the (endpoint, event) unique
    constraint make a repeat harmless. Deliveries are enqueued after commit.
    """
    from integrations.tasks import webhook_deliver

    events = list(
        OutboxEvent.objects.filter(dispatched_at__isnull=True)
        .order_by("created_at", "id")
        .select_for_update(skip_locked=True)[: limit or settings.WEBHOOKS_DISPATCH_BATCH]
    )
    if not events:
        return []
    now = timezone.now()
    # One recipients query per event; the sweeper's batches are small once it has caught up.
    WebhookMessage.objects.bulk_create(
        [
            WebhookMessage(endpoint=endpoint, event=event, next_attempt_at=now)
            for event in events
            for endpoint in selectors.event_recipients(event=event)
        ],
        ignore_conflicts=True,
    )
    OutboxEvent.objects.filter(pk__in=[event.pk for event in events]).update(dispatched_at=now)
    ids = list(
        WebhookMessage.objects.filter(
            event__in=events, state=WebhookMessage.State.PENDING, attempts=0
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        enqueue_on_commit(webhook_deliver, pk)
    return ids


@transaction.atomic
def messages_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending messages whose next attempt is due (SKIP LOCKED: not those being claimed)."""
    return list(
        WebhookMessage.objects.filter(
            state=WebhookMessage.State.PENDING, next_attempt_at__lte=now or timezone.now()
        )
        .order_by("next_attempt_at")
        .select_for_update(skip_locked=True)
        .values_list("pk", flat=True)[:limit]
    )


@transaction.atomic
def webhook_message_redeliver(*, message: WebhookMessage) -> WebhookMessage:
    """Send a message again, from attempt 1 (a client lost it, or fixed its receiver)."""
    from integrations.tasks import webhook_deliver

    locked = (
        WebhookMessage.objects.select_for_update(of=("self",))
        .select_related("endpoint", "event")
        .get(pk=message.pk)
    )
    if not locked.endpoint.is_active:
        raise EndpointInactive(_("The endpoint is disabled: re-enable it first."))
    locked.state = WebhookMessage.State.PENDING
    locked.attempts = 0
    locked.next_attempt_at = timezone.now()
    locked.delivered_at = None
    locked.save(update_fields=["state", "attempts", "next_attempt_at", "delivered_at"])
    enqueue_on_commit(webhook_deliver, locked.pk)
    return locked


# --- Delivery -----------------------------------------------------------------------------------


def retry_delay(attempt: int) -> timedelta:
    """BACKOFF * 2^(attempt-1), capped, with ±10 % jitter so retries of many messages spread."""
    seconds = min(
        settings.WEBHOOKS_BACKOFF_SECONDS * 2 ** (attempt - 1),
        settings.WEBHOOKS_BACKOFF_MAX_SECONDS,
    )
    return timedelta(seconds=seconds * random.uniform(0.9, 1.1))  # noqa: S311 (jitter, no secret)


def webhook_body(event: OutboxEvent) -> str:
    """The JSON body, identical on every attempt: type, when it happened, and the payload."""
    body = {"type": event.type, "timestamp": event.created_at, "data": event.payload}
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"))


@dataclass(frozen=True)
class _Claim:
    message_id: int
    endpoint_id: int
    number: int
    url: str
    secret: str
    webhook_id: str
    body: str


@dataclass(frozen=True)
class _Outcome:
    at: datetime
    status_code: int | None
    error: str
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@transaction.atomic
def _claim(message_id: int, now: datetime) -> _Claim | None:
    message = (
        WebhookMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("endpoint__client", "event")
        .filter(pk=message_id)
        .first()
    )
    if (
        message is None  # gone, or another worker is claiming it this instant
        or message.state != WebhookMessage.State.PENDING
        or message.next_attempt_at is None
        or message.next_attempt_at > now
    ):
        return None
    endpoint = message.endpoint
    if not (endpoint.is_active and endpoint.client.is_active):
        message.next_attempt_at = None  # paused; re-enabling the endpoint resumes it
        message.save(update_fields=["next_attempt_at"])
        return None
    if not selectors.may_receive(endpoint=endpoint, event=message.event):
        # The client lost the right to this event (a scope, a filing) since it was dispatched.
        message.state = WebhookMessage.State.FAILED
        message.next_attempt_at = None
        message.save(update_fields=["state", "next_attempt_at"])
        WebhookAttempt.objects.create(
            message=message,
            number=message.attempts,
            at=now,
            error="not sent: the client may no longer receive this event",
        )
        return None
    message.attempts += 1
    # In flight until then: if this worker dies mid-attempt, the retry sweeper takes it over.
    message.next_attempt_at = (
        now + timedelta(seconds=settings.WEBHOOKS_TIMEOUT_SECONDS) + CLAIM_GRACE
    )
    message.save(update_fields=["attempts", "next_attempt_at"])
    return _Claim(
        message_id=message.pk,
        endpoint_id=endpoint.pk,
        number=message.attempts,
        url=endpoint.url,
        secret=endpoint.secret,
        webhook_id=str(message.event.public_id),
        body=webhook_body(message.event),
    )


def _send(claim: _Claim) -> _Outcome:
    """POST the signed body once; never raises for anything the receiver or network does."""
    at = timezone.now()
    started = time.monotonic()

    def outcome(status_code: int | None, error: str) -> _Outcome:
        elapsed = round((time.monotonic() - started) * 1000)
        return _Outcome(at=at, status_code=status_code, error=error[:2000], duration_ms=elapsed)

    try:
        webhook_url_check(claim.url)  # the scheme and host may no longer be allowed
    except UnsafeUrl as exc:
        return outcome(None, f"refused: {exc.message}")
    signed_at = at.astimezone(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": claim.webhook_id,
        "webhook-timestamp": str(math.floor(signed_at.timestamp())),
        "webhook-signature": Webhook(claim.secret).sign(
            msg_id=claim.webhook_id, timestamp=signed_at, data=claim.body
        ),
    }
    try:
        # stream: only the status line and headers are read, never a large body; no redirects:
        # a 3xx is a failure, not an invitation to POST somewhere unchecked.
        with webhook_session().post(
            claim.url,
            data=claim.body.encode(),
            headers=headers,
            timeout=settings.WEBHOOKS_TIMEOUT_SECONDS,
            allow_redirects=False,
            stream=True,
        ) as response:
            status_code = response.status_code
    except UnsafeUrl as exc:  # at connect time: the name now resolves somewhere not public
        return outcome(None, f"refused: {exc.message}")
    except requests.RequestException as exc:
        return outcome(None, f"{type(exc).__name__}: {exc}")
    return outcome(status_code, "" if 200 <= status_code < 300 else f"HTTP {status_code}")


@transaction.atomic
def _record(claim: _Claim, result: _Outcome) -> WebhookMessage | None:
    endpoint = (
        WebhookEndpoint.objects.select_for_update(of=("self",))
        .select_related("client")
        .filter(pk=claim.endpoint_id)
        .first()
    )
    message = WebhookMessage.objects.select_for_update().filter(pk=claim.message_id).first()
    if endpoint is None or message is None:
        return None  # the client deleted the endpoint during the attempt
    now = timezone.now()
    attempt = WebhookAttempt(
        message=message,
        number=claim.number,
        at=result.at,
        status_code=result.status_code,
        error=result.error,
        duration_ms=result.duration_ms,
    )
    # A redelivery during this attempt started a new round: log the attempt, leave the round.
    current = message.state == WebhookMessage.State.PENDING and message.attempts == claim.number
    if result.ok:
        endpoint.consecutive_failures = 0
        if current:
            message.state = WebhookMessage.State.DELIVERED
            message.delivered_at = now
            message.next_attempt_at = None
    else:
        endpoint.consecutive_failures += 1
        if current and message.attempts >= settings.WEBHOOKS_MAX_ATTEMPTS:
            message.state = WebhookMessage.State.FAILED
            message.next_attempt_at = None
        elif current:
            message.next_attempt_at = attempt.next_attempt_at = now + retry_delay(message.attempts)
    message.save(update_fields=["state", "delivered_at", "next_attempt_at"])
    if (
        not result.ok
        and endpoint.is_active
        and endpoint.consecutive_failures >= settings.WEBHOOKS_DISABLE_AFTER
    ):
        _endpoint_disable(endpoint, reason=result.error, now=now)
        attempt.next_attempt_at = None
    attempt.save()
    endpoint.save(
        update_fields=[
            "consecutive_failures",
            "is_active",
            "disabled_at",
            "disabled_reason",
            "updated_at",
        ]
    )
    return message


def webhook_deliver(*, message_id: int) -> WebhookMessage | None:
    """One delivery attempt of a message, if it is pending and due; None when skipped.

    Safe to run twice: the claim takes the row with SKIP LOCKED and moves ``next_attempt_at``
    past now, so a duplicate task finds it not due and does nothing.
    """
    claim = _claim(message_id, timezone.now())
    if claim is None:
        return None
    result = _send(claim)
    message = _record(claim, result)
    logger.info(
        "webhook_attempt",
        message=claim.message_id,
        attempt=claim.number,
        status_code=result.status_code,
        error=result.error,
        state=message.state if message else None,
    )
    return message


def delivery_log_purge(*, now: datetime | None = None, batch: int = 5000) -> int:
    """Retention of the delivery log (the daily task): messages delivered or given up more than
    WEBHOOKS_KEEP_DAYS ago go with their attempts, then the outbox events nothing points at any
    more. A pending message, however old, is never deleted."""
    from django.db.models import Exists, OuterRef

    cutoff = (now or timezone.now()) - timedelta(days=settings.WEBHOOKS_KEEP_DAYS)
    finished = WebhookMessage.objects.filter(
        state__in=[WebhookMessage.State.DELIVERED, WebhookMessage.State.FAILED],
        created_at__lt=cutoff,
    ).values("pk")[:batch]
    messages, _ = WebhookMessage.objects.filter(pk__in=finished).delete()
    orphans = (
        OutboxEvent.objects.filter(dispatched_at__lt=cutoff)
        .exclude(Exists(WebhookMessage.objects.filter(event=OuterRef("pk"))))
        .values("pk")[:batch]
    )
    events, _ = OutboxEvent.objects.filter(pk__in=orphans).delete()
    return messages + events
