"""What an officer may see, in a fixed number of queries whatever the data size.

Object-level access lives here: an officer sees the cases of the queues they belong to; a
supervisor sees every case that reached screening. Anything else is NotFound, so a probing
officer cannot tell a case that exists from one that does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Min, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from applications.models import (
    Application,
    Degree,
    Document,
    EvidenceRequest,
    Status,
    TimelineEvent,
)
from kvisa.errors import NotFound
from policy.models import ReviewQueue
from reviews.models import CaseAccess, CaseNote, Decision, Letter, Visa
from screening.models import QueueEntry, Screening


def officer_queues(*, officer: User) -> QuerySet[ReviewQueue]:
    """The active queues the officer belongs to, with their counts: one query.

    waiting, oldest waiting, overdue (waiting or in review past the due date), in review,
    waiting for evidence, and waiting for second review.
    """
    now = timezone.now()
    waiting = Q(entries__state=QueueEntry.State.WAITING)
    return (
        ReviewQueue.objects.filter(members=officer, is_active=True)
        .annotate(
            waiting_count=Count("entries", filter=waiting),
            oldest_waiting_at=Min("entries__entered_at", filter=waiting),
            overdue_count=Count(
                "entries",
                filter=Q(
                    entries__state__in=[QueueEntry.State.WAITING, QueueEntry.State.IN_REVIEW],
                    entries__due_at__lt=now,
                ),
            ),
            in_review_count=Count("entries", filter=Q(entries__state=QueueEntry.State.IN_REVIEW)),
            paused_count=Count("entries", filter=Q(entries__state=QueueEntry.State.PAUSED)),
            second_review_count=Count(
                "entries", filter=Q(entries__state=QueueEntry.State.SECOND_REVIEW)
            ),
        )
        .order_by("-priority", "code")
    )


def queue_for_officer(*, officer: User, code: str) -> ReviewQueue:
    """A queue the officer belongs to (supervisors: any queue), else NotFound."""
    queues = ReviewQueue.objects.all()
    if not officer.is_supervisor:
        queues = queues.filter(members=officer)
    queue = queues.filter(code=code).first()
    if queue is None:
        raise NotFound
    return queue


def queue_entries(
    *, queue: ReviewQueue, states: list[str] | None = None, limit: int = 50
) -> list[QueueEntry]:
    """The open cases of a queue in claim order (claimable first), with their holders."""
    states = states or [
        QueueEntry.State.WAITING,
        QueueEntry.State.IN_REVIEW,
        QueueEntry.State.SECOND_REVIEW,
    ]
    return list(
        QueueEntry.objects.filter(queue=queue, state__in=states)
        .select_related("application", "claimed_by")
        .only(
            "state",
            "priority",
            "entered_at",
            "due_at",
            "escalated_at",
            "claimed_at",
            "lease_expires_at",
            "application__reference",
            "application__public_id",
            "application__status",
            "application__family_name",
            "application__given_names",
            "application__nationality",
            "application__submitted_at",
            "claimed_by__email",
            "claimed_by__full_name",
        )
        .order_by("-priority", "entered_at")[:limit]
    )


def visible_cases(*, officer: User) -> QuerySet[Application]:
    """Every application the caller may open (no drafts, ever): a supervisor all, an officer
    those of their queues, an integration client only those it filed."""
    cases = Application.objects.exclude(status=Status.DRAFT).exclude(reference=None)
    client = getattr(officer, "api_client", None) if officer.is_api_client else None
    if client is not None:
        # "filing" is integrations.ApplicationFiling's relation, named without importing the
        # app above this one.
        return cases.filter(filing__client=client)
    if officer.is_supervisor:
        return cases
    return cases.filter(queue_entry__queue__members=officer)


def case_for_officer(*, officer: User, reference: str) -> Application:
    application = (
        visible_cases(officer=officer)
        .select_related(
            "applicant",
            "policy_version",
            "queue_entry__queue",
            "queue_entry__claimed_by",
            "post_field",
            "employer_institution",
        )
        .filter(reference=reference)
        .first()
    )
    if application is None:
        raise NotFound
    return application


def case_key_for_officer(*, officer: User, reference: str) -> Application:
    """A case the officer may open, with only its key and reference loaded, else NotFound:
    access for a write whose service locks and re-reads the case itself (release)."""
    application = (
        visible_cases(officer=officer).filter(reference=reference).only("pk", "reference").first()
    )
    if application is None:
        raise NotFound
    return application


@dataclass
class CaseFile:
    application: Application
    entry: QueueEntry | None
    screening: Screening | None
    degrees: list[Degree]
    documents: list[Document]
    timeline: list[TimelineEvent]
    notes: list[CaseNote]
    evidence_requests: list[EvidenceRequest]
    decisions: list[Decision]
    visa: Visa | None
    letter: Letter | None
    # Related applications named by integrity flags that this officer may open.
    related_visible: set[str] = field(default_factory=set)

    @property
    def pending_decision(self) -> Decision | None:
        return next((d for d in self.decisions if d.state == Decision.State.AWAITING_REVIEW), None)

    @property
    def sent_back(self) -> Decision | None:
        """The latest decision a second reviewer sent back, if it is the latest decision."""
        latest = self.decisions[0] if self.decisions else None
        return latest if latest and latest.state == Decision.State.SENT_BACK else None


def case_file(*, officer: User, application: Application) -> CaseFile:
    """Everything the case page shows, in a fixed number of queries."""
    entry = getattr(application, "queue_entry", None)
    screening = (
        Screening.objects.filter(application=application, is_current=True)
        .select_related("policy_version", "queue")
        .first()
    )
    degrees = list(
        Degree.objects.filter(application=application).select_related("field", "institution")
    )
    documents = list(
        Document.objects.filter(application=application).select_related("degree__field")
    )
    timeline = list(
        TimelineEvent.objects.filter(application=application)
        .select_related("actor")
        .order_by("at", "pk")
    )
    notes = case_notes(application=application)
    evidence_requests = list(
        EvidenceRequest.objects.filter(application=application)
        .select_related("requested_by", "response")
        .prefetch_related("response__documents")
    )
    decisions = list(
        Decision.objects.filter(application=application)
        .select_related("decided_by", "reviewed_by")
        .prefetch_related("reasons")
    )
    visa = Visa.objects.filter(application=application).first()
    letter = Letter.objects.filter(application=application).order_by("-created_at").first()
    related_refs = {
        related["reference"]
        for flag in (screening.flags if screening else [])
        for related in flag.get("related", [])
        if related.get("reference")
    }
    related_visible: set[str] = (
        {
            reference
            for reference in visible_cases(officer=officer)
            .filter(reference__in=related_refs)
            .values_list("reference", flat=True)
            if reference
        }
        if related_refs
        else set()
    )
    return CaseFile(
        application=application,
        entry=entry,
        screening=screening,
        degrees=degrees,
        documents=documents,
        timeline=timeline,
        notes=notes,
        evidence_requests=evidence_requests,
        decisions=decisions,
        visa=visa,
        letter=letter,
        related_visible=related_visible,
    )


def case_document(*, officer: User, reference: str, document_id: Any) -> Document:
    """A document of a case the officer may open, else NotFound."""
    document = (
        Document.objects.filter(
            application__in=visible_cases(officer=officer).filter(reference=reference),
            public_id=document_id,
        )
        .select_related("application")
        .first()
    )
    if document is None:
        raise NotFound
    return document


def access_record(
    *, officer: User, application: Application, action: str, document: Document | None = None
) -> CaseAccess:
    """Record that the officer opened personal data of this case."""
    return CaseAccess.objects.create(
        officer=officer, application=application, action=action, document=document
    )


def _reviewable_decisions(officer: User) -> QuerySet[Decision]:
    """Decisions waiting for a second officer that this officer may review: in their queues
    (supervisors: all), never their own."""
    decisions = Decision.objects.filter(state=Decision.State.AWAITING_REVIEW).exclude(
        decided_by=officer
    )
    if not officer.is_supervisor:
        decisions = decisions.filter(application__queue_entry__queue__members=officer)
    return decisions


def second_review_list(*, officer: User, limit: int = 50) -> list[Decision]:
    """The decisions this officer may review (_reviewable_decisions), oldest first."""
    return list(
        _reviewable_decisions(officer)
        .select_related("application", "decided_by", "application__queue_entry__queue")
        .prefetch_related("reasons")
        .order_by("decided_at")[:limit]
    )


@dataclass(frozen=True)
class AuditFilters:
    reference: str = ""
    actor: int | None = None
    kind: str = ""
    before: datetime | None = None  # keyset cursor (time, id): events older than this one
    before_id: int | None = None


AUDIT_PAGE = 100


def _older_than(at: datetime, pk: int | None) -> Q:
    """Rows after (at, pk) in newest-first order: the keyset cursor of the audit pages."""
    return Q(at__lt=at) | Q(at=at, pk__lt=pk) if pk else Q(at__lt=at)


def audit_events(*, filters: AuditFilters) -> list[TimelineEvent]:
    """The audit trail across cases, newest first, one page (keyset: no COUNT over the table)."""
    events = TimelineEvent.objects.select_related("actor", "application").only(
        "at",
        "kind",
        "from_status",
        "to_status",
        "message",
        "public",
        "data",
        "actor__email",
        "actor__full_name",
        "application__reference",
    )
    if filters.reference:
        events = events.filter(application__reference=filters.reference)
    if filters.actor:
        events = events.filter(actor_id=filters.actor)
    if filters.kind:
        events = events.filter(kind=filters.kind)
    if filters.before:
        events = events.filter(_older_than(filters.before, filters.before_id))
    return list(events.order_by("-at", "-pk")[:AUDIT_PAGE])


def access_log(
    *,
    reference: str = "",
    officer_id: int | None = None,
    before: datetime | None = None,
    before_id: int | None = None,
) -> list[CaseAccess]:
    """Who opened which case's personal data, newest first, one page."""
    rows = CaseAccess.objects.select_related("officer", "application", "document")
    if reference:
        rows = rows.filter(application__reference=reference)
    if officer_id:
        rows = rows.filter(officer_id=officer_id)
    if before:
        rows = rows.filter(_older_than(before, before_id))
    return list(rows.order_by("-at", "-pk")[:AUDIT_PAGE])


