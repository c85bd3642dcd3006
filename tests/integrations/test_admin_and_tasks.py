"""The webhooks admin (read-only, with redelivery through the service) and the periodic tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse

from integrations import services, tasks
from integrations.models import WebhookMessage
from tests.factories import AdminFactory, login_with_mfa
from tests.integrations.conftest import RECEIVER_URL

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    login_with_mfa(client, AdminFactory())
    return client


@pytest.fixture
def failed_message(endpoint, filed_submission, receiver, settings) -> WebhookMessage:
    settings.WEBHOOKS_MAX_ATTEMPTS = 1
    receiver.post(RECEIVER_URL, status=500)
    (message_id,) = services.outbox_dispatch()
    services.webhook_deliver(message_id=message_id)
    message = WebhookMessage.objects.get(pk=message_id)
    assert message.state == WebhookMessage.State.FAILED
    return message


def test_the_admin_lists_endpoints_and_messages_without_the_secret(admin_client, failed_message):
    endpoint = failed_message.endpoint
    for name in ("webhookendpoint", "webhookmessage", "outboxevent", "applicationfiling"):
        app = "ops" if name == "outboxevent" else "integrations"
        assert admin_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200
    page = admin_client.get(
        reverse("admin:integrations_webhookendpoint_change", args=[endpoint.pk])
    )
    assert page.status_code == 200
    assert endpoint.secret not in page.content.decode()
    message_page = admin_client.get(
        reverse("admin:integrations_webhookmessage_change", args=[failed_message.pk])
    )
    assert "HTTP 500" in message_page.content.decode()  # the attempts, inline
    assert admin_client.get(reverse("admin:integrations_webhookendpoint_add")).status_code == 403


def test_the_admin_redeliver_action_resets_the_message(admin_client, failed_message):
    response = admin_client.post(
        reverse("admin:integrations_webhookmessage_changelist"),
        {"action": "redeliver", "_selected_action": [failed_message.pk]},
    )
    assert response.status_code == 302
    failed_message.refresh_from_db()
    assert failed_message.state == WebhookMessage.State.PENDING
    assert failed_message.attempts == 0


def test_the_sweepers_are_on_the_beat_schedule():
    scheduled = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled["integrations.tasks.outbox_dispatch"] == timedelta(seconds=10)
    assert scheduled["integrations.tasks.webhooks_retry_due"] == timedelta(seconds=30)


def test_the_retry_sweeper_publishes_each_due_message(celery_broker, endpoint, filed_submission):
    assert tasks.outbox_dispatch() == 1
    assert tasks.webhooks_retry_due() == 1  # due at once: published to the broker
    WebhookMessage.objects.update(state=WebhookMessage.State.DELIVERED)
    assert tasks.webhooks_retry_due() == 0
