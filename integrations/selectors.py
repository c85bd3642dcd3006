"""Reads scoped to the caller: a client sees its own endpoints and messages, nobody else's.

``event_recipients`` decides who may learn of an event, for dispatch and again before each
delivery (a client may lose a scope, or a filing, in between).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _

from accounts.models import ApiClient, Scope
from integrations.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from kvisa.errors import NotFound
from ops.models import EventType, OutboxEvent


def event_recipients(*, event: OutboxEvent) -> QuerySet[WebhookEndpoint]:
    """Active endpoints subscribed to the event's type whose client may see it.

    ``visa.issued`` goes to border systems (visas:verify); every other event to the client that
    filed the application, so an integration never learns of applications it did not file.
    """
    endpoints = WebhookEndpoint.objects.filter(
        is_active=True, client__is_active=True, events__contains=[event.type]
    )
    if event.type == EventType.VISA_ISSUED:
        return endpoints.filter(client__scopes__contains=[Scope.VISAS_VERIFY])
    if event.application_id is None:
        return endpoints.none()
    return endpoints.filter(client__filings__application_id=event.application_id)


def may_receive(*, endpoint: WebhookEndpoint, event: OutboxEvent) -> bool:
    return event_recipients(event=event).filter(pk=endpoint.pk).exists()


def endpoints_of(*, client: ApiClient) -> QuerySet[WebhookEndpoint]:
    return WebhookEndpoint.objects.filter(client=client)


def endpoint_for_client(*, client: ApiClient, endpoint_id: Any) -> WebhookEndpoint:
    endpoint = endpoints_of(client=client).filter(public_id=endpoint_id).first()
    if endpoint is None:
        raise NotFound(_("No such webhook endpoint."))
    return endpoint


def messages_of(*, endpoint: WebhookEndpoint) -> QuerySet[WebhookMessage]:
    """The endpoint's delivery log, each message with its event and attempts."""
    return (
        WebhookMessage.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(Prefetch("log", queryset=WebhookAttempt.objects.order_by("at", "id")))
    )


def message_for_client(*, client: ApiClient, message_id: Any) -> WebhookMessage:
    message = (
        WebhookMessage.objects.filter(endpoint__client=client, public_id=message_id)
        .select_related("endpoint", "event")
        .first()
    )
    if message is None:
        raise NotFound(_("No such webhook message."))
    return message