# --- Workspace pages ---------------------------------------------------------------------------


def second_review_count(*, officer: User) -> int:
    """How many decisions wait for this officer's second review (the start page shows the
    number, not the list)."""
    return _reviewable_decisions(officer).count()


def queues_not_joined(*, officer: User) -> QuerySet[ReviewQueue]:
    """Active queues the officer is not a member of: a supervisor's way into every queue."""
    return (
        ReviewQueue.objects.filter(is_active=True)
        .exclude(members=officer)
        .order_by("-priority", "code")
    )


def queue_members(*, queue: ReviewQueue) -> QuerySet[User]:
    """The active members of a queue, whom a supervisor can give its cases to."""
    return (
        queue.members.filter(is_active=True)
        .only("email", "full_name")
        .order_by("full_name", "email")
    )


def queue_names() -> dict[str, str]:
    """Queue code → name in the active language (timeline events name queues by code)."""
    return {
        queue.code: queue.name for queue in ReviewQueue.objects.only("code", "name_en", "name_zh")
    }


def people_named(*, ids: set[int]) -> dict[int, User]:
    """The users behind ids that timeline events carry in their data (holders, reassignees)."""
    if not ids:
        return {}
    return {user.pk: user for user in User.objects.filter(pk__in=ids).only("email", "full_name")}


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=email).first()


