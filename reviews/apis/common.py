"""What the officer API's operations share: the scopes they require, the case's version
(ETag / If-Match), the caller, and the serializers of a case summary and a decision."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, cast

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
)
from rest_framework import serializers
from rest_framework.request import Request

from accounts.api_auth import scope_required
from accounts.models import Scope, User
from applications.models import Application, Status
from kvisa.errors import PreconditionFailed, PreconditionRequired
from reviews import selectors, services
from reviews.models import Decision
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


def request_officer(request: Request) -> User:
    return cast(User, request.user)  # the scope permissions admit signed-in callers only


def case_etag(application: Application, entry: QueueEntry | None) -> str:
    return f'"{services.case_version(application=application, entry=entry)}"'


def if_match_version(request: Request, *, required: bool) -> str | None:
    """The version named by If-Match (quotes and a weak prefix removed)."""
    header = request.headers.get("If-Match", "").strip()
    if not header:
        if required:
            raise PreconditionRequired()
        return None
    return header.removeprefix("W/").strip('"')


def request_case(request: Request, reference: str) -> Application:
    return selectors.case_for_officer(officer=request_officer(request), reference=reference)


def stale_is_412(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except services.StaleCase as exc:
        raise PreconditionFailed(exc.message) from exc


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


def case_summary(row: dict[str, Any], *, now: datetime, tz: tzinfo) -> dict[str, Any]:
    """One row of CASE_SUMMARY_COLUMNS as CaseSummarySerializer shows a case; ``now`` and the
    current time zone ``tz`` are the page's, read once for all its rows."""
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


def entry_summary(entry: QueueEntry) -> dict[str, Any]:
    """CaseSummarySerializer's answer for the case of a queue entry whose application and queue
    are loaded (what claim and release hand back), through the case list's ``case_summary``
    without building the serializer's fields on every call."""
    application = entry.application
    holder = entry.claimed_by.email if entry.claimed_by is not None else None
    row = {
        "reference": application.reference,
        "status": application.status,
        "family_name": application.family_name,
        "given_names": application.given_names,
        "nationality": str(application.nationality),  # a Country on the model, a code in JSON
        "path": application.path,
        "submitted_at": application.submitted_at,
        "queue_entry__queue__code": entry.queue.code,
        "queue_entry__state": entry.state,
        "queue_entry__priority": entry.priority,
        "queue_entry__entered_at": entry.entered_at,
        "queue_entry__due_at": entry.due_at,
        "queue_entry__claimed_by__email": holder,
        "queue_entry__lease_expires_at": entry.lease_expires_at,
    }
    return case_summary(row, now=timezone.now(), tz=timezone.get_current_timezone())


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
