"""Deliveries connect only to addresses checked at connect time (integrations/transport.py).

A real HTTP server on 127.0.0.1 stands in for a host on our own network; the name server is
the only thing faked (the `resolver` fixture), since the sandbox has no public DNS.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks.webhooks import Webhook

from integrations import addresses, services, tasks
from integrations.models import WebhookMessage
from tests.integrations.conftest import endpoint_for


class _Recorder(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:  # the test output stays quiet
        pass


@pytest.fixture
def internal_server() -> Iterator[ThreadingHTTPServer]:
    """A server inside our network, on 127.0.0.1, recording what reaches it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def _http_allowed(settings):
    settings.WEBHOOKS_ALLOW_HTTP = True  # the test server speaks plain HTTP


def _deliver_one() -> WebhookMessage:
    (message_id,) = services.outbox_dispatch()
    tasks.webhook_deliver(message_id)
    return WebhookMessage.objects.prefetch_related("log").get(pk=message_id)


@pytest.mark.usefixtures("_http_allowed")
def test_a_name_that_rebinds_to_loopback_after_the_check_reaches_nothing(
    filer, internal_server, resolver, filed_submission
):
    port = internal_server.server_port
    resolver.set("hooks.rebind.test", "93.184.216.34")
    endpoint_for(filer, url=f"http://hooks.rebind.test:{port}/kvisa")  # checked: public
    # From now on: public for the first lookup (the check before sending), then loopback.
    resolver.rebind("hooks.rebind.test", "93.184.216.34", "127.0.0.1")
    resolver.lookups.clear()
    message = _deliver_one()

    assert internal_server.received == []  # type: ignore[attr-defined]
    (attempt,) = message.log.all()
    assert attempt.status_code is None
    assert attempt.error.startswith("refused:")
    assert "not public" in attempt.error
    assert resolver.lookups.count("hooks.rebind.test") == 2  # the check, then the connection


@pytest.mark.usefixtures("_http_allowed")
def test_the_connection_goes_to_the_address_checked_with_the_host_header_intact(
    filer, internal_server, resolver, monkeypatch, filed_submission
):
    # Take 127.0.0.1 for a public address, as if the server were out on the internet.
    real = addresses._forbidden
    monkeypatch.setattr(addresses, "_forbidden", lambda a: False if a.is_loopback else real(a))
    port = internal_server.server_port
    resolver.set("hooks.public.test", "127.0.0.1")
    endpoint = endpoint_for(filer, url=f"http://hooks.public.test:{port}/kvisa")
    message = _deliver_one()

    assert message.state == WebhookMessage.State.DELIVERED
    ((headers, body),) = internal_server.received  # type: ignore[attr-defined]
    assert headers["Host"] == f"hooks.public.test:{port}"
    assert Webhook(endpoint.secret).verify(body, headers)["type"] == "application.submitted"


@pytest.mark.usefixtures("_http_allowed")
def test_an_operator_listed_host_is_connected_to_without_the_check(
    filer, internal_server, settings, filed_submission
):
    settings.WEBHOOKS_ALLOWED_HOSTS = ["localhost"]
    endpoint_for(filer, url=f"http://localhost:{internal_server.server_port}/kvisa")
    assert _deliver_one().state == WebhookMessage.State.DELIVERED
    assert len(internal_server.received) == 1  # type: ignore[attr-defined]
