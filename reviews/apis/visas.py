"""The border systems' visa check (visas:verify)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import scope_required
from accounts.models import Scope
from kvisa.schema import answer, problems
from ops.idempotency import idempotent
from reviews import api_examples as X
from reviews import selectors, services


class VisaVerifyApi(APIView):
    """Is this visa valid for this passport? For border and police systems (visas:verify).

    A POST, so the passport number never appears in a URL or an access log. An unknown visa
    number and a passport that does not match get the same answer.
    """

    permission_classes = [scope_required(Scope.VISAS_VERIFY)]
    throttle_scope = "visas"

    class VisaVerifyInputSerializer(serializers.Serializer):
        visa_number = serializers.CharField(max_length=20)
        passport_number = serializers.CharField(max_length=40)

    class VisaVerifyOutputSerializer(serializers.Serializer):
        valid = serializers.BooleanField()
        reason = serializers.ChoiceField(
            choices=["valid", "no_match", "not_yet_valid", "expired", "revoked"]
        )
        valid_from = serializers.DateField(allow_null=True)
        valid_until = serializers.DateField(allow_null=True)
        entries = serializers.CharField(allow_null=True)
        max_stay_days = serializers.IntegerField(allow_null=True)
        checked_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="visas_verify",
        request=VisaVerifyInputSerializer,
        responses={200: VisaVerifyOutputSerializer, **problems(400, 401, 403)},
        examples=[
            answer(X.VISA_VALID, "Valid"),
            answer(X.VISA_CHECK, "Issued, not yet valid"),
            answer(X.VISA_NO_MATCH, "No such visa for this passport"),
            OpenApiExample(
                "Check a visa at the border",
                value={"visa_number": "K000012347", "passport_number": "X1234567"},
                request_only=True,
            ),
        ],
        tags=["visas"],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = self.VisaVerifyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        visa = selectors.visa_for_border_check(
            number=data.validated_data["visa_number"],
            passport_number=data.validated_data["passport_number"],
        )
        now = timezone.now()
        if visa is None:
            body: dict[str, Any] = {
                "valid": False,
                "reason": "no_match",
                "valid_from": None,
                "valid_until": None,
                "entries": None,
                "max_stay_days": None,
            }
        else:
            reason = services.visa_state(visa)
            body = {
                "valid": reason == "valid",
                "reason": reason,
                "valid_from": visa.valid_from,
                "valid_until": visa.valid_until,
                "entries": visa.entries,
                "max_stay_days": visa.max_stay_days,
            }
        body["checked_at"] = now
        return Response(self.VisaVerifyOutputSerializer(body).data)
