"""The baselines each HTTP scenario is measured against, in the same run on the same server.

Every baseline runs behind the same middleware as the project (it is served by the same
gunicorn through bench.urls), so a ratio shows what the real endpoint adds on top of Django:

- ``case_list_values``: the officer case list's 50 rows (same filter, order and columns),
  straight from ``values()`` as JSON, without authentication, serializers or pagination;
- ``case_detail_values``: one case and its current screening (with the explanation), the same
  way;
- ``DocumentCreateApi``: a minimal DRF create: token authentication, the default throttles, a
  serializer and one INSERT of the posted JSON document;
- ``hello``: a bare ``HttpResponse``.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.models import BenchDocument
from reviews.apis.common import CASE_SUMMARY_COLUMNS

# What CaseSummarySerializer shows, as columns: the very columns the API's list reads.
CASE_COLUMNS = CASE_SUMMARY_COLUMNS


def tables_create() -> None:
    """The baselines' table (idempotent)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_document (id bigserial PRIMARY KEY, "
            "body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )


def case_list_values(request: HttpRequest) -> JsonResponse:
    """The first page of the case list for ?queue=&status=, newest submission first."""
    from applications.models import Application

    cases = Application.objects.exclude(reference=None)
    if queue := request.GET.get("queue"):
        cases = cases.filter(queue_entry__queue__code=queue)
    if statuses := request.GET.getlist("status"):
        cases = cases.filter(status__in=statuses)
    rows = list(cases.order_by("-submitted_at", "-id").values(*CASE_COLUMNS)[:50])
    return JsonResponse({"next": None, "previous": None, "results": rows})


def case_detail_values(request: HttpRequest, reference: str) -> JsonResponse:
    """One case's row and its current screening's explanation."""
    from applications.models import Application
    from screening.models import Screening

    row = (
        Application.objects.filter(reference=reference)
        .values("id", *CASE_COLUMNS, "date_of_birth", "contact_email", "snapshot")
        .first()
    )
    if row is None:
        return JsonResponse({"detail": "not found"}, status=404)
    row["screening"] = (
        Screening.objects.filter(application_id=row.pop("id"), is_current=True)
        .values("eligible", "points", "fast_track", "evaluation", "flags", "queue__code")
        .first()
    )
    return JsonResponse(row)


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"hello", content_type="text/plain")


class DocumentCreateApi(APIView):
    """A minimal DRF create: the posted JSON document, stored as it is."""

    class DocumentSerializer(serializers.Serializer):
        body = serializers.JSONField()

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = self.DocumentSerializer(data={"body": request.data})
        data.is_valid(raise_exception=True)
        document = BenchDocument.objects.create(body=data.validated_data["body"])
        return Response({"id": document.pk}, status=status.HTTP_201_CREATED)


urlpatterns = [
    path("cases/", case_list_values, name="bench-cases"),
    path("cases/<str:reference>/", case_detail_values, name="bench-case"),
    path("documents/", DocumentCreateApi.as_view(), name="bench-documents"),
    path("hello/", hello, name="bench-hello"),
]
