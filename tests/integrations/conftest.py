"""Webhook fixtures: integration clients, a filed application, endpoints pointing at a fake
receiver (the `responses` library stands in for the client's server, nothing else is mocked)
and a resolver for the host names the address checks look up."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import responses

from accounts.models import ApiClient, Scope
from accounts.services import api_client_create
from applications.models import Application
from integrations import services
from integrations.models import ApplicationFiling, WebhookEndpoint
from ops.models import EventType
from tests.applications.conftest import (  # noqa: F401 (fixtures and builders)
    complete_draft,
    draft,
    media_root,
    submit,
    submitted,
)
from tests.factories import bearer  # noqa: F401 (the tests import it from here)
from tests.reviews.conftest import (  # noqa: F401 (fixtures)
    case,
    officer,
    queue,
    second_officer,
)

RECEIVER_HOST = "hooks.receiver.test"
RECEIVER_URL = f"https://{RECEIVER_HOST}/kvisa"
ALL_EVENTS = list(EventType.values)


@pytest.fixture(autouse=True)
def _receiver_is_allowed(settings):
    """The fake receiver's host is exempt from the address check, as an operator would list
    a receiver on the internal network; the SSRF tests use other hosts."""
    settings.WEBHOOKS_ALLOWED_HOSTS = [RECEIVER_HOST]


@pytest.fixture
def receiver() -> Iterator[responses.RequestsMock]:
    """The client's server. Every POST our workers make is recorded in ``receiver.calls``;
    a request nobody registered fails the test (responses raises ConnectionError)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


class Resolver:
    """socket.getaddrinfo for chosen host names; every other name resolves as usual (the
    database and Redis connections go through the real one)."""

    def __init__(self) -> None:
        self.answers: dict[str, list[str]] = {}
        self._real = socket.getaddrinfo

        self.then: dict[str, list[str]] = {}
        self.lookups: list[str] = []

    def set(self, host: str, *addresses: str) -> None:
        self.answers[host] = list(addresses)

    def rebind(self, host: str, first: str, then: str) -> None:
        """`first` for the first lookup of `host`, `then` for every later one (DNS rebinding:
        a hostile name server with a time-to-live of zero)."""
        self.answers[host] = [first]
        self.then[host] = [then]

    def __call__(self, host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in self.answers:
            return self._real(host, port, *args, **kwargs)
        self.lookups.append(host)
        if len([h for h in self.lookups if h == host]) > 1 and host in self.then:
            self.answers[host] = self.then[host]
        if not self.answers[host]:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            (
                socket.AF_INET6 if ":" in address else socket.AF_INET,
                socket.SOCK_STREAM,
                6,
                "",
                (address, port or 443, 0, 0) if ":" in address else (address, port or 443),
            )
            for address in self.answers[host]
        ]


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    fake = Resolver()
    monkeypatch.setattr(socket, "getaddrinfo", fake)
    return fake


def client_with(name: str, *scopes: str, contact_email: str = "") -> ApiClient:
    return api_client_create(name=name, scopes=list(scopes), contact_email=contact_email)


@pytest.fixture
def filer(db) -> ApiClient:
    """An institution's system that files applications on behalf of applicants."""
    return client_with(
        "Lagos University", Scope.APPLICATIONS_SUBMIT, contact_email="it@unilag.test"
    )


@pytest.fixture
def other_filer(db) -> ApiClient:
    return client_with("Another University", Scope.APPLICATIONS_SUBMIT)


@pytest.fixture
def border(db) -> ApiClient:
    return client_with("Border control", Scope.VISAS_VERIFY)


def endpoint_for(client: ApiClient, url: str = RECEIVER_URL, events=None) -> WebhookEndpoint:
    return services.webhook_endpoint_create(client=client, url=url, events=events or ALL_EVENTS)


@pytest.fixture
def endpoint(filer) -> WebhookEndpoint:
    return endpoint_for(filer)


def file_for(client: ApiClient, application: Application) -> ApplicationFiling:
    return ApplicationFiling.objects.create(client=client, application=application)


@pytest.fixture
def filed_draft(draft, filer) -> Application:  # noqa: F811 (the imported fixture)
    """A complete draft filed by `filer` (the filing flow itself comes later)."""
    file_for(filer, draft)
    return draft


@pytest.fixture
def filed_submission(filed_draft, django_capture_on_commit_callbacks) -> Application:
    """`filed_draft`, submitted: its application.submitted event waits in the outbox."""
    with django_capture_on_commit_callbacks(execute=False):
        return submit(filed_draft)
