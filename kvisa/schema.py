"""OpenAPI generation tweaks that hold for every endpoint (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

from kvisa.errors import PROBLEM_CONTENT_TYPE
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


# Every operation can answer these, whatever it documents itself.
ALWAYS = (429, 500)


def postprocess(result: dict[str, Any], generator: Any, request: Any, public: bool) -> Any:
    """drf-spectacular postprocessing hook: make the published schema true for every answer.

    * each operation documents 429 (rate limit) and 500 as problem details, and one that takes
      a body also 400 (malformed) and 415 (a content type it does not read);
    * ``nullable: true`` (which DRF's pagination schema still writes) becomes OpenAPI 3.1's
      ``type: [..., "null"]``, so JSON Schema validators and schemathesis read it right.
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
    _nullable_to_type(result)
    return result


def _nullable_to_type(node: Any) -> None:
    if isinstance(node, dict):
        if node.pop("nullable", False) is True and isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
        for value in node.values():
            _nullable_to_type(value)
    elif isinstance(node, list):
        for value in node:
            _nullable_to_type(value)
