"""Who may open every workspace URL: each name in reviews/urls.py, for each kind of visitor.

ROUTES must name every URL of reviews.urls (a test checks), so a new page cannot ship without
its row here. A refused visitor never reaches the view: no personal-data access is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from reviews import services, urls
from reviews.models import CaseAccess, Letter
from tests.factories import ApplicantFactory, OfficerFactory, SupervisorFactory, login_with_mfa
from tests.reviews.conftest import officer_in, queued_cases

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Route:
    method: str  # the one method the view answers
    scope: str = ""  # "case" or "queue": 404 to an officer outside the case's queue
    supervisor_only: bool = False
    access: str = ""  # the CaseAccess action a successful GET records
    data: dict[str, Any] = field(default_factory=dict)


ROUTES: dict[str, Route] = {
    "home": Route("get"),
    "queue": Route("get", scope="queue"),
    "claim": Route("post", scope="queue"),
    "case": Route("get", scope="case", access=CaseAccess.Action.CASE_FILE),
    "release": Route("post", scope="case"),
    "reassign": Route("post", scope="case", supervisor_only=True),
    "note_add": Route("post", scope="case", data={"text": "Checked."}),
    "evidence_request": Route("post", scope="case"),
    "decide": Route("post", scope="case"),
    "second_review_decide": Route("post", scope="case"),
    "document": Route("get", scope="case", access=CaseAccess.Action.DOCUMENT),
    "letter": Route("get", scope="case", access=CaseAccess.Action.LETTER),
    "second_review": Route("get"),
    "audit": Route("get", supervisor_only=True),
    "access_log": Route("get", supervisor_only=True),
    "api_tokens": Route("get"),
    "api_token_create": Route("post", data={"label": "export script", "days": "30"}),
    "api_token_revoke": Route("post", data={"key": "kv_nothing"}),
}

ACTORS = ["anonymous", "applicant", "officer_without_totp", "outsider", "member", "supervisor"]


def test_every_workspace_url_is_in_the_matrix():
    assert {pattern.name for pattern in urls.urlpatterns} == set(ROUTES)


@pytest.fixture
def world(case, queue, settings):
    """The case (pending a second review), a decided case with its letter, and one person of
    each kind. The supervisor is deliberately no member of the queue."""
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    author = officer_in(queue)
    (decided,) = queued_cases(queue, 1)  # older than `case`: claimed first
    services.case_claim_next(officer=author, queue=queue)
    approval = services.decision_make(
        application=decided,
        officer=author,
        outcome="approve",
        terms=services.default_visa_terms(decided),
    )
    Letter.objects.create(
        application=decided,
        decision=approval,
        kind=Letter.Kind.APPROVAL,
        file=ContentFile(b"%PDF-1.4 letter", name="letter.pdf"),
        sha256="0" * 64,
        size=15,
    )
    services.case_claim_next(officer=author, queue=queue)
    pending = services.decision_make(
        application=case, officer=author, outcome="refuse", reason_codes=["criteria-not-met"]
    )
    kwargs = {
        "queue": {"code": queue.code},
        "case": {"reference": case.reference},
        "document": {
            "reference": case.reference,
            "document_id": case.documents.get(kind="photo").public_id,
        },
        "letter": {"reference": decided.reference},
        "second_review_decide": {"reference": case.reference, "decision_id": pending.public_id},
    }
    return {
        "kwargs": kwargs,
        "anonymous": None,
        "applicant": ApplicantFactory(),
        "officer_without_totp": officer_in(queue, with_totp=False),
        "outsider": OfficerFactory(),
        "member": officer_in(queue),
        "supervisor": SupervisorFactory(),
    }


def url_of(name: str, world: dict[str, Any]) -> str:
    route = ROUTES[name]
    kwargs = world["kwargs"].get(name) or world["kwargs"].get(route.scope) or {}
    return reverse(f"reviews:{name}", kwargs=kwargs)


def expected(name: str, actor: str) -> str:
    route = ROUTES[name]
    if actor == "anonymous":
        return "login"
    if actor == "applicant":
        return "404"
    if route.supervisor_only and actor != "supervisor":
        return "404"  # the permission is checked before the second factor
    if actor == "officer_without_totp":
        return "enrol"
    if actor == "outsider" and route.scope:
        return "404"
    return "allowed"


def sign_in(client, user, actor: str) -> None:
    if actor in ("applicant", "officer_without_totp"):
        client.force_login(user)
    elif user is not None:
        login_with_mfa(client, user)


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("name", list(ROUTES))
def test_access(client, world, name, actor):
    route = ROUTES[name]
    user = world[actor]
    sign_in(client, user, actor)
    url = url_of(name, world)

    response = getattr(client, route.method)(url, route.data)

    outcome = expected(name, actor)
    if outcome == "login":
        assert response.status_code == 302
        assert response.url.startswith(f"{reverse('account_login')}?next=")
    elif outcome == "enrol":
        assert response.status_code == 302
        assert response.url == reverse("mfa_activate_totp")
    elif outcome == "404":
        assert response.status_code == 404
    else:
        # Past the gate: a page, or the view's own answer (a redirect within the workspace,
        # or the case page again with the service's refusal).
        if route.method == "get":
            assert response.status_code == 200
        else:
            # (a new API token is rendered once rather than redirected: 200)
            allowed = (200,) if name == "api_token_create" else (302, 403, 409, 422)
            assert response.status_code in allowed
            if response.status_code == 302:
                assert response.url.startswith("/workspace/")
    recorded = list(CaseAccess.objects.values_list("officer", "action"))
    if outcome == "allowed" and route.access:
        assert recorded == [(user.pk, route.access)]
    elif route.method == "get" or outcome != "allowed":
        assert recorded == []


@pytest.mark.parametrize("name", list(ROUTES))
def test_each_url_answers_only_its_method(client, world, name):
    login_with_mfa(client, world["supervisor"])
    url = url_of(name, world)
    wrong = "post" if ROUTES[name].method == "get" else "get"

    assert getattr(client, wrong)(url).status_code == 405


@pytest.mark.parametrize("name", [n for n, r in ROUTES.items() if r.scope == "case"])
def test_a_case_url_of_an_unknown_reference_is_404(client, world, name):
    login_with_mfa(client, world["supervisor"])
    kwargs = dict(world["kwargs"].get(name) or world["kwargs"]["case"])
    kwargs["reference"] = "KV-2026-9999999-9"

    response = getattr(client, ROUTES[name].method)(reverse(f"reviews:{name}", kwargs=kwargs))

    assert response.status_code == 404
