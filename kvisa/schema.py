"""OpenAPI generation tweaks that hold for every endpoint (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, inline_serializer
from rest_framework import serializers

from kvisa.errors import PROBLEM_CONTENT_TYPE, problem_body
from ops.idempotency import IDEMPOTENCY_KEY


class KvisaAutoSchema(AutoSchema):
    """Every POST accepts an Idempotency-Key (ops.idempotency wraps every POST handler)."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters


PROBLEM = OpenApiResponse(
    response=inline_serializer(
        "Problem",
        {
            "type": serializers.CharField(),
            "title": serializers.CharField(),
            "status": serializers.IntegerField(),
            "code": serializers.CharField(help_text="Stable machine-readable error code."),
            "detail": serializers.CharField(),
            "errors": serializers.DictField(
                required=False, help_text="Field name → messages, for invalid input."
            ),
        },
    ),
    description="RFC 9457 problem details.",
)


def problems(*statuses: int) -> dict[Any, OpenApiResponse]:
    """The error responses of an operation, each as application/problem+json."""
    return {(status, PROBLEM_CONTENT_TYPE): PROBLEM for status in statuses}


def answer(value: Any, name: str = "Example", *, status: int = 200) -> OpenApiExample:
    """An example of an operation's successful answer (response_only, for one status)."""
    return OpenApiExample(name, value=value, response_only=True, status_codes=[str(status)])


def body(value: Any, name: str) -> OpenApiExample:
    """An example request body."""
    return OpenApiExample(name, value=value, request_only=True)


def _problem(status: int, code: str, title: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    return problem_body(
        status_code=status, title=title, detail=detail or title, code=code, extra=extra
    )


# One example a status, in the words the API really answers with (kvisa/errors.py, DRF).
PROBLEM_EXAMPLES: dict[int, dict[str, Any]] = {
    400: _problem(
        400,
        "invalid",
        "Invalid input.",
        errors={"due_on": ["Date has wrong format. Use one of these formats instead: YYYY-MM-DD."]},
    ),
    401: _problem(401, "not_authenticated", "Authentication credentials were not provided."),
    403: _problem(
        403,
        "permission_denied",
        "You do not have permission to perform this action.",
        "This token lacks the scope cases:decide.",
    ),
    404: _problem(404, "not_found", "Not found."),
    409: _problem(
        409,
        "conflict",
        "The request conflicts with the current state of the resource.",
        "This case is held by another officer.",
    ),
    412: _problem(
        412,
        "precondition_failed",
        "The resource changed since you read it.",
        "The case changed since you read it: read it again and decide on what it is now.",
    ),
    415: _problem(
        415,
        "unsupported_media_type",
        "The request body is in a format this operation does not read.",
        'Unsupported media type "text/plain" in request.',
    ),
    422: _problem(
        422,
        "validation_failed",
        "The data is not valid.",
        "The decision is not complete.",
        errors={"reasons": ["A refusal needs at least one reason."]},
    ),
    428: _problem(
        428,
        "precondition_required",
        "This request needs an If-Match header with the resource's ETag.",
    ),
    429: _problem(
        429,
        "throttled",
        "Request was throttled.",
        "Request was throttled. Expected available in 12 seconds.",
    ),
    500: _problem(500, "server_error", "A server error occurred."),
}


def _problem_examples(operation: dict[str, Any]) -> None:
    for status, response in operation["responses"].items():
        media = response.get("content", {}).get(PROBLEM_CONTENT_TYPE)
        if media is not None and "examples" not in media and int(status) in PROBLEM_EXAMPLES:
            example = PROBLEM_EXAMPLES[int(status)]
            media["examples"] = {example["code"]: {"value": example}}


# Every operation can answer these, whatever it documents itself.
ALWAYS = (429, 500)


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: make the published schema true for every answer.

    * each operation documents 429 (rate limit) and 500 as problem details, and one that takes
      a body also 400 (malformed) and 415 (a content type it does not read);
    * ``nullable: true`` (which DRF's pagination schema still writes) becomes OpenAPI 3.1's
      ``type: [..., "null"]``, so JSON Schema validators and schemathesis read it right;
    * a field naming a long enum (the countries) keeps its own words and leaves the list of
      values to the enum, instead of repeating 250 lines in every field that uses it.
    """
    problem = {"$ref": "#/components/schemas/Problem"}
    for item in result.get("paths", {}).values():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            statuses = ALWAYS + ((400, 415) if "requestBody" in operation else ())
            if method == "post":  # ops.idempotency: a reused key (422), one in use (409)
                statuses += (409, 422)
            if any(p.get("name") == "cursor" for p in operation.get("parameters", [])):
                statuses += (404,)  # DRF's cursor pagination: an invalid cursor is a 404
            for status in statuses:
                operation["responses"].setdefault(
                    str(status),
                    {
                        "description": "RFC 9457 problem details.",
                        "content": {PROBLEM_CONTENT_TYPE: {"schema": problem}},
                    },
                )
            _problem_examples(operation)
    _nullable_to_type(result)
    _short_enum_descriptions(result)
    return result


LONG_ENUM = 20


def _short_enum_descriptions(result: dict[str, Any]) -> None:
    components = result.get("components", {}).get("schemas", {})
    long_enums = {
        f"#/components/schemas/{name}"
        for name, schema in components.items()
        if len(schema.get("enum", ())) > LONG_ENUM
    }

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            refs = {part.get("$ref") for part in node.get("allOf", ()) if isinstance(part, dict)}
            if refs & long_enums and isinstance(node.get("description"), str):
                node["description"] = node["description"].split("\n\n* `", 1)[0]
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(components)


def _nullable_to_type(node: Any) -> None:
    if isinstance(node, dict):
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_type(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_type(value)
