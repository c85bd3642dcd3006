"""OpenAPI generation tweaks that hold for every endpoint (drf-spectacular)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema

from ops.idempotency import IDEMPOTENCY_KEY


class KvisaAutoSchema(AutoSchema):
    """Every POST accepts an Idempotency-Key (ops.idempotency wraps every POST handler)."""

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters
