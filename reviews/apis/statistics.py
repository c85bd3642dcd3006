"""Published statistics (stats:read): counts below the suppression threshold are hidden."""

from __future__ import annotations

from drf_spectacular.utils import (
    extend_schema,
)
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import scope_required
from accounts.models import Scope
from kvisa.schema import answer, problems
from reviews import api_examples as X


class StatisticsGroupSerializer(serializers.Serializer):
    submitted = serializers.IntegerField()
    approved = serializers.IntegerField(allow_null=True)
    refused = serializers.IntegerField(allow_null=True)


class StatisticsFieldSerializer(StatisticsGroupSerializer):
    field = serializers.CharField(help_text="STEM field code of the latest degree.")


class StatisticsNationalitySerializer(StatisticsGroupSerializer):
    nationality = serializers.CharField(help_text="ISO 3166-1 alpha-2.")


class StatisticsApi(APIView):
    """Aggregate figures of the caseload; counts below `minimum_count` are null or left out."""

    permission_classes = [scope_required(Scope.STATS_READ)]

    class StatisticsOutputSerializer(serializers.Serializer):
        generated_at = serializers.DateTimeField()
        minimum_count = serializers.IntegerField()
        applications = serializers.DictField(
            child=serializers.IntegerField(allow_null=True), help_text="Status → count."
        )
        decided = serializers.IntegerField(allow_null=True)
        approval_rate = serializers.FloatField(allow_null=True)
        processing_days = serializers.DictField(child=serializers.FloatField(allow_null=True))
        by_field = StatisticsFieldSerializer(many=True)
        by_nationality = StatisticsNationalitySerializer(many=True)

    @extend_schema(
        operation_id="statistics_retrieve",
        examples=[
            answer(X.STATISTICS, "Counts under 10 are withheld"),
        ],
        responses={200: StatisticsOutputSerializer, **problems(401, 403, 429)},
        tags=["statistics"],
    )
    def get(self, request: Request) -> Response:
        from reviews.statistics import statistics

        return Response(self.StatisticsOutputSerializer(statistics()).data)
