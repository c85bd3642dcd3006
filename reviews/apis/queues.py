"""The officer API's queues: the caller's queues with their counts, and claim next."""

from __future__ import annotations

from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kvisa.schema import answer, problems
from ops.idempotency import idempotent
from reviews import api_examples as X
from reviews import selectors, services
from reviews.apis.common import (
    DECIDE,
    READ,
    CaseSummarySerializer,
    entry_summary,
    request_officer,
)


class QueueListApi(APIView):
    """The queues the caller belongs to, with their counts. Never more than a few dozen rows,
    so not paginated."""

    permission_classes = [READ]

    class QueueListOutputSerializer(serializers.Serializer):
        code = serializers.CharField()
        name_en = serializers.CharField()
        name_zh = serializers.CharField()
        priority = serializers.IntegerField()
        service_level_days = serializers.IntegerField()
        waiting_count = serializers.IntegerField()
        oldest_waiting_at = serializers.DateTimeField(allow_null=True)
        overdue_count = serializers.IntegerField()
        in_review_count = serializers.IntegerField()
        paused_count = serializers.IntegerField()
        second_review_count = serializers.IntegerField()

    @extend_schema(
        operation_id="queues_list",
        examples=[
            answer(X.QUEUES[-1], "A queue with four cases waiting"),
        ],
        responses={200: QueueListOutputSerializer(many=True), **problems(401, 403)},
        tags=["queues"],
    )
    def get(self, request: Request) -> Response:
        queues = selectors.officer_queues(officer=request_officer(request))
        return Response(self.QueueListOutputSerializer(queues, many=True).data)


class ClaimNextApi(APIView):
    """Claim the next case of a queue (or get back the one you hold). 204 when it is empty."""

    permission_classes = [DECIDE]

    @extend_schema(
        operation_id="queues_claim",
        examples=[
            answer(X.CLAIMED, "The case now held"),
        ],
        request=None,
        responses={
            200: CaseSummarySerializer,
            204: OpenApiResponse(description="No case is waiting in this queue."),
            **problems(401, 403, 404),
        },
        tags=["queues"],
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        officer = request_officer(request)
        queue = selectors.queue_for_officer(officer=officer, code=code)
        entry = services.case_claim_next(officer=officer, queue=queue)
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # The rows the claim locked and wrote, as committed: reading them again costs a query.
        return Response(entry_summary(entry))
