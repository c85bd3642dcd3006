"""The webhooks API: integration clients manage their own endpoints and read their own
delivery log; nobody else's, and officers and applicants not at all."""

from __future__ import annotations

import pytest

from integrations import services
from integrations.models import WebhookEndpoint, WebhookMessage
from tests.factories import ApplicantFactory, OfficerFactory
from tests.integrations.conftest import (
    ALL_EVENTS,
    RECEIVER_URL,
    bearer,
    endpoint_for,
)

pytestmark = pytest.mark.django_db

ENDPOINTS = "/api/v1/webhooks/endpoints/"


def _create(client, auth, url=RECEIVER_URL, events=None, **extra):
    return client.post(
        ENDPOINTS,
        {"url": url, "events": events or ALL_EVENTS},
        content_type="application/json",
        **auth,
        **extra,
    )


def test_registering_an_endpoint_shows_its_secret_once(client, filer):
    auth = bearer(filer.user)
    created = _create(client, auth, events=["case.decided", "application.submitted"])

    assert created.status_code == 201, created.json()
    body = created.json()
    endpoint = WebhookEndpoint.objects.get(public_id=body["id"])
    assert endpoint.client == filer
    assert body["secret"] == endpoint.secret
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["application.submitted", "case.decided"]
    assert body["is_active"] is True
    # never again: neither the list nor the detail shows it
    listed = client.get(ENDPOINTS, **auth).json()["results"]
    assert [row["id"] for row in listed] == [body["id"]]
    assert "secret" not in listed[0]
    assert "secret" not in client.get(f"{ENDPOINTS}{body['id']}/", **auth).json()


def test_registering_is_idempotent_with_a_key(client, filer):
    auth = bearer(filer.user)
    first = _create(client, auth, HTTP_IDEMPOTENCY_KEY="register-1")
    again = _create(client, auth, HTTP_IDEMPOTENCY_KEY="register-1")
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.parametrize("address", ["10.0.0.5", "127.0.0.1", "169.254.169.254", "::1"])
def test_an_endpoint_resolving_to_a_private_address_is_refused_with_422(
    client, filer, resolver, address
):
    resolver.set("hooks.example.org", address)
    response = _create(client, bearer(filer.user), url="https://hooks.example.org/kvisa")

    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "webhook_url_refused"
    assert not WebhookEndpoint.objects.exists()


def test_an_http_endpoint_is_refused_in_production_mode(client, filer, settings):
    settings.WEBHOOKS_ALLOW_HTTP = False  # its production value (test_addresses checks that)
    response = _create(client, bearer(filer.user), url=f"http://{RECEIVER_URL[8:]}")

    assert response.status_code == 422
    assert response.json()["code"] == "webhook_url_refused"
    assert "https" in response.json()["detail"]


def test_changing_the_url_checks_it_again(client, filer, endpoint, resolver):
    resolver.set("internal.example.org", "192.168.0.10")
    response = client.patch(
        f"{ENDPOINTS}{endpoint.public_id}/",
        {"url": "https://internal.example.org/"},
        content_type="application/json",
        **bearer(filer.user),
    )
    assert response.status_code == 422
    endpoint.refresh_from_db()
    assert endpoint.url == RECEIVER_URL


def test_unknown_event_types_are_refused(client, filer):
    response = _create(client, bearer(filer.user), events=["case.deleted"])
    assert response.status_code == 400
    assert "events" in response.json()["errors"]


def test_updating_and_deleting_an_endpoint(client, filer, endpoint):
    auth = bearer(filer.user)
    url = f"{ENDPOINTS}{endpoint.public_id}/"
    off = client.patch(
        url,
        {"is_active": False, "events": ["visa.issued"]},
        content_type="application/json",
        **auth,
    )
    assert off.status_code == 200
    assert off.json()["is_active"] is False
    assert off.json()["events"] == ["visa.issued"]
    assert off.json()["disabled_at"] is None  # turned off by the client, not disabled

    assert client.delete(url, **auth).status_code == 204
    assert not WebhookEndpoint.objects.exists()
    assert client.get(url, **auth).status_code == 404


