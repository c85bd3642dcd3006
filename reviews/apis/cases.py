"""The officer API's cases: the list, one case's file, release, documents, timeline and notes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import FileResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from applications.models import Application, Degree, Status, TimelineEvent
from applications.uploads import private_file_response
from kvisa.pagination import StrictCursorPagination
from kvisa.schema import answer, body, problems
from ops.idempotency import idempotent
from reviews import api_examples as X
from reviews import selectors, services
from reviews.apis.common import (
    CASE_SUMMARY_COLUMNS,
    DECIDE,
    ETAG,
    READ,
    CaseSummarySerializer,
    DecisionSerializer,
    case_etag,
    case_summary,
    entry_summary,
    request_case,
    request_officer,
)
from reviews.models import CaseAccess


class UtcDateTimeField(IsoDateTimeField):
    """An ISO 8601 date-time, held in UTC: PostgreSQL refuses offsets past ±15:59, which ISO
    allows, and a date-time that leaves the calendar once in UTC is refused here, not by the
    database (both were 500s)."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except OverflowError as exc:
            raise forms.ValidationError(_("This date and time is out of range.")) from exc


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class CaseFilter(django_filters.FilterSet):
    queue = django_filters.CharFilter(field_name="queue_entry__queue__code")
    # distinct=False: django-filter's default DISTINCT (for multi-valued relations) would sort
    # every matching case before the first page; a status is a column, never a duplicate.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    field = django_filters.CharFilter(method="filter_field", label="STEM field code")
    nationality = django_filters.CharFilter(lookup_expr="iexact")
    submitted_after = UtcDateTimeFilter(field_name="submitted_at", lookup_expr="gte")
    submitted_before = UtcDateTimeFilter(field_name="submitted_at", lookup_expr="lt")
    overdue = django_filters.BooleanFilter(method="filter_overdue")
    reference = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Application
        fields: list[str] = []

    def get_form_class(self) -> type[forms.Form]:
        # django-filter builds a new form class on every request from its filters' fields
        # (labels looked up, fields made): the same class each time, as no field here depends
        # on the request. Built once; each form still deep-copies the fields it validates with.
        form_class = type(self).__dict__.get("_form_class")
        if form_class is None:
            form_class = super().get_form_class()
            type(self)._form_class = form_class
        return form_class

    def filter_field(self, queryset: QuerySet[Application], name: str, value: str) -> Any:
        # EXISTS, not a join: a join over degrees needs DISTINCT, which defeats the index that
        # serves the list's order.
        degree = Degree.objects.filter(application=OuterRef("pk"), field__code=value)
        return queryset.filter(Q(post_field__code=value) | Exists(degree))

    def filter_overdue(self, queryset: QuerySet[Application], name: str, value: bool) -> Any:
        overdue = Q(
            queue_entry__state__in=["waiting", "in_review"], queue_entry__due_at__lt=timezone.now()
        )
        return queryset.filter(overdue) if value else queryset.exclude(overdue)


class CasePagination(StrictCursorPagination):
    ordering = ("-submitted_at", "-id")


