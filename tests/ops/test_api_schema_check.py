"""The schema check every API test passes through (tests/api_schema.py) does catch a lie."""

from __future__ import annotations

import json

import pytest
from django.http import HttpResponse

from tests.api_schema import SchemaViolation, check


def _json(status: int, body, content_type: str = "application/json") -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type=content_type)


def test_an_undocumented_status_fails():
    with pytest.raises(SchemaViolation, match="answered 418"):
        check(path="/api/v1/queues/", method="GET", response=_json(418, {}))


def test_a_body_of_the_wrong_shape_fails():
    with pytest.raises(SchemaViolation, match="is not of type 'array'"):
        check(path="/api/v1/queues/", method="GET", response=_json(200, {"queues": []}))
    wrong_field = [{"code": "standard", "waiting_count": "many"}]
    with pytest.raises(SchemaViolation):
        check(path="/api/v1/queues/", method="GET", response=_json(200, wrong_field))


def test_a_problem_with_the_wrong_content_type_fails():
    problem = {"type": "about:blank", "title": "x", "status": 404, "code": "x", "detail": "x"}
    check(
        path="/api/v1/cases/KV-2026-0000001-2/",
        method="GET",
        response=_json(404, problem, "application/problem+json"),
    )
    with pytest.raises(SchemaViolation, match="is application/json"):
        check(path="/api/v1/cases/KV-2026-0000001-2/", method="GET", response=_json(404, problem))


def test_paths_outside_the_api_are_not_checked():
    check(path="/workspace/", method="GET", response=HttpResponse("<html>", status=418))
