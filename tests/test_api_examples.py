"""The published schema carries an example for every body it describes, and every example is
true: it validates against the schema of the operation it illustrates.

Integrators read the schema and nothing else (issue 6), so an example is part of the contract;
a serializer change that makes one stale fails here.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from kvisa.errors import PROBLEM_CONTENT_TYPE
from tests import api_schema

METHODS = ("get", "post", "put", "patch", "delete")


def _operations() -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", operation)
        for path, item in api_schema._schema()["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


OPERATIONS = _operations()


def _examples(media: dict[str, Any]) -> dict[str, Any]:
    if "example" in media:
        return {"example": media["example"]}
    return {name: example["value"] for name, example in media.get("examples", {}).items()}


def _violations(schema: dict[str, Any], value: Any) -> list[str]:
    validator = Draft202012Validator(
        api_schema._rewrite_refs(schema), registry=api_schema._registry()
    )
    return [
        f"/{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(value)
    ]


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_every_json_request_body_has_a_valid_example(name, operation):
    content = operation.get("requestBody", {}).get("content", {})
    for media_type, media in content.items():
        if not media_type.endswith("json"):
            continue
        examples = _examples(media)
        assert examples, f"{name}: request body {media_type} has no example"
        for example, value in examples.items():
            assert not _violations(media["schema"], value), (
                example,
                _violations(media["schema"], value),
            )


@pytest.mark.parametrize(("name", "operation"), OPERATIONS, ids=[n for n, _ in OPERATIONS])
def test_every_response_body_has_a_valid_example(name, operation):
    for status, response in operation["responses"].items():
        for media_type, media in response.get("content", {}).items():
            if not media_type.endswith("json"):
                continue  # a downloaded document has no JSON to show
            examples = _examples(media)
            assert examples, f"{name} {status} {media_type}: no example"
            for example, value in examples.items():
                problems = _violations(media["schema"], value)
                assert not problems, f"{name} {status} example {example!r}: {problems}"
                if media_type == PROBLEM_CONTENT_TYPE:
                    assert value["status"] == int(status), f"{name} {status}: {example!r}"


def test_the_examples_cover_what_an_integrator_does_first():
    """Not only shapes: the claim, decision and filing examples show the real journey."""
    operations = dict(OPERATIONS)
    claim = operations["POST /api/v1/queues/{code}/claim/"]["responses"]["200"]
    (claimed,) = _examples(claim["content"]["application/json"]).values()
    assert claimed["queue_entry"]["state"] == "in_review"
    decision = operations["POST /api/v1/cases/{reference}/decisions/"]
    requests = _examples(decision["requestBody"]["content"]["application/json"]).values()
    assert {body["outcome"] for body in requests} == {"approve", "refuse"}
