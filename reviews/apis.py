"""The officer API (/api/v1/): the workspace's operations for programs, one class per operation.

Every view: permission (a scope) → parse → one selector or service → serialize. The rules are
the services' and selectors' — the same as the web workspace's — so the two cannot disagree:
an officer sees the cases of their queues, only the holder decides, refusals go to a second
officer, nobody reviews their own decision. Writes to a case accept ``If-Match`` with the case's
``ETag``; decisions require it (428 without, 412 when stale).
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, cast

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
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.generics import ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_auth import scope_required
from accounts.models import Scope, User
from applications.models import Application, Degree, Status, TimelineEvent
from applications.uploads import private_file_response
from kvisa.errors import PreconditionFailed, PreconditionRequired
from kvisa.pagination import StrictCursorPagination
from kvisa.schema import answer, body, problems
from ops.idempotency import idempotent
from reviews import api_examples as X
from reviews import selectors, services
from reviews.models import CaseAccess, Decision, Entries
from screening.models import QueueEntry

READ = scope_required(Scope.CASES_READ)
DECIDE = scope_required(Scope.CASES_DECIDE)

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    description="The case's ETag from GET /cases/{reference}/: the write is refused (412) if "
    "the case changed since.",
)
ETAG = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200],
    description="The case's version: send it back as If-Match on writes.",
)


def _officer(request: Request) -> User:
    return cast(User, request.user)  # the scope permissions admit signed-in callers only


def _etag(application: Application, entry: QueueEntry | None) -> str:
    return f'"{services.case_version(application=application, entry=entry)}"'


def _if_match(request: Request, *, required: bool) -> str | None:
    """The version named by If-Match (quotes and a weak prefix removed)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        if required:
            raise PreconditionRequired()
        return None
    return header.removeprefix("W/").strip('"')


def _case(request: Request, reference: str) -> Application:
    return selectors.case_for_officer(officer=_officer(request), reference=reference)


def _stale_is_412(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except services.StaleCase as exc:
        raise PreconditionFailed(exc.message) from exc


# --- Serializers shared by several operations --------------------------------------------------


class QueueStateSerializer(serializers.Serializer):
    queue = serializers.CharField(source="queue.code")
    state = serializers.ChoiceField(choices=QueueEntry.State.choices)
    priority = serializers.IntegerField()
    entered_at = serializers.DateTimeField()
    due_at = serializers.DateTimeField()
    overdue = serializers.SerializerMethodField()
    held_by = serializers.EmailField(source="claimed_by.email", allow_null=True, default=None)
    lease_expires_at = serializers.DateTimeField(allow_null=True)

    def get_overdue(self, entry: QueueEntry) -> bool:
        return entry.state in ("waiting", "in_review") and entry.due_at < timezone.now()


class CaseSummarySerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=Status.choices)
    family_name = serializers.CharField()
    given_names = serializers.CharField()
    nationality = serializers.CharField()
    path = serializers.CharField()
    submitted_at = serializers.DateTimeField()
    queue_entry = QueueStateSerializer(allow_null=True, default=None)


# The case list reads CaseSummarySerializer's fields as values() rows: fifty rows a page then
# cost no model instances, and none of the encrypted columns an Application carries is read or
# decrypted. The serializer stays the published shape; tests/reviews/test_api.py checks that
# both give the same answer for a case in every queue state.
CASE_SUMMARY_COLUMNS = (
    "reference",
    "status",
    "family_name",
    "given_names",
    "nationality",
    "path",
    "submitted_at",
    "queue_entry__queue__code",
    "queue_entry__state",
    "queue_entry__priority",
    "queue_entry__entered_at",
    "queue_entry__due_at",
    "queue_entry__claimed_by__email",
    "queue_entry__lease_expires_at",
)


