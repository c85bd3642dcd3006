"""Every API operation, for every kind of caller: refused (401/403) exactly when the caller lacks
what the operation's permission asks for. The operations are read from the URLconf, so a new
endpoint is in the matrix without anyone adding it."""

from __future__ import annotations

import uuid

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.api_auth import OFFICER_SCOPES, ScopeRequired
from accounts.models import Scope
from accounts.services import api_client_create, api_token_issue
from integrations.apis import IsIntegrationClient
from tests.factories import ApplicantFactory, OfficerFactory

pytestmark = pytest.mark.django_db

KWARGS = {
    "code": "standard",
    "reference": "KV-2026-0000001-2",
    "document_id": uuid.uuid4(),
    "decision_id": uuid.uuid4(),
    "endpoint_id": uuid.uuid4(),
    "message_id": uuid.uuid4(),
    "application_id": uuid.uuid4(),
}


def _api_views() -> list[tuple[str, type]]:
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and route.startswith("api/v1/"):
                found.append((route, pattern.callback.view_class))

    walk(get_resolver().url_patterns, "")
    return found


def _url(route: str) -> str:
    import re

    def fill(match: re.Match[str]) -> str:
        return str(KWARGS[match.group(1).split(":")[-1]])

    return "/" + re.sub(r"<([^>]+)>", fill, route)


def _requirement(view: type) -> str:
    """The scope an operation needs, or "client" for integration-client-only operations."""
    for permission in view.permission_classes:
        if isinstance(permission, type) and issubclass(permission, ScopeRequired):
            return permission.scope
        if permission is IsIntegrationClient:
            return "client"
    raise AssertionError(f"{view.__name__} declares no scope")


CALLERS = ["anonymous", "applicant", "officer", *(f"client:{s.value}" for s in Scope)]
OPERATIONS = [
    (route, view, method)
    for route, view in _api_views()
    for method in ("get", "post", "patch", "delete")
    if hasattr(view, method)
]


def test_the_matrix_covers_the_api():
    assert len(OPERATIONS) >= 20
    routes = {route for route, _view, _method in OPERATIONS}
    assert "api/v1/visas/verify/" in routes
    assert "api/v1/applications/" in routes


def _headers(caller: str) -> dict[str, str]:
    if caller == "anonymous":
        return {}
    if caller == "applicant":
        user = ApplicantFactory()
    elif caller == "officer":
        user = OfficerFactory()
    else:
        user = api_client_create(name=caller, scopes=[caller.split(":", 1)[1]]).user
    _token, plain = api_token_issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}


def _allowed(caller: str, requirement: str) -> bool:
    if caller in ("anonymous", "applicant"):
        return False
    if caller == "officer":
        return requirement in OFFICER_SCOPES
    return requirement == "client" or caller == f"client:{requirement}"


@pytest.mark.parametrize("caller", CALLERS)
def test_each_operation_admits_exactly_the_callers_with_its_scope(client, caller):
    headers = _headers(caller)
    wrong = []
    for route, view, method in OPERATIONS:
        response = getattr(client, method)(
            _url(route), {}, content_type="application/json", **headers
        )
        refused = response.status_code in (401, 403)
        if refused == _allowed(caller, _requirement(view)):
            wrong.append(f"{method.upper()} /{route}: {response.status_code}")
    assert wrong == []
