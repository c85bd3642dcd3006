"""Delivery: signed with Standard Webhooks, retried with backoff under one webhook-id, given up
after the last attempt, endpoints disabled after repeated failures, addresses re-checked before
every attempt, and events only ever reaching the clients entitled to them."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import requests
from django.db import transaction
from django.utils import timezone
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from integrations import services, tasks
from integrations.models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from ops.events import event_emit
from ops.models import EventType, OutboxEvent
from reviews import services as reviews
from tests.integrations.conftest import (
    RECEIVER_URL,
    client_with,
    endpoint_for,
    file_for,
)

pytestmark = pytest.mark.django_db


def _dispatch_one() -> WebhookMessage:
    (message_id,) = services.outbox_dispatch()
    return WebhookMessage.objects.select_related("event", "endpoint").get(pk=message_id)


def _deliver(message: WebhookMessage) -> WebhookMessage:
    tasks.webhook_deliver(message.pk)
    message.refresh_from_db()
    return message


def _headers(call) -> dict[str, str]:
    return dict(call.request.headers)


def test_the_receiver_verifies_the_signature_with_the_standard_webhooks_library(
    endpoint, filed_submission, receiver
):
    receiver.post(RECEIVER_URL, status=200)
    message = _deliver(_dispatch_one())

    assert message.state == WebhookMessage.State.DELIVERED
    (call,) = receiver.calls
    body, headers = call.request.body, _headers(call)
    # what a receiver does with the secret it was shown at registration
    verified = Webhook(endpoint.secret).verify(body, headers)
    assert verified["type"] == "application.submitted"
    assert verified["data"]["reference"] == filed_submission.reference
    assert verified["data"]["application"] == str(filed_submission.public_id)
    assert headers["webhook-id"] == str(message.event.public_id)
    assert headers["Content-Type"] == "application/json"
    # a forged body, or another endpoint's secret, does not verify
    with pytest.raises(WebhookVerificationError):
        Webhook(endpoint.secret).verify(body.replace(b"submitted", b"approved"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(services.webhook_secret_generate()).verify(body, headers)


def test_the_secret_is_a_standard_webhooks_secret_encrypted_at_rest(endpoint):
    assert endpoint.secret.startswith("whsec_")
    assert len(Webhook(endpoint.secret)._whsecret) == 32
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret FROM integrations_webhookendpoint WHERE id = %s", [endpoint.pk]
        )
        (stored,) = cursor.fetchone()
    assert endpoint.secret not in stored


def test_a_failing_receiver_gets_each_attempt_once_with_backoff_and_one_webhook_id(
    endpoint, filed_submission, receiver, time_machine
):
    time_machine.move_to(timezone.now(), tick=False)
    receiver.post(RECEIVER_URL, status=500)
    receiver.post(RECEIVER_URL, body=requests.ConnectionError("connection refused"))
    receiver.post(RECEIVER_URL, status=204)
    message = _dispatch_one()

    message = _deliver(message)  # 1: 500
    assert message.state == WebhookMessage.State.PENDING
    assert message.attempts == 1
    first_retry = message.next_attempt_at
    assert timedelta(seconds=27) <= first_retry - timezone.now() <= timedelta(seconds=33)
    # not due yet: a duplicate task, or the retry sweeper, does nothing
    assert services.messages_due() == []
    assert _deliver(message).attempts == 1
    assert len(receiver.calls) == 1

    time_machine.move_to(first_retry + timedelta(seconds=1), tick=False)
    assert services.messages_due() == [message.pk]
    message = _deliver(message)  # 2: connection refused
    assert message.state == WebhookMessage.State.PENDING
    second_retry = message.next_attempt_at
    assert timedelta(seconds=54) <= second_retry - timezone.now() <= timedelta(seconds=66)

    time_machine.move_to(second_retry + timedelta(seconds=1), tick=False)
    message = _deliver(message)  # 3: 204
    assert message.state == WebhookMessage.State.DELIVERED
    assert message.delivered_at == timezone.now()
    assert message.next_attempt_at is None

    assert len(receiver.calls) == 3  # exactly one request per attempt
    assert {_headers(c)["webhook-id"] for c in receiver.calls} == {str(message.event.public_id)}
    assert len({c.request.body for c in receiver.calls}) == 1  # the same body every time
    log = list(message.log.all())
    assert [(a.number, a.status_code) for a in log] == [(1, 500), (2, None), (3, 204)]
    assert "ConnectionError" in log[1].error
    # the backoff, as logged: each retry later than the last, and the wait doubling
    assert log[0].next_attempt_at == first_retry
    assert log[1].next_attempt_at == second_retry
    assert log[2].next_attempt_at is None
    assert (log[1].next_attempt_at - log[1].at) > (log[0].next_attempt_at - log[0].at)
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 0  # the success reset the count


def test_after_the_last_attempt_the_message_fails_and_can_be_redelivered(
    endpoint, filed_submission, receiver, settings, time_machine
):
    settings.WEBHOOKS_MAX_ATTEMPTS = 2
    time_machine.move_to(timezone.now(), tick=False)
    receiver.post(RECEIVER_URL, status=302, headers={"Location": "http://10.0.0.5/"})
    message = _deliver(_dispatch_one())
    time_machine.shift(timedelta(minutes=5))
    message = _deliver(message)

    assert message.state == WebhookMessage.State.FAILED
    assert message.next_attempt_at is None
    assert len(receiver.calls) == 2  # a redirect is a failure, never followed
    assert [a.error for a in message.log.all()] == ["HTTP 302", "HTTP 302"]

    receiver.replace("POST", RECEIVER_URL, status=200)
    services.webhook_message_redeliver(message=message)
    message = _deliver(message)
    assert message.state == WebhookMessage.State.DELIVERED
    assert [a.number for a in message.log.all()] == [1, 2, 1]  # a new round


def test_a_host_that_now_resolves_to_a_private_address_is_refused_and_logged(
    filer, filed_submission, receiver, resolver
):
    resolver.set("hooks.example.org", "93.184.216.34")
    endpoint = endpoint_for(filer, url="https://hooks.example.org/kvisa")
    receiver.post("https://hooks.example.org/kvisa", status=200)
    resolver.set("hooks.example.org", "10.0.0.5")  # DNS changed since registration

    message = _deliver(_dispatch_one())

    assert len(receiver.calls) == 0  # no request left our network
    (attempt,) = message.log.all()
    assert attempt.status_code is None
    assert "not public" in attempt.error
    assert message.state == WebhookMessage.State.PENDING  # retried later: DNS may change back
    assert message.next_attempt_at is not None
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1


def test_an_endpoint_failing_again_and_again_is_disabled_and_its_client_emailed(
    endpoint,
    filed_submission,
    receiver,
    settings,
    time_machine,
    mailoutbox,
    client,
    django_capture_on_commit_callbacks,
):
    from tests.integrations.conftest import bearer

    settings.WEBHOOKS_DISABLE_AFTER = 3
    time_machine.move_to(timezone.now(), tick=False)
    receiver.post(RECEIVER_URL, status=503)
    message = _dispatch_one()
    for _ in range(3):
        with django_capture_on_commit_callbacks(execute=True):
            message = _deliver(message)
        time_machine.shift(timedelta(hours=1))

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at is not None
    assert "HTTP 503" in endpoint.disabled_reason
    assert endpoint.consecutive_failures == 3
    (mail,) = mailoutbox
    assert mail.to == ["it@unilag.test"]
    assert RECEIVER_URL in mail.subject
    assert str(endpoint.public_id) in mail.body
    # the waiting message is kept, paused: nothing is sent while the endpoint is off
    assert message.state == WebhookMessage.State.PENDING
    assert message.next_attempt_at is None
    assert services.messages_due() == []
    assert _deliver(message).attempts == 3
    assert len(receiver.calls) == 3
    # new events no longer go to it
    with transaction.atomic():
        event_emit(
            type=EventType.CASE_DECIDED,
            application_id=filed_submission.pk,
            payload={"reference": filed_submission.reference},
        )
    assert services.outbox_dispatch() == []

    # the client fixed its server and re-enables the endpoint: the message goes out
    receiver.replace("POST", RECEIVER_URL, status=200)
    response = client.patch(
        f"/api/v1/webhooks/endpoints/{endpoint.public_id}/",
        {"is_active": True},
        content_type="application/json",
        **bearer(endpoint.client.user),
    )
    assert response.status_code == 200, response.json()
    assert response.json()["disabled_at"] is None
    assert response.json()["consecutive_failures"] == 0
    assert services.messages_due() == [message.pk]
    assert _deliver(message).state == WebhookMessage.State.DELIVERED


def test_an_event_about_an_application_is_delivered_only_to_the_client_that_filed_it(
    filer, other_filer, border, filed_submission, receiver
):
    mine = endpoint_for(filer)
    theirs = endpoint_for(other_filer, url="https://hooks.receiver.test/other")
    border_endpoint = endpoint_for(border, url="https://hooks.receiver.test/border")
    receiver.post(RECEIVER_URL, status=200)

    (message_id,) = services.outbox_dispatch()

    message = WebhookMessage.objects.get(pk=message_id)
    assert message.endpoint == mine
    assert not WebhookMessage.objects.filter(endpoint__in=[theirs, border_endpoint]).exists()
    _deliver(message)
    assert [c.request.url for c in receiver.calls] == [RECEIVER_URL]


def test_an_endpoint_gets_only_the_event_types_it_subscribed_to(filer, filed_submission):
    endpoint_for(filer, events=[EventType.CASE_DECIDED])
    assert services.outbox_dispatch() == []
    assert OutboxEvent.objects.get().dispatched_at is not None


def test_a_visa_issued_goes_to_border_systems_only(
    case, officer, filer, border, settings, receiver
):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    file_for(filer, case)
    OutboxEvent.objects.all().delete()
    filer_endpoint = endpoint_for(filer)
    border_endpoint = endpoint_for(border, url="https://hooks.receiver.test/border")
    endpoint_for(
        client_with("Lapsed border system", "cases:read"),
        url="https://hooks.receiver.test/lapsed",
    )
    reviews.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    reviews.decision_make(
        application=case, officer=officer, outcome="approve", terms=reviews.default_visa_terms(case)
    )

    services.outbox_dispatch()

    sent = set(WebhookMessage.objects.values_list("event__type", "endpoint"))
    assert sent == {
        (EventType.CASE_DECIDED, filer_endpoint.pk),
        (EventType.VISA_ISSUED, border_endpoint.pk),
    }
    receiver.post("https://hooks.receiver.test/border", status=200)
    visa_message = WebhookMessage.objects.get(endpoint=border_endpoint)
    _deliver(visa_message)
    body = json.loads(receiver.calls[0].request.body)
    assert body["data"]["visa_number"] == case.visa.number
    assert "reference" not in body["data"]


def test_a_client_that_lost_its_scope_is_not_sent_what_was_dispatched_before(
    border, receiver, django_capture_on_commit_callbacks
):
    endpoint = endpoint_for(border)
    with transaction.atomic():
        event_emit(type=EventType.VISA_ISSUED, application_id=None, payload={"visa_number": "K1"})
    message = _dispatch_one()
    border.scopes = []
    border.save()

    message = _deliver(message)

    assert len(receiver.calls) == 0
    assert message.state == WebhookMessage.State.FAILED
    assert "may no longer receive" in WebhookAttempt.objects.get(message=message).error
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).is_active


def test_a_worker_lost_mid_attempt_leaves_the_message_for_the_retry_sweeper(
    endpoint, filed_submission, receiver, time_machine, monkeypatch
):
    time_machine.move_to(timezone.now(), tick=False)
    receiver.post(RECEIVER_URL, status=200)
    message = _dispatch_one()

    def killed(claim):
        raise SystemExit("worker killed")

    monkeypatch.setattr(services, "_send", killed)
    with pytest.raises(SystemExit):
        tasks.webhook_deliver(message.pk)
    monkeypatch.undo()
    assert services.messages_due() == []  # in flight, as far as anyone can tell

    time_machine.shift(timedelta(minutes=2))
    assert services.messages_due() == [message.pk]
    assert _deliver(message).state == WebhookMessage.State.DELIVERED
    assert len(receiver.calls) == 1


def test_a_client_without_a_contact_address_is_disabled_without_an_email(
    border, receiver, settings, mailoutbox, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_DISABLE_AFTER = 1
    assert not border.contact_email
    endpoint = endpoint_for(border)
    receiver.post(RECEIVER_URL, status=500)
    with transaction.atomic():
        event_emit(type=EventType.VISA_ISSUED, application_id=None, payload={"visa_number": "K1"})

    with django_capture_on_commit_callbacks(execute=True):
        _deliver(_dispatch_one())

    endpoint.refresh_from_db()
    assert not endpoint.is_active
    assert endpoint.disabled_at is not None
    assert mailoutbox == []