def _when(value: datetime | None, tz: tzinfo) -> str | None:
    """A date-time as DRF's DateTimeField renders it (ISO 8601 in the current time zone, "Z"
    for UTC), without the field's per-call settings lookups: fifty rows are 200 of them."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def case_summary(row: dict[str, Any], *, now: datetime) -> dict[str, Any]:
    """One row of CASE_SUMMARY_COLUMNS as CaseSummarySerializer shows a case."""
    tz = timezone.get_current_timezone()
    state = row["queue_entry__state"]
    entry = None
    if state is not None:
        due_at = row["queue_entry__due_at"]
        entry = {
            "queue": row["queue_entry__queue__code"],
            "state": state,
            "priority": row["queue_entry__priority"],
            "entered_at": _when(row["queue_entry__entered_at"], tz),
            "due_at": _when(due_at, tz),
            "overdue": state in ("waiting", "in_review") and due_at < now,
            "held_by": row["queue_entry__claimed_by__email"],
            "lease_expires_at": _when(row["queue_entry__lease_expires_at"], tz),
        }
    return {
        "reference": row["reference"],
        "status": row["status"],
        "family_name": row["family_name"],
        "given_names": row["given_names"],
        "nationality": row["nationality"],
        "path": row["path"],
        "submitted_at": _when(row["submitted_at"], tz),
        "queue_entry": entry,
    }


# --- Queues -------------------------------------------------------------------------------------


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
        queues = selectors.officer_queues(officer=_officer(request))
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
        officer = _officer(request)
        queue = selectors.queue_for_officer(officer=officer, code=code)
        entry = services.case_claim_next(officer=officer, queue=queue)
        if entry is None:
            return Response(status=status.HTTP_204_NO_CONTENT)
        # The rows the claim locked and wrote, as committed: reading them again costs a query.
        return Response(CaseSummarySerializer(entry.application).data)


# --- Cases --------------------------------------------------------------------------------------


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
        return selectors.visible_cases(officer=_officer(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        cases = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(cases.values(*CASE_SUMMARY_COLUMNS))
        now = timezone.now()
        return self.get_paginated_response([case_summary(row, now=now) for row in page or ()])

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
        officer = _officer(request)
        application = _case(request, reference)
        case_file = selectors.case_file(officer=officer, application=application)
        selectors.access_record(
            officer=officer, application=application, action=CaseAccess.Action.CASE_FILE
        )
        services.case_lease_renew(application=application, officer=officer)
        data = self.CaseDetailOutputSerializer(application, context={"file": case_file}).data
        return Response(data, headers={"ETag": _etag(application, case_file.entry)})


class DecisionSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="public_id")
    outcome = serializers.ChoiceField(choices=Decision.Outcome.choices)
    state = serializers.ChoiceField(choices=Decision.State.choices)
    decided_by = serializers.EmailField(source="decided_by.email")
    decided_at = serializers.DateTimeField()
    reasons = serializers.SerializerMethodField()
    statement = serializers.CharField()
    valid_from = serializers.DateField(allow_null=True)
    valid_until = serializers.DateField(allow_null=True)
    entries = serializers.CharField()
    max_stay_days = serializers.IntegerField(allow_null=True)
    second_review_required = serializers.BooleanField()
    reviewed_by = serializers.EmailField(source="reviewed_by.email", allow_null=True, default=None)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    review_comment = serializers.CharField()

    def get_reasons(self, decision: Decision) -> list[str]:
        return [reason.code for reason in decision.reasons.all()]


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
        officer = _officer(request)
        application = selectors.case_key_for_officer(officer=officer, reference=reference)
        entry = services.case_release(application=application, actor=officer)
        # The rows the release locked and wrote, as committed: reading them again costs a query.
        return Response(CaseSummarySerializer(entry.application).data)


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
        officer = _officer(request)
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
        application = _case(self.request, self.kwargs["reference"])
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
        notes = selectors.case_notes(application=_case(request, reference))
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
        application = _case(request, reference)
        data = self.NotesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        note = services.note_add(
            application=application, author=_officer(request), text=data.validated_data["text"]
        )
        return Response(self.NotesOutputSerializer(note).data, status=status.HTTP_201_CREATED)


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
        application = _case(request, reference)
        data = self.EvidenceRequestCreateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        evidence = _stale_is_412(
            services.evidence_request_create,
            application=application,
            officer=_officer(request),
            expected_version=_if_match(request, required=False),
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
        application = _case(request, reference)
        expected = _if_match(request, required=True)
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
        decision = _stale_is_412(
            services.decision_make,
            application=application,
            officer=_officer(request),
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
        officer = _officer(request)
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


# --- Visas (border systems) -------------------------------------------------------------------


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


# --- Statistics --------------------------------------------------------------------------------


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
