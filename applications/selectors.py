"""Reads, scoped to the person asking. Object access is decided here and only here."""

from __future__ import annotations

import hmac
from uuid import UUID

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from accounts.models import User
from applications.crypto import InvalidIdentifier, identifier_digest
from applications.models import Application, Document, EvidenceRequest, Status, TimelineEvent
from applications.reference import InvalidReference, normalise_reference


def applications_of(user: User) -> QuerySet[Application]:
    """The applications the signed-in applicant owns (a user never sees anyone else's)."""
    if not user.is_authenticated:
        return Application.objects.none()
    return Application.objects.filter(applicant=user)


def applicant_dashboard(user: User) -> QuerySet[Application]:
    # "visa" and "letters" are the reviews app's reverse relations, named here without importing
    # reviews: the dashboard shows a decided application's visa and letter in constant queries.
    return (
        applications_of(user)
        .select_related("policy_version", "visa", "review_request")
        .prefetch_related("letters")
        .order_by("-created_at")
    )


def application_of(user: User, public_id: UUID | str) -> Application:
    """One of the user's own applications with what its pages need, or 404."""
    queryset = (
        applications_of(user)
        .prefetch_related(
            "degrees__field",
            "degrees__institution",
            "documents",
            Prefetch(
                "timeline", queryset=TimelineEvent.objects.filter(public=True).order_by("at", "pk")
            ),
            "evidence_requests",
            "letters",
        )
        .select_related(
            "employer_institution", "post_field", "policy_version", "visa", "review_request"
        )
    )
    try:
        return queryset.get(public_id=public_id)
    except (Application.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def document_of(user: User, application_id: UUID | str, document_id: UUID | str) -> Document:
    """A document the user may download: only the owner's own (officers use reviews selectors)."""
    try:
        return Document.objects.select_related("application").get(
            public_id=document_id,
            application__public_id=application_id,
            application__applicant=user,
        )
    except (Document.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def evidence_request_of(
    user: User, application_id: UUID | str, request_id: UUID | str
) -> EvidenceRequest:
    try:
        return EvidenceRequest.objects.select_related("application").get(
            public_id=request_id, application__public_id=application_id, application__applicant=user
        )
    except (EvidenceRequest.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


def public_status(*, reference: str, passport_number: str) -> Application | None:
    """Status lookup by reference + passport number.

    Returns None alike for an unknown reference and a wrong passport number, so the page
    cannot be used to learn which references exist.
    """
    try:
        normalised = normalise_reference(reference)
    except InvalidReference:
        return None
    application = (
        Application.objects.filter(reference=normalised)
        .exclude(status=Status.DRAFT)
        .only(
            "status",
            "reference",
            "submitted_at",
            "decided_at",
            "withdrawn_at",
            "updated_at",
            "passport_digest",
            "nationality",
        )
        .first()
    )
    if application is None:
        return None
    try:
        digest = identifier_digest(
            kind=f"passport:{application.nationality}", value=passport_number
        )
    except InvalidIdentifier:
        return None
    return application if hmac.compare_digest(digest, application.passport_digest) else None