def case_decision(*, application: Application, decision_id: Any) -> Decision:
    """A decision of a case the officer already may open, else NotFound."""
    decision = (
        Decision.objects.filter(application=application, public_id=decision_id)
        .select_related("application")
        .first()
    )
    if decision is None:
        raise NotFound
    return decision


def case_letter(*, application: Application) -> Letter:
    """The latest decision letter of a case the officer already may open, else NotFound."""
    letter = Letter.objects.filter(application=application).order_by("-created_at").first()
    if letter is None:
        raise NotFound
    letter.application = application
    return letter


# --- API -------------------------------------------------------------------------------------


def case_notes(*, application: Application) -> list[CaseNote]:
    return list(CaseNote.objects.filter(application=application).select_related("author"))


def decision_for_officer(*, officer: User, decision_id: Any) -> Decision:
    """A decision on a case the officer may open, else NotFound."""
    decision = (
        Decision.objects.filter(
            application__in=visible_cases(officer=officer), public_id=decision_id
        )
        .select_related("application", "decided_by", "reviewed_by")
        .prefetch_related("reasons")
        .first()
    )
    if decision is None:
        raise NotFound
    return decision


def visa_by_token(*, token: str) -> Visa | None:
    """The visa behind a verification link; only what the public page shows is read (never
    the passport digest)."""
    return (
        Visa.objects.filter(verification_token=token)
        .only(
            "valid_from",
            "valid_until",
            "entries",
            "max_stay_days",
            "holder_name",
            "holder_nationality",
            "revoked_at",
        )
        .first()
    )


def visa_for_border_check(*, number: str, passport_number: str) -> Visa | None:
    """The visa with this number whose holder's passport is this one, else None (one answer
    for an unknown number and a wrong passport, so neither can be probed separately)."""
    import hmac

    from applications.crypto import InvalidIdentifier, identifier_digest

    visa = Visa.objects.filter(number=number.strip().upper()).first()
    try:
        digest = identifier_digest(
            kind=f"passport:{visa.holder_nationality if visa else 'XX'}", value=passport_number
        )
    except InvalidIdentifier:
        return None
    if visa is None or not hmac.compare_digest(digest, visa.passport_digest):
        return None
    return visa
