"""The officer API's writes that decide: evidence requests, decisions and second review."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kvisa.schema import answer, body, problems
from ops.idempotency import idempotent
from reviews import api_examples as X
from reviews import selectors, services
from reviews.apis.common import (
    DECIDE,
    IF_MATCH,
    DecisionSerializer,
    if_match_version,
    request_case,
    request_officer,
    stale_is_412,
)
from reviews.models import Decision, Entries


class EvidenceRequestCreateApi(APIView):
    permission_classes = [DECIDE]

    class EvidenceRequestCreateInputSerializer(serializers.Serializer):
        items = serializers.ListField(child=serializers.CharField(max_length=300), min_length=1)
        message = serializers.CharField()
        due_on = serializers.DateField()

    class EvidenceRequestCreateOutputSerializer(serializers.Serializer):
        id = serializers.UUIDField(source="public_id")
        items = serializers.ListField(child=serializers.CharField())
        message = serializers.CharField()
        due_at = serializers.DateTimeField()
        state = serializers.CharField()

    @extend_schema(
        operation_id="cases_evidence_requests_create",
        parameters=[IF_MATCH],
        request=EvidenceRequestCreateInputSerializer,
        responses={
            201: EvidenceRequestCreateOutputSerializer,
            **problems(400, 401, 403, 404, 409, 412, 422),
        },
        examples=[
            answer(X.EVIDENCE_REQUEST, "Open until its due date", status=201),
            OpenApiExample(
                "Ask for a transcript",
                value={
                    "items": ["Academic transcript of the master's degree"],
                    "message": "The transcript is missing from the file.",
                    "due_on": "2027-01-15",
                },
                request_only=True,
            ),
        ],
        tags=["cases"],
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        application = request_case(request, reference)
        data = self.EvidenceRequestCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = stale_is_412(
            services.evidence_request_create,
            application=application,
            officer=request_officer(request),
            expected_version=if_match_version(request, required=False),
            **data.validated_data,
        )
        return Response(
            self.EvidenceRequestCreateOutputSerializer(evidence).data,
            status=status.HTTP_201_CREATED,
        )


class DecisionCreateApi(APIView):
    """Approve or refuse the case you hold. Needs If-Match with the case's ETag."""

    permission_classes = [DECIDE]

    class DecisionCreateInputSerializer(serializers.Serializer):
        outcome = serializers.ChoiceField(choices=Decision.Outcome.choices)
        reasons = serializers.ListField(child=serializers.CharField(), required=False)
        statement = serializers.CharField(required=False, allow_blank=True, default="")
        valid_from = serializers.DateField(required=False)
        valid_until = serializers.DateField(required=False)
        entries = serializers.ChoiceField(choices=Entries.choices, required=False)
        max_stay_days = serializers.IntegerField(required=False, min_value=1)

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            terms = ("valid_from", "valid_until", "entries", "max_stay_days")
            if attrs["outcome"] == Decision.Outcome.APPROVE:
                missing = [name for name in terms if name not in attrs]
                if missing:
                    raise serializers.ValidationError(
                        {name: ["An approval needs this visa term."] for name in missing}
                    )
            return attrs

    @extend_schema(
        operation_id="cases_decisions_create",
        parameters=[IF_MATCH],
        request=DecisionCreateInputSerializer,
        responses={
            201: DecisionSerializer,
            **problems(400, 401, 403, 404, 409, 412, 422, 428),
        },
        examples=[
            answer(X.DECISION, "An approval drawn for second review", status=201),
            answer(X.DECISION_REFUSED, "A refusal: always second-reviewed", status=201),
            OpenApiExample(
                "Approve with shortened terms",
                value={
                    "outcome": "approve",
                    "valid_from": "2027-01-01",
                    "valid_until": "2027-12-31",
                    "entries": "multiple",
                    "max_stay_days": 90,
                },
                request_only=True,
            ),
            OpenApiExample(
                "Refuse",
                value={
                    "outcome": "refuse",
                    "reasons": ["criteria-not-met"],
                    "statement": "The degree is not in a STEM field.",
                },
                request_only=True,
            ),
        ],
        tags=["cases"],
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        application = request_case(request, reference)
        expected = if_match_version(request, required=True)
        data = self.DecisionCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        terms = (
            services.VisaTerms(
                valid_from=values["valid_from"],
                valid_until=values["valid_until"],
                entries=values["entries"],
                max_stay_days=values["max_stay_days"],
            )
            if values["outcome"] == Decision.Outcome.APPROVE
            else None
        )
        decision = stale_is_412(
            services.decision_make,
            application=application,
            officer=request_officer(request),
            outcome=values["outcome"],
            reason_codes=values.get("reasons", []),
            statement=values["statement"],
            terms=terms,
            expected_version=expected,
        )
        return Response(DecisionSerializer(decision).data, status=status.HTTP_201_CREATED)


class SecondReviewApi(APIView):
    """Confirm or send back a decision waiting for a second officer (not your own)."""

    permission_classes = [DECIDE]

    class SecondReviewInputSerializer(serializers.Serializer):
        action = serializers.ChoiceField(
            choices=[("confirm", "confirm"), ("send_back", "send back")]
        )
        comment = serializers.CharField(required=False, allow_blank=True, default="")

    @extend_schema(
        operation_id="decisions_second_review",
        examples=[
            body({"action": "confirm", "comment": "Agreed."}, "Confirm"),
            body(
                {
                    "action": "send_back",
                    "comment": "The degree was verified by the registry: please look again.",
                },
                "Send back",
            ),
            answer(X.DECISION_CONFIRMED, "Confirmed: the decision is final"),
        ],
        request=SecondReviewInputSerializer,
        responses={
            200: DecisionSerializer,
            **problems(400, 401, 403, 404, 409, 422),
        },
        tags=["cases"],
    )
    @idempotent
    def post(self, request: Request, decision_id: str) -> Response:
        officer = request_officer(request)
        decision = selectors.decision_for_officer(officer=officer, decision_id=decision_id)
        data = self.SecondReviewInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["action"] == "confirm":
            decision = services.second_review_confirm(
                decision=decision, reviewer=officer, comment=data.validated_data["comment"]
            )
        else:
            decision = services.second_review_send_back(
                decision=decision, reviewer=officer, comment=data.validated_data["comment"]
            )
        decision = selectors.decision_for_officer(officer=officer, decision_id=decision_id)
        return Response(DecisionSerializer(decision).data)
