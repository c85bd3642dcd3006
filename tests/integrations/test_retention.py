"""Retention of the API's own records: idempotency keys after their TTL, and the webhook
delivery log after WEBHOOKS_KEEP_DAYS — never a message still waiting to be delivered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from integrations import services
from integrations.models import WebhookMessage
from ops.events import event_emit
from ops.idempotency import idempotency_purge
from ops.models import EventType, IdempotencyRecord, OutboxEvent
from tests.factories import OfficerFactory
from tests.integrations.conftest import endpoint_for

pytestmark = pytest.mark.django_db


def test_old_idempotency_keys_are_forgotten_and_recent_ones_kept():
    owner = OfficerFactory()
    old = IdempotencyRecord.objects.create(
        owner=owner, key="old", method="POST", path="/api/v1/x/", request_hash="0" * 64
    )
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS + 1)
    )
    IdempotencyRecord.objects.create(
        owner=owner, key="new", method="POST", path="/api/v1/x/", request_hash="0" * 64
    )
    assert idempotency_purge() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["new"]


def test_the_delivery_log_goes_after_its_days_but_a_pending_message_stays(border):
    endpoint = endpoint_for(border, events=[EventType.VISA_ISSUED])
    from django.db import transaction

    with transaction.atomic():
        for number in ("K000000011", "K000000029"):
            event_emit(type=EventType.VISA_ISSUED, application_id=None, payload={"visa": number})
    services.outbox_dispatch()
    delivered, pending = WebhookMessage.objects.filter(endpoint=endpoint).order_by("pk")
    WebhookMessage.objects.filter(pk=delivered.pk).update(state=WebhookMessage.State.DELIVERED)
    long_ago = timezone.now() - timedelta(days=settings.WEBHOOKS_KEEP_DAYS + 1)
    WebhookMessage.objects.update(created_at=long_ago)
    OutboxEvent.objects.update(dispatched_at=long_ago)

    assert services.delivery_log_purge() == 2  # the delivered message and its event
    assert list(WebhookMessage.objects.values_list("pk", flat=True)) == [pending.pk]
    assert OutboxEvent.objects.count() == 1