def test_a_client_sees_only_its_own_endpoints_and_messages(
    client, filer, other_filer, endpoint, filed_submission, receiver
):
    receiver.post(RECEIVER_URL, status=200)
    (message_id,) = services.outbox_dispatch()
    services.webhook_deliver(message_id=message_id)
    message = WebhookMessage.objects.get(pk=message_id)
    endpoint_for(other_filer, url="https://hooks.receiver.test/other")
    theirs = bearer(other_filer.user)
    detail = f"{ENDPOINTS}{endpoint.public_id}/"

    assert [row["url"] for row in client.get(ENDPOINTS, **theirs).json()["results"]] == [
        "https://hooks.receiver.test/other"
    ]
    assert client.get(detail, **theirs).status_code == 404
    assert client.get(f"{detail}messages/", **theirs).status_code == 404
    patch = client.patch(detail, {"is_active": False}, content_type="application/json", **theirs)
    assert patch.status_code == 404
    assert client.delete(detail, **theirs).status_code == 404
    redeliver = f"/api/v1/webhooks/messages/{message.public_id}/redeliver/"
    assert client.post(redeliver, **theirs).status_code == 404
    endpoint.refresh_from_db()
    assert endpoint.is_active
    message.refresh_from_db()
    assert message.state == WebhookMessage.State.DELIVERED


@pytest.mark.parametrize("who", ["officer", "applicant"])
def test_officers_and_applicants_are_refused(client, who):
    user = OfficerFactory() if who == "officer" else ApplicantFactory()
    auth = bearer(user)
    response = client.get(ENDPOINTS, **auth)
    assert response.status_code == 403
    assert response.json()["code"] == "not_an_integration_client"
    assert _create(client, auth).status_code == 403


def test_anonymous_callers_are_401(client):
    assert client.get(ENDPOINTS).status_code == 401


def test_an_inactive_client_is_refused(client, filer):
    auth = bearer(filer.user)
    filer.is_active = False
    filer.save()
    assert client.get(ENDPOINTS, **auth).status_code == 403


def test_the_delivery_log_lists_messages_with_their_attempts_and_redelivers(
    client, filer, endpoint, filed_submission, receiver, django_capture_on_commit_callbacks
):
    receiver.post(RECEIVER_URL, status=500)
    (message_id,) = services.outbox_dispatch()
    services.webhook_deliver(message_id=message_id)
    auth = bearer(filer.user)

    page = client.get(f"{ENDPOINTS}{endpoint.public_id}/messages/", **auth)

    assert page.status_code == 200
    (row,) = page.json()["results"]
    message = WebhookMessage.objects.select_related("event").get(pk=message_id)
    assert row["id"] == str(message.public_id)
    assert row["webhook_id"] == str(message.event.public_id)
    assert row["type"] == "application.submitted"
    assert row["state"] == "pending"
    assert row["attempts"] == 1
    (attempt,) = row["log"]
    assert attempt["status_code"] == 500
    assert attempt["error"] == "HTTP 500"
    assert attempt["next_attempt_at"] is not None

    receiver.replace("POST", RECEIVER_URL, status=200)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        redelivered = client.post(
            f"/api/v1/webhooks/messages/{message.public_id}/redeliver/",
            HTTP_IDEMPOTENCY_KEY="again-1",
            **auth,
        )
    assert redelivered.status_code == 202, redelivered.json()
    assert redelivered.json()["attempts"] == 0
    assert len(queued) == 1  # the delivery, after commit
    services.webhook_deliver(message_id=message_id)
    message.refresh_from_db()
    assert message.state == WebhookMessage.State.DELIVERED


def test_redelivery_waits_for_a_disabled_endpoint_to_be_re_enabled(
    client, filer, endpoint, filed_submission
):
    (message_id,) = services.outbox_dispatch()
    message = WebhookMessage.objects.get(pk=message_id)
    services.webhook_endpoint_update(endpoint=endpoint, is_active=False)
    response = client.post(
        f"/api/v1/webhooks/messages/{message.public_id}/redeliver/", **bearer(filer.user)
    )
    assert response.status_code == 409
    assert response.json()["code"] == "webhook_endpoint_inactive"


def test_the_delivery_log_pages_with_a_cursor_in_a_fixed_number_of_queries(
    client, filer, endpoint, filed_submission, django_assert_num_queries
):
    from django.db import transaction

    from ops.events import event_emit
    from ops.models import EventType

    with transaction.atomic():
        for _ in range(5):
            event_emit(
                type=EventType.CASE_DECIDED,
                application_id=filed_submission.pk,
                payload={"reference": filed_submission.reference},
            )
    assert len(services.outbox_dispatch()) == 6
    auth = bearer(filer.user)
    url = f"{ENDPOINTS}{endpoint.public_id}/messages/?page_size=4"

    # token with its user and client, endpoint, the page of messages with their events, the
    # page's attempts: never per row
    with django_assert_num_queries(4):
        first = client.get(url, **auth).json()
    with django_assert_num_queries(4):
        second = client.get(first["next"], **auth).json()
    assert len(first["results"]) == 4
    assert len(second["results"]) == 2
    ids = [row["id"] for row in first["results"] + second["results"]]
    assert len(set(ids)) == 6
