"""Officer work on a case: claim, release, reassign, notes, evidence requests, decisions, second
review and the visa. The web workspace and the API (issue 6) both call these; neither repeats a
rule.

Locks, always in this order: application, queue entry, decision. The applicant side (withdraw,
answer evidence) locks application then entry too, so no two paths wait on each other. Claim
next and the lease sweeper lock entry and application together with SKIP LOCKED and never wait
for another officer.

Every change writes a timeline row (actor, time) in the same transaction: the timeline is the
audit trail, and the supervisor audit view reads it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.selectors import supervisor_emails
from applications.models import Application, EvidenceRequest, Status
from applications.notifications import send_applicant_email
from applications.reference import check_digit
from applications.services import IllegalTransition, application_transition, timeline_record
from kvisa.errors import Conflict, Forbidden, ValidationFailed
from ops.events import event_emit
from ops.models import EventType
from ops.queueing import enqueue_on_commit
from policy.models import ReviewQueue
from policy.selectors import policy_in_force
from reviews import claiming
from reviews.models import ENTRIES_RANK, CaseNote, Decision, Entries, RefusalReason, Visa
from screening.models import ONE_HELD_CASE, QueueEntry, Screening
from screening.services import queue_entry_escalate, queue_entry_pause, queue_entry_resume


class NotHolder(Conflict):
    code = "not_holder"


class StaleCase(Conflict):
    """The case changed after the officer read it (the API answers 412 to a stale If-Match)."""

    code = "stale_case"


class AlreadyHolding(Conflict):
    code = "already_holding"


# --- Who may do what ---------------------------------------------------------------------------


def is_queue_member(*, officer: User, queue: ReviewQueue) -> bool:
    return queue.members.filter(pk=officer.pk).exists()


def _require_officer(officer: User) -> None:
    if not officer.is_active or not officer.is_officer:
        raise Forbidden(_("You do not have permission to work cases."))


def _not_a_member(queue: ReviewQueue) -> Forbidden:
    return Forbidden(_("You are not a member of the queue “%(queue)s”.") % {"queue": queue})


def _require_member(officer: User, queue: ReviewQueue) -> None:
    _require_officer(officer)
    if not is_queue_member(officer=officer, queue=queue):
        raise _not_a_member(queue)


def _supervisors_only() -> Forbidden:
    return Forbidden(_("Only a supervisor can do this."))


def _require_supervisor(actor: User) -> None:
    if not actor.is_active or not actor.is_supervisor:
        raise _supervisors_only()


def _require_member_or_supervisor(officer: User, queue: ReviewQueue) -> None:
    _require_officer(officer)
    if not officer.is_supervisor and not is_queue_member(officer=officer, queue=queue):
        raise _not_a_member(queue)


def _require_holder(entry: QueueEntry, officer: User) -> None:
    if entry.state == QueueEntry.State.IN_REVIEW and entry.claimed_by_id == officer.pk:
        return
    if entry.state == QueueEntry.State.SECOND_REVIEW:
        raise NotHolder(_("A decision on this case is already waiting for second review."))
    if entry.state == QueueEntry.State.IN_REVIEW:
        raise NotHolder(_("Another officer holds this case now; your change was not saved."))
    if entry.state in (QueueEntry.State.PAUSED, QueueEntry.State.DONE):
        raise NotHolder(_("This case is not open for review any more; your change was not saved."))
    raise NotHolder(_("Claim this case before working on it."))


# --- Locks and versions ------------------------------------------------------------------------


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.REVIEW_LEASE_SECONDS)


def _locked_case(application: Application) -> tuple[Application, QueueEntry]:
    """The case's application and queue entry, re-read under their locks in one statement.

    PostgreSQL locks the rows in the order FOR UPDATE OF names them, application first, so the
    order of the module docstring holds. (Read from the entry side: an entry needs an
    application, so the join is inner; the nullable side of an outer join cannot be locked.)
    """
    entry = (
        QueueEntry.objects.select_for_update(of=("application", "self"))
        .select_related("application", "queue")
        .filter(application_id=application.pk)
        .first()
    )
    if entry is None:
        raise Conflict(_("This case has not reached a review queue yet."))
    return entry.application, entry


def case_version(*, application: Application, entry: QueueEntry | None) -> str:
    """A short tag that changes whenever the case's status or queue state changes: forms carry
    it, and a decision made on a stale page is refused (the API's ETag, issue 6)."""
    parts = [str(application.pk), application.updated_at.isoformat()]
    if entry is not None:
        parts += [entry.state, entry.updated_at.isoformat()]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def _check_version(application: Application, entry: QueueEntry, expected: str | None) -> None:
    if expected is not None and expected != case_version(application=application, entry=entry):
        raise StaleCase(
            _(
                "This case changed after you opened it (another officer or the applicant acted). "
                "Nothing was saved: reload the case and check it again."
            )
        )


# --- Claim, release, reassign, leases ----------------------------------------------------------


def held_entry(*, officer: User) -> QueueEntry | None:
    return (
        QueueEntry.objects.select_related("application", "queue")
        .filter(claimed_by=officer, state=QueueEntry.State.IN_REVIEW)
        .first()
    )


def case_claim_next(*, officer: User, queue: ReviewQueue) -> QueueEntry | None:
    """Give the officer the highest-priority, longest-waiting case of the queue, under a lease.

    An officer who already holds a case gets that one back (its lease renewed). Different
    officers' claims never wait on each other: SKIP LOCKED passes over rows another claim has
    locked, entry and application together (only one officer's two claims at the same moment
    wait, one for the other: see below). None when the queue has nothing waiting.

    The entry comes back with its application, queue and holder loaded (a case summary needs
    no further query). One statement besides BEGIN and COMMIT, whatever the queue's size
    (reviews/claiming.py: membership, the claim, the application's transition and its timeline
    row); when it claims nothing, more say why (membership, the held case and its lease, or
    when none is held one more claim).
    """
    _require_officer(officer)
    entry = _claim_once(officer, queue)
    if entry is not None:
        return entry
    if not is_queue_member(officer=officer, queue=queue):
        raise _not_a_member(queue)
    held = _held_case_renewed(officer)
    if held is not None:
        return held
    # Nothing claimed and nothing held: the queue is empty, or the case held a moment ago was
    # released since (the officer's other tab), so the claim is tried once more.
    return _claim_once(officer, queue)


def _claim_once(officer: User, queue: ReviewQueue) -> QueueEntry | None:
    """The claim statement; None when it took nothing (not a member, holding a case, nothing
    waiting, or the officer's other tab claimed at the same moment)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = claiming.claim(
                officer=officer,
                queue=queue,
                now=now,
                lease_until=_lease_until(now),
                data={"queue": queue.code, "claimed": True},
            )
            if claimed is None:
                return None
            if claimed.application is None:  # rolls the claim back
                raise IllegalTransition.between(claimed.previous_status, Status.IN_REVIEW)
            entry = claimed.entry
            entry.application, entry.queue = claimed.application, queue
            entry.claimed_by = officer
            return entry
    except IntegrityError as exc:
        # The officer's other tab claimed a case at the same moment: this claim waited for it
        # on the "one held case" index, and is rolled back. That case is the answer, which
        # the caller then finds held. (Cheaper than locking the officer's row on every claim:
        # a round trip, issue 7.)
        diagnosis = getattr(exc.__cause__, "diag", None)
        if getattr(diagnosis, "constraint_name", None) != ONE_HELD_CASE:
            raise
        return None


@transaction.atomic
def _held_case_renewed(officer: User) -> QueueEntry | None:
    """The case the officer holds, with its lease renewed; None if they hold none."""
    held = held_entry(officer=officer)
    if held is None:
        return None
    held.lease_expires_at = _lease_until(timezone.now())
    QueueEntry.objects.filter(
        pk=held.pk, claimed_by=officer, state=QueueEntry.State.IN_REVIEW
    ).update(lease_expires_at=held.lease_expires_at)
    held.claimed_by = officer
    return held


@transaction.atomic
def case_release(*, application: Application, actor: User, reason: str = "") -> QueueEntry:
    """Put a held case back in its queue, keeping its place. The holder or a supervisor.

    The entry comes back with its application and queue loaded, as they are now. One
    statement (reviews/claiming.py): the case and its entry locked, the entry returned to its
    queue, the application back to queued, its two timeline rows."""
    found = claiming.release(
        application=application,
        actor=actor,
        supervisor=actor.is_active and actor.is_supervisor,
        now=timezone.now(),
        reason=reason,
    )
    if found is None:
        raise Conflict(_("This case has not reached a review queue yet."))
    held, moved = found
    if held.state != QueueEntry.State.IN_REVIEW:
        raise Conflict(_("Nobody holds this case, so there is nothing to release."))
    if moved is None:  # held by another officer, and the actor is no supervisor
        raise _supervisors_only()
    if moved.application is None:  # rolled back with the transaction
        raise IllegalTransition.between(moved.previous_status, Status.QUEUED)
    entry = moved.entry
    entry.application, entry.queue = moved.application, held.queue
    return entry


def _entry_put(entry: QueueEntry, *, state: str, holder: User | None = None) -> None:
    """Move the entry to `state`, held by `holder` under a fresh lease, or by nobody."""
    now = timezone.now()
    entry.state = state
    entry.claimed_by = holder
    entry.claimed_at = now if holder else None
    entry.lease_expires_at = _lease_until(now) if holder else None
    entry.save(
        update_fields=["state", "claimed_by", "claimed_at", "lease_expires_at", "updated_at"]
    )


def _return_to_queue(entry: QueueEntry) -> None:
    _entry_put(entry, state=QueueEntry.State.WAITING)


@transaction.atomic
def case_reassign(*, application: Application, actor: User, to: User) -> QueueEntry:
    """A supervisor hands a waiting or held case to another member of its queue."""
    _require_supervisor(actor)
    locked, entry = _locked_case(application)
    if entry.state not in (QueueEntry.State.WAITING, QueueEntry.State.IN_REVIEW):
        raise Conflict(_("Only a case that is waiting or in review can be reassigned."))
    _require_member(to, entry.queue)
    User.objects.select_for_update().filter(pk=to.pk).values_list("pk").get()
    if entry.claimed_by_id == to.pk:
        return entry
    other = held_entry(officer=to)
    if other is not None:
        raise AlreadyHolding(
            _("%(officer)s already holds case %(reference)s; it must be released first.")
            % {"officer": to.full_name or to.email, "reference": other.application.reference}
        )
    previous_holder = entry.claimed_by_id
    _entry_put(entry, state=QueueEntry.State.IN_REVIEW, holder=to)
    if locked.status == Status.QUEUED:
        application_transition(application=locked, to=Status.IN_REVIEW, actor=actor, locked=True)
    timeline_record(
        application=locked,
        kind="reassigned",
        actor=actor,
        public=False,
        data={"from": previous_holder, "to": to.pk, "queue": entry.queue.code},
    )
    return entry


def case_lease_renew(*, application: Application, officer: User) -> bool:
    """Extend the holder's lease (each page view and action of the holder); False if not held."""
    return bool(
        QueueEntry.objects.filter(
            application=application, claimed_by=officer, state=QueueEntry.State.IN_REVIEW
        ).update(lease_expires_at=_lease_until(timezone.now()))
    )


def leases_expire(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Return cases whose lease ran out to their queue (the periodic task). SKIP LOCKED: a case
    an officer is acting on right now is left for the next run."""
    now = now or timezone.now()
    with transaction.atomic():
        entries = list(
            QueueEntry.objects.select_for_update(skip_locked=True, of=("self", "application"))
            .select_related("application", "queue")
            .filter(state=QueueEntry.State.IN_REVIEW, lease_expires_at__lt=now)
            .order_by("lease_expires_at")[:limit]
        )
        for entry in entries:
            holder = entry.claimed_by_id
            _return_to_queue(entry)
            application_transition(
                application=entry.application, to=Status.QUEUED, actor=None, locked=True
            )
            timeline_record(
                application=entry.application,
                kind="lease_expired",
                actor=None,
                public=False,
                data={"holder": holder, "queue": entry.queue.code},
            )
    return [e.application_id for e in entries]


# --- Notes -------------------------------------------------------------------------------------

NOTE_MAX_LENGTH = 5000


@transaction.atomic
def note_add(*, application: Application, author: User, text: str) -> CaseNote:
    text = text.strip()
    if not text:
        raise ValidationFailed(_("Write the note first."), extra={"errors": {"text": ["required"]}})
    if len(text) > NOTE_MAX_LENGTH:
        raise ValidationFailed(
            _("A note can be at most %(max)s characters long.") % {"max": NOTE_MAX_LENGTH}
        )
    entry = QueueEntry.objects.select_related("queue").filter(application=application).first()
    if entry is None:
        _require_supervisor(author)
    else:
        _require_member_or_supervisor(author, entry.queue)
    note = CaseNote.objects.create(application=application, author=author, text=text)
    timeline_record(
        application=application, kind="note", actor=author, public=False, data={"note": note.pk}
    )
    case_lease_renew(application=application, officer=author)
    return note


# --- Evidence requests -------------------------------------------------------------------------


def _end_of_day(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(23, 59, 59)))


@transaction.atomic
def evidence_request_create(
    *,
    application: Application,
    officer: User,
    items: list[str],
    message: str,
    due_on: date,
    expected_version: str | None = None,
) -> EvidenceRequest:
    """Ask the applicant for more evidence: the case leaves the queue, its clock stops, and the
    applicant is emailed. It comes back to the returned-evidence queue when answered."""
    locked, entry = _locked_case(application)
    _require_holder(entry, officer)
    _check_version(locked, entry, expected_version)
    errors: dict[str, list[str]] = {}
    items = [item.strip() for item in items if item.strip()]
    if not items:
        errors["items"] = [_("Name at least one item the applicant must provide.")]
    elif len(items) > settings.EVIDENCE_MAX_ITEMS:
        errors["items"] = [
            _("Ask for at most %(max)s items at a time.") % {"max": settings.EVIDENCE_MAX_ITEMS}
        ]
    elif any(len(item) > 300 for item in items):
        errors["items"] = [_("Each item can be at most 300 characters long.")]
    if not message.strip():
        errors["message"] = [_("Explain to the applicant what is missing and why.")]
    today = timezone.localdate()
    earliest = today + timedelta(days=settings.EVIDENCE_MIN_DAYS)
    latest = today + timedelta(days=settings.EVIDENCE_MAX_DAYS)
    if not earliest <= due_on <= latest:
        errors["due_on"] = [
            _("The due date must be between %(earliest)s and %(latest)s.")
            % {"earliest": earliest.isoformat(), "latest": latest.isoformat()}
        ]
    if errors:
        raise ValidationFailed(
            _("The request for evidence is not complete."), extra={"errors": errors}
        )
    request = EvidenceRequest.objects.create(
        application=locked,
        requested_by=officer,
        items=items,
        message=message.strip(),
        due_at=_end_of_day(due_on),
    )
    application_transition(
        application=locked,
        to=Status.EVIDENCE_REQUESTED,
        actor=officer,
        data={"evidence_request": str(request.public_id), "due_at": request.due_at.isoformat()},
        locked=True,
    )
    queue_entry_pause(application=locked, actor=officer)
    # The items and message are free text about the applicant: they stay out of the event.
    event_emit(
        type=EventType.CASE_EVIDENCE_REQUESTED,
        application_id=locked.pk,
        payload={
            "application": str(locked.public_id),
            "reference": locked.reference,
            "status": Status.EVIDENCE_REQUESTED,
            "evidence_request": str(request.public_id),
            "due_at": request.due_at,
        },
    )
    transaction.on_commit(
        lambda: send_applicant_email(
            application=locked, template="evidence_requested", extra={"request": request}
        )
    )
    return request


def evidence_expire_overdue(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Requests whose due date passed unanswered: the case returns to the returned-evidence
    queue, escalated, so an officer decides on what is there (the periodic task)."""
    now = now or timezone.now()
    done: list[int] = []
    with transaction.atomic():
        overdue = list(
            EvidenceRequest.objects.select_for_update(skip_locked=True, of=("self", "application"))
            .select_related("application")
            .filter(state=EvidenceRequest.State.OPEN, due_at__lt=now)
            .order_by("due_at")[:limit]
        )
        for request in overdue:
            application = request.application
            request.state = EvidenceRequest.State.EXPIRED
            request.save(update_fields=["state"])
            if application.status != Status.EVIDENCE_REQUESTED:
                continue
            application_transition(
                application=application,
                to=Status.QUEUED,
                actor=None,
                data={"evidence_request": str(request.public_id), "expired": True},
                locked=True,
            )
            entry = queue_entry_resume(application=application, actor=None)
            queue_entry_escalate(entry=entry, now=now)
            timeline_record(
                application=application,
                kind="evidence_overdue",
                actor=None,
                public=False,
                data={"evidence_request": str(request.public_id)},
            )
            done.append(application.pk)
    return done


# --- Decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class VisaTerms:
    valid_from: date
    valid_until: date
    entries: str
    max_stay_days: int


def policy_visa_terms(application: Application) -> dict[str, Any]:
    """The visa terms of the policy version the case was submitted under."""
    version = application.policy_version
    return dict((version.sections if version else {}).get("visa_terms") or {})


def default_visa_terms(application: Application, *, today: date | None = None) -> VisaTerms:
    """The most the policy allows, starting today: what the approval form proposes."""
    terms = policy_visa_terms(application)
    start = today or timezone.localdate()
    return VisaTerms(
        valid_from=start,
        valid_until=start
        + relativedelta(months=int(terms.get("validity_months", 12)))
        - timedelta(1),
        entries=str(terms.get("entries", Entries.SINGLE)),
        max_stay_days=int(terms.get("max_stay_days", 30)),
    )


def _visa_terms_errors(application: Application, terms: VisaTerms | None) -> dict[str, list[str]]:
    if terms is None:
        return {"valid_from": [_("An approval needs the visa terms.")]}
    allowed = default_visa_terms(application, today=terms.valid_from)
    errors: dict[str, list[str]] = {}
    if terms.valid_from < timezone.localdate():
        errors["valid_from"] = [_("A visa cannot start in the past.")]
    if terms.valid_until < terms.valid_from:
        errors["valid_until"] = [_("The visa must end after it starts.")]
    elif terms.valid_until > allowed.valid_until:
        errors["valid_until"] = [
            _("The policy allows a validity until %(date)s at most (it may be shortened).")
            % {"date": allowed.valid_until.isoformat()}
        ]
    if terms.entries not in ENTRIES_RANK:
        errors["entries"] = [_("Choose the number of entries.")]
    elif ENTRIES_RANK[Entries(terms.entries)] > ENTRIES_RANK.get(Entries(allowed.entries), 1):
        errors["entries"] = [
            _("The policy allows at most: %(entries)s.")
            % {"entries": Entries(allowed.entries).label}
        ]
    if not 1 <= terms.max_stay_days <= allowed.max_stay_days:
        errors["max_stay_days"] = [
            _("Days per stay must be between 1 and %(max)s.") % {"max": allowed.max_stay_days}
        ]
    return errors


def _draw_for_second_review() -> bool:
    share = settings.SECOND_REVIEW_APPROVAL_SHARE
    return share > 0 and secrets.randbelow(1_000_000) < share * 1_000_000


@transaction.atomic
def decision_make(
    *,
    application: Application,
    officer: User,
    outcome: str,
    reason_codes: list[str] | None = None,
    statement: str = "",
    terms: VisaTerms | None = None,
    expected_version: str | None = None,
) -> Decision:
    """The holder decides. A refusal, or an approval drawn for sampling, waits for a second
    officer; any other approval takes effect at once."""
    locked, entry = _locked_case(application)
    _require_holder(entry, officer)
    _check_version(locked, entry, expected_version)
    if outcome not in Decision.Outcome.values:
        raise ValidationFailed(_("Choose approve or refuse."), extra={"errors": {"outcome": []}})
    statement = statement.strip()
    errors: dict[str, list[str]] = {}
    reasons: list[RefusalReason] = []
    if outcome == Decision.Outcome.REFUSE:
        codes = sorted(set(reason_codes or []))
        reasons = list(RefusalReason.objects.filter(code__in=codes, is_active=True))
        if not codes:
            errors["reasons"] = [_("Choose at least one reason for the refusal.")]
        elif len(reasons) != len(codes):
            errors["reasons"] = [_("One of the reasons chosen is not in use any more.")]
        elif any(r.requires_statement for r in reasons) and not statement:
            errors["statement"] = [_("Explain the reason in your own words.")]
        terms = None
    else:
        errors.update(_visa_terms_errors(locked, terms))
        screening = Screening.objects.filter(application=locked, is_current=True).first()
        if screening is not None and screening.eligible is False and not statement:
            errors["statement"] = [
                _("The screening found the applicant not eligible: explain why you approve.")
            ]
    if errors:
        raise ValidationFailed(_("The decision is not complete."), extra={"errors": errors})
    sampled = outcome == Decision.Outcome.APPROVE and _draw_for_second_review()
    needs_review = outcome == Decision.Outcome.REFUSE or sampled
    decision = Decision.objects.create(
        application=locked,
        outcome=outcome,
        state=Decision.State.AWAITING_REVIEW if needs_review else Decision.State.FINAL,
        policy_version_id=locked.policy_version_id or policy_in_force().pk,
        decided_by=officer,
        statement=statement,
        valid_from=terms.valid_from if terms else None,
        valid_until=terms.valid_until if terms else None,
        entries=terms.entries if terms else "",
        max_stay_days=terms.max_stay_days if terms else None,
        second_review_required=needs_review,
        sampled=sampled,
    )
    if reasons:
        decision.reasons.set(reasons)
    timeline_record(
        application=locked,
        kind="decision_proposed" if needs_review else "decided",
        actor=officer,
        public=False,
        data={"decision": str(decision.public_id), "outcome": outcome, "sampled": sampled},
    )
    if needs_review:
        _entry_put(entry, state=QueueEntry.State.SECOND_REVIEW)
    else:
        _finalise(decision=decision, application=locked, entry=entry, actor=officer)
    return decision


def _locked_decision(decision: Decision) -> tuple[Application, QueueEntry, Decision]:
    locked, entry = _locked_case(decision.application)
    return locked, entry, Decision.objects.select_for_update().get(pk=decision.pk)


def _require_second_reviewer(decision: Decision, entry: QueueEntry, reviewer: User) -> None:
    if decision.state != Decision.State.AWAITING_REVIEW:
        raise Conflict(_("This decision has already been reviewed; nothing was changed."))
    if decision.decided_by_id == reviewer.pk:
        raise Forbidden(_("You cannot review your own decision: another officer must."))
    _require_member_or_supervisor(reviewer, entry.queue)


@transaction.atomic
def second_review_confirm(*, decision: Decision, reviewer: User, comment: str = "") -> Decision:
    locked, entry, decision = _locked_decision(decision)
    _require_second_reviewer(decision, entry, reviewer)
    decision.reviewed_by = reviewer
    decision.reviewed_at = timezone.now()
    decision.review_comment = comment.strip()
    decision.save(update_fields=["reviewed_by", "reviewed_at", "review_comment"])
    timeline_record(
        application=locked,
        kind="second_review_confirmed",
        actor=reviewer,
        public=False,
        message=decision.review_comment,
        data={"decision": str(decision.public_id)},
    )
    _finalise(decision=decision, application=locked, entry=entry, actor=reviewer)
    return decision


@transaction.atomic
def second_review_send_back(*, decision: Decision, reviewer: User, comment: str) -> Decision:
    """Return the case to its queue, with the reviewer's comment on the case file."""
    if not comment.strip():
        raise ValidationFailed(
            _("Say why you send the decision back."), extra={"errors": {"comment": ["required"]}}
        )
    locked, entry, decision = _locked_decision(decision)
    _require_second_reviewer(decision, entry, reviewer)
    decision.state = Decision.State.SENT_BACK
    decision.reviewed_by = reviewer
    decision.reviewed_at = timezone.now()
    decision.review_comment = comment.strip()
    decision.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_comment"])
    _return_to_queue(entry)
    application_transition(application=locked, to=Status.QUEUED, actor=reviewer, locked=True)
    timeline_record(
        application=locked,
        kind="second_review_sent_back",
        actor=reviewer,
        public=False,
        message=decision.review_comment,
        data={"decision": str(decision.public_id)},
    )
    return decision


def _finalise(
    *, decision: Decision, application: Application, entry: QueueEntry, actor: User
) -> None:
    decision.state = Decision.State.FINAL
    decision.final_at = timezone.now()
    decision.save(update_fields=["state", "final_at"])
    approved = decision.outcome == Decision.Outcome.APPROVE
    decided = application_transition(
        application=application,
        to=Status.APPROVED if approved else Status.REFUSED,
        actor=actor,
        data={"decision": str(decision.public_id)},
        locked=True,
    )
    event_emit(
        type=EventType.CASE_DECIDED,
        application_id=decided.pk,
        payload={
            "application": str(decided.public_id),
            "reference": decided.reference,
            "status": decided.status,
            "decision": str(decision.public_id),
            "outcome": decision.outcome,
            "decided_at": decided.decided_at,
        },
    )
    _entry_put(entry, state=QueueEntry.State.DONE)
    if approved:
        visa = visa_issue(decision=decision, application=application)
        timeline_record(
            application=application,
            kind="visa_issued",
            actor=actor,
            public=True,
            data={"visa": visa.number},
        )
    from reviews.tasks import letter_issue

    enqueue_on_commit(letter_issue, decision.pk)


# --- Visas -------------------------------------------------------------------------------------

VISA_NUMBER_SEQUENCE = "reviews_visa_number_seq"


def _next_visa_number() -> str:
    """``K`` + eight digits from a database sequence + a Damm check digit, e.g. K000012347."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [VISA_NUMBER_SEQUENCE])
        (value,) = cursor.fetchone()
    digits = f"{value:08d}"
    return f"K{digits}{check_digit(digits)}"


def visa_issue(*, decision: Decision, application: Application) -> Visa:
    assert decision.valid_from
    assert decision.valid_until
    assert decision.max_stay_days
    visa = Visa.objects.create(
        application=application,
        decision=decision,
        number=_next_visa_number(),
        valid_from=decision.valid_from,
        valid_until=decision.valid_until,
        entries=decision.entries,
        max_stay_days=decision.max_stay_days,
        holder_name=f"{application.family_name.upper()}, {application.given_names}".strip(", "),
        holder_nationality=str(application.nationality),
        passport_digest=application.passport_digest,
        verification_token=secrets.token_urlsafe(32),
    )
    # For border systems: the visa's terms, never the holder's name or passport.
    event_emit(
        type=EventType.VISA_ISSUED,
        application_id=application.pk,
        payload={
            "visa_number": visa.number,
            "valid_from": visa.valid_from,
            "valid_until": visa.valid_until,
            "entries": visa.entries,
            "max_stay_days": visa.max_stay_days,
        },
    )
    return visa


def visa_state(visa: Visa, *, today: date | None = None) -> str:
    """valid, revoked, not_yet_valid or expired: what the verification page and the border
    API say of a visa."""
    today = today or timezone.localdate()
    if visa.revoked_at is not None:
        return "revoked"
    if today < visa.valid_from:
        return "not_yet_valid"
    return "expired" if today > visa.valid_until else "valid"


# --- Withdrawal --------------------------------------------------------------------------------


def decisions_cancel_after_withdrawal(*, application: Application, actor: User | None) -> None:
    """The `applications.hooks.withdrawn` handler: a decision waiting for review lapses."""
    Decision.objects.filter(application=application, state=Decision.State.AWAITING_REVIEW).update(
        state=Decision.State.CANCELLED
    )


# --- Administrative review requests ------------------------------------------------------------


def review_request_notify(*, application: Application, request: Any) -> None:
    """The `applications.hooks.review_requested` handler: tell the supervisors, after commit."""
    from django.core.mail import send_mail

    reference = application.reference or ""

    def tell() -> None:
        recipients = supervisor_emails()
        if recipients:
            send_mail(
                f"Review requested / 申请复核: {reference}",
                f"{reference}\n{settings.SITE_URL}/workspace/cases/{reference}/\n",
                settings.DEFAULT_FROM_EMAIL,
                recipients,
            )

    transaction.on_commit(tell)
