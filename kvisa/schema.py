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
