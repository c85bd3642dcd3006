"""Every API error is RFC 9457 problem details, and rate limits apply per caller."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import Scope
from accounts.services import api_client_create
from reviews import selectors
from tests.reviews.test_api import bearer

pytestmark = pytest.mark.django_db


def _is_problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["code"]
    return body


def test_401_403_404_405_415_and_400_are_problem_details(client, case, officer):
    auth = bearer(officer)
    _is_problem(client.get("/api/v1/cases/"), 401)
    _is_problem(
        client.get("/api/v1/cases/", **bearer(api_client_create(name="B", scopes=[]).user)), 403
    )
    _is_problem(client.get("/api/v1/cases/KV-2026-9999999-0/", **auth), 404)
    _is_problem(client.get("/api/v1/no-such-endpoint/", **auth), 404)
    _is_problem(client.get(f"/api/v1/queues/{case.queue_entry.queue.code}/claim/", **auth), 405)
    url = f"/api/v1/cases/{case.reference}/notes/"
    _is_problem(client.post(url, "text", content_type="text/plain", **auth), 415)
    _is_problem(client.post(url, "{not json", content_type="application/json", **auth), 400)


def test_a_crash_is_a_500_problem_without_details(case, officer, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "officer_queues", broken)
    client = Client(raise_request_exception=False)
    body = _is_problem(client.get("/api/v1/queues/", **bearer(officer)), 500)
    assert "fire" not in str(body)


def test_each_caller_has_its_own_rate_limit(client, officer, second_officer, settings):
    settings.API_RATES = {**settings.API_RATES, "user": "3/minute"}
    mine, theirs = bearer(officer), bearer(second_officer)
    for _ in range(3):
        assert client.get("/api/v1/queues/", **mine).status_code == 200
    limited = client.get("/api/v1/queues/", **mine)
    _is_problem(limited, 429)
    assert int(limited["Retry-After"]) > 0
    assert client.get("/api/v1/queues/", **theirs).status_code == 200


def test_border_systems_verify_a_visa_by_number_and_passport(client, case, officer, settings):
    from reviews import services

    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    services.decision_make(
        application=case,
        officer=officer,
        outcome="approve",
        terms=services.default_visa_terms(case),
    )
    visa = case.visa
    border = bearer(api_client_create(name="Border", scopes=[Scope.VISAS_VERIFY]).user)
    url = "/api/v1/visas/verify/"

    ok = client.post(
        url,
        {"visa_number": visa.number.lower(), "passport_number": case.passport_number},
        content_type="application/json",
        **border,
    )
    assert ok.status_code == 200
    assert ok.json()["valid"] is True
    assert ok.json()["reason"] == "valid"
    assert ok.json()["entries"] == visa.entries

    for number, passport in ((visa.number, "WRONG123"), ("K999999999", case.passport_number)):
        miss = client.post(
            url,
            {"visa_number": number, "passport_number": passport},
            content_type="application/json",
            **border,
        ).json()
        assert miss == {**miss, "valid": False, "reason": "no_match", "valid_until": None}

    officer_call = client.post(
        url,
        {"visa_number": visa.number, "passport_number": "x"},
        content_type="application/json",
        **bearer(officer),
    )
    assert officer_call.status_code == 403