class CaseListApi(ListAPIView):
    """Cases the caller may open, newest submission first, filtered; cursor-paginated."""

    permission_classes = [READ]
    serializer_class = CaseSummarySerializer
    pagination_class = CasePagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = CaseFilter

    def get_queryset(self) -> QuerySet[Application]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return Application.objects.none()
        return selectors.visible_cases(officer=request_officer(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cases = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(cases.values(*CASE_SUMMARY_COLUMNS))
        now, tz = timezone.now(), timezone.get_current_timezone()
        rows = [case_summary(row, now=now, tz=tz) for row in page or ()]
        return self.get_paginated_response(rows)

    @extend_schema(
        operation_id="cases_list",
        examples=[
            answer(X.CASE_LIST["results"][0], "A case in the standard queue"),
        ],
        parameters=[
            OpenApiParameter(name, {"type": "string", "minLength": 1}, description=text)
            for name, text in (
                ("queue", "Queue code."),
                ("field", "STEM field code (the post's or a degree's)."),
                ("nationality", "ISO 3166-1 alpha-2 code."),
                ("reference", "A reference number, exactly."),
            )
        ],
        responses={200: CaseSummarySerializer(many=True), **problems(400, 401, 403)},
        tags=["cases"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A parameter sent empty is a mistake the schema does not allow, not "no filter".
        # The filters are strict, as the schema says: a parameter sent empty, twice (other than
        # status) or, for overdue, as anything but true/false is a 400, never "no filter".
        params = request.query_params
        known = {*CaseFilter.base_filters, "cursor", "page_size"}
        errors: dict[str, list[str]] = {}
        for name in known & set(params):
            values = params.getlist(name)
            if any(value == "" for value in values):
                errors[name] = ["This parameter is empty."]
            elif name != "status" and len(values) > 1:
                errors[name] = ["Give this parameter once."]
        if (
            "overdue" in params
            and "overdue" not in errors
            and params["overdue"]
            not in (
                "true",
                "false",
            )
        ):
            errors["overdue"] = ["Either true or false."]
        if errors:
            raise serializers.ValidationError(errors)
        return super().get(request, *args, **kwargs)


class CaseDetailApi(APIView):
    """One case with the screening explanation rule by rule; records the access."""

    permission_classes = [READ]

    class CaseDetailOutputSerializer(CaseSummarySerializer):
        public_id = serializers.UUIDField()
        native_name = serializers.CharField()
        sex = serializers.CharField()
        date_of_birth = serializers.DateField(allow_null=True)
        passport_issuing_country = serializers.CharField()
        passport_expiry_date = serializers.DateField(allow_null=True)
        contact_email = serializers.EmailField()
        employer_name = serializers.CharField()
        job_title = serializers.CharField()
        planned_entry_date = serializers.DateField(allow_null=True)
        planned_stay_days = serializers.IntegerField(allow_null=True)
        snapshot = serializers.JSONField(help_text="The answers as submitted and signed.")
        screening = serializers.SerializerMethodField()
        documents = serializers.SerializerMethodField()
        decisions = serializers.SerializerMethodField()

        def get_screening(self, application: Application) -> dict[str, Any] | None:
            screening = self.context["file"].screening
            if screening is None:
                return None
            return {
                "policy_version": screening.policy_version.name,
                "eligible": screening.eligible,
                "points": screening.points,
                "fast_track": screening.fast_track,
                "rules": (screening.evaluation or {}).get("rules", []),
                "flags": screening.flags,
                "queue": screening.queue.code if screening.queue else None,
            }

        def get_documents(self, application: Application) -> list[dict[str, Any]]:
            return [
                {
                    "id": str(d.public_id),
                    "kind": d.kind,
                    "name": d.original_name,
                    "content_type": d.content_type,
                    "size": d.size,
                    "sha256": d.sha256,
                    "uploaded_at": d.uploaded_at,
                }
                for d in self.context["file"].documents
            ]

        def get_decisions(self, application: Application) -> list[dict[str, Any]]:
            return [DecisionSerializer(d).data for d in self.context["file"].decisions]

    @extend_schema(
        operation_id="cases_retrieve",
        examples=[
            answer(X.CASE, "A case in review, with its screening explained"),
        ],
        parameters=[ETAG],
        responses={
            200: CaseDetailOutputSerializer,
            **problems(401, 403, 404),
        },
        tags=["cases"],
    )
    def get(self, request: Request, reference: str) -> Response:
        officer = request_officer(request)
        application = request_case(request, reference)
        case_file = selectors.case_file(officer=officer, application=application)
        selectors.access_record(
            officer=officer, application=application, action=CaseAccess.Action.CASE_FILE
        )
        services.case_lease_renew(application=application, officer=officer)
        data = self.CaseDetailOutputSerializer(application, context={"file": case_file}).data
        return Response(data, headers={"ETag": case_etag(application, case_file.entry)})


class ReleaseApi(APIView):
    permission_classes = [DECIDE]

    @extend_schema(
        operation_id="cases_release",
        examples=[
            answer(X.RELEASED, "Back in its queue"),
        ],
        request=None,
        responses={
            200: CaseSummarySerializer,
            **problems(401, 403, 404, 409),
        },
        tags=["cases"],
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        officer = request_officer(request)
        application = selectors.case_key_for_officer(officer=officer, reference=reference)
        entry = services.case_release(application=application, actor=officer)
        # The rows the release locked and wrote, as committed: reading them again costs a query.
        return Response(entry_summary(entry))


class DocumentDownloadApi(APIView):
    permission_classes = [READ]

    @extend_schema(
        operation_id="cases_documents_download",
        responses={
            # the file as uploaded: uploads are checked to be one of these (applications.uploads)
            (200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/jpeg"): OpenApiResponse(OpenApiTypes.BINARY),
            (200, "image/png"): OpenApiResponse(OpenApiTypes.BINARY),
            **problems(401, 403, 404),
        },
        tags=["cases"],
    )
    def get(self, request: Request, reference: str, document_id: str) -> FileResponse:
        officer = request_officer(request)
        document = selectors.case_document(
            officer=officer, reference=reference, document_id=document_id
        )
        response = private_file_response(
            document.file, filename=document.original_name, content_type=document.content_type
        )
        selectors.access_record(
            officer=officer,
            application=document.application,
            action=CaseAccess.Action.DOWNLOAD,
            document=document,
        )
        return response


class TimelinePagination(StrictCursorPagination):
    ordering = ("at", "id")
    page_size = 100


class TimelineOutputSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.CharField()
    actor = serializers.EmailField(source="actor.email", allow_null=True, default=None)
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    message = serializers.CharField()
    public = serializers.BooleanField()
    details = serializers.JSONField(source="data")


class TimelineApi(ListAPIView):
    """The case's full history (internal events included), oldest first."""

    permission_classes = [READ]
    serializer_class = TimelineOutputSerializer
    pagination_class = TimelinePagination

    def get_queryset(self) -> QuerySet[TimelineEvent]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return TimelineEvent.objects.none()
        application = request_case(self.request, self.kwargs["reference"])
        return TimelineEvent.objects.filter(application=application).select_related("actor")

    @extend_schema(
        operation_id="cases_timeline",
        examples=[
            answer(X.TIMELINE["results"][1], "Claimed from its queue"),
        ],
        responses={200: TimelineOutputSerializer(many=True), **problems(401, 403, 404)},
        tags=["cases"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NotesApi(APIView):
    permission_classes = [READ]

    class NotesInputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=services.NOTE_MAX_LENGTH)

    class NotesOutputSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        author = serializers.EmailField(source="author.email")
        text = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(
        operation_id="cases_notes_list",
        examples=[
            answer(X.NOTE, "A note"),
        ],
        responses={200: NotesOutputSerializer(many=True), **problems(401, 403, 404)},
        tags=["cases"],
    )
    def get(self, request: Request, reference: str) -> Response:
        notes = selectors.case_notes(application=request_case(request, reference))
        return Response(self.NotesOutputSerializer(notes, many=True).data)

    @extend_schema(
        operation_id="cases_notes_create",
        examples=[
            body({"text": X.NOTE["text"]}, "A note for the file"),
            answer(X.NOTE, "The note", status=201),
        ],
        request=NotesInputSerializer,
        responses={
            201: NotesOutputSerializer,
            **problems(400, 401, 403, 404, 422),
        },
        tags=["cases"],
    )
    @idempotent
    def post(self, request: Request, reference: str) -> Response:
        application = request_case(request, reference)
        data = self.NotesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.note_add(
            application=application,
            author=request_officer(request),
            text=data.validated_data["text"],
        )
        return Response(self.NotesOutputSerializer(note).data, status=status.HTTP_201_CREATED)
