"""The screening pipeline and the review queues' writes.

completeness → eligibility → integrity → routing. The first three read only the application
(frozen since submission) and write only the screening row, so they run in the transaction
that records the attempt, under the application's row lock, and commit together; routing,
which moves the case, is its own transaction. Each step stamps its time and is skipped when
its stamp is already set, so the pipeline can run any number of times, by a redelivered task
or by the sweeper, and resumes after the last step that committed. A case lands in exactly
one queue exactly once: routing locks the application, acts only while it is `submitted`, and
the queue entry is one-to-one with it.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from datetime import datetime, timedelta
from typing import Any

import structlog
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, prefetch_related_objects
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from accounts.selectors import supervisor_emails
from applications.checklist import missing_items
from applications.models import OPEN_STATUSES, Application, Degree, Document, Status
from applications.services import timeline_record
from kvisa.errors import Conflict
from policy.engine import (
    EXPLANATION_LANGUAGES,
    RoutingInput,
    evaluate,
    in_both_languages,
    route,
)
from policy.models import PolicyVersion, ReviewQueue
from policy.selectors import engine_lists, policy_in_force
from screening import routing as routing_sql
from screening.calendar import add_working_days
from screening.facts import facts_from_snapshot
from screening.models import QueueEntry, Screening

logger = structlog.get_logger(__name__)


def _both(template: Any, **params: Any) -> dict[str, str]:
    return in_both_languages(template, params)


# --- The pipeline ------------------------------------------------------------------------------


def _submitted_locked(application_id: int) -> Application | None:
    """The application under FOR UPDATE with everything the first three steps read (policy
    version, degrees with their fields, documents: three queries), or None when it is no
    longer waiting to be screened. Loaded once: nothing a step reads changes after submission.
    """
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("policy_version")
        .filter(pk=application_id)
        .first()
    )
    if application is None or application.status != Status.SUBMITTED:
        return None
    prefetch_related_objects(
        [application],
        Prefetch("degrees", queryset=Degree.objects.select_related("field")),
        "documents",
    )
    return application


@transaction.atomic
def _screening_steps(*, application_id: int) -> Screening | None:
    """Count an attempt and do whichever of completeness, eligibility and integrity is still
    to do, all in one transaction; None when the application is not waiting to be screened.

    The application's row lock serialises concurrent runs, and these steps write only the
    screening, so the in-memory result is the committed one: routing can use it as it is.
    """
    application = _submitted_locked(application_id)
    if application is None:
        return None
    screening = Screening.objects.filter(application_id=application_id, is_current=True).first()
    if screening is None:
        policy = application.policy_version or policy_in_force()
        screening = Screening(application=application, policy_version=policy)
    else:
        screening.application = application
        version = application.policy_version
        if version is not None and screening.policy_version_id == version.pk:
            screening.policy_version = version  # else its own version is read when needed
    now = timezone.now()
    changed = ["attempts", "attempted_at"]
    if not screening.completeness_at:
        _completeness_into(screening, now=now)
        changed += ["missing", "complete", "completeness_at"]
    if not screening.eligibility_at:
        _evaluate_into(screening)
        changed += ["facts", "evaluation", "eligible", "points", "fast_track", "eligibility_at"]
    if not screening.integrity_at:
        screening.flags = integrity_flags(application=application)
        screening.integrity_at = now
        changed += ["flags", "integrity_at"]
    screening.attempts += 1
    screening.attempted_at = now
    if screening.pk is None:
        screening.save(force_insert=True)
    else:
        screening.save(update_fields=changed)
    return screening


def completeness_check(*, application: Application, policy: PolicyVersion) -> list[dict[str, str]]:
    """What is missing, each in both languages, plus any stored file that cannot be found."""
    problems: list[dict[str, str]] = []
    for language in EXPLANATION_LANGUAGES:
        with translation.override(language):
            for index, item in enumerate(missing_items(application, policy=policy)):
                if len(problems) <= index:
                    problems.append({"step": str(item.step)})
                problems[index][language] = str(item.message)
    for document in application.documents.all():
        if not document.file.name or not document.file.storage.exists(document.file.name):
            problems.append(
                {
                    "step": "documents",
                    **_both(
                        _("The stored file of %(name)s is missing."), name=document.original_name
                    ),
                }
            )
    return problems


def _completeness_into(screening: Screening, *, now: datetime) -> None:
    missing = completeness_check(application=screening.application, policy=screening.policy_version)
    screening.missing = missing
    screening.complete = not missing
    screening.completeness_at = now


def _evaluate_into(screening: Screening) -> None:
    application = screening.application
    reference = timezone.localdate(application.submitted_at or timezone.now())
    facts = facts_from_snapshot(application.snapshot or {}, reference_date=reference)
    policy = screening.policy_version
    result = evaluate(
        facts=facts,
        criteria=policy.criteria,
        points_model=policy.points_model,
        lists=engine_lists(),
    )
    screening.facts = facts.to_json()
    screening.evaluation = result.to_json()
    screening.eligible = result.eligible
    screening.points = result.points
    screening.fast_track = result.fast_track
    screening.eligibility_at = timezone.now()


def integrity_flags(*, application: Application) -> list[dict[str, Any]]:
    """Duplicate passports on other open cases, documents reused by other applicants, and a
    passport that is expired or ends before the planned stay does."""
    flags: list[dict[str, Any]] = []
    if application.passport_digest:
        others = list(
            Application.objects.filter(
                passport_digest=application.passport_digest, status__in=OPEN_STATUSES
            )
            .exclude(pk=application.pk)
            .values("pk", "reference")[:20]
        )
        if others:
            flags.append(
                {
                    "code": "duplicate_passport",
                    "explanation": _both(
                        _("The same passport is on %(count)s other open application(s)."),
                        count=len(others),
                    ),
                    "related": [{"id": o["pk"], "reference": o["reference"]} for o in others],
                }
            )
    # .all(), not a filtered query, so that the pipeline's prefetched documents serve it
    hashes = [d.sha256 for d in application.documents.all() if d.evidence_response_id is None]
    if hashes:
        reused = list(
            Document.objects.filter(sha256__in=hashes)
            .exclude(application__applicant_id=application.applicant_id)
            .values("application_id", "application__reference")
            .distinct()[:20]
        )
        if reused:
            flags.append(
                {
                    "code": "reused_document",
                    "explanation": _both(
                        _("A document is identical to one on %(count)s other applicant's file(s)."),
                        count=len(reused),
                    ),
                    "related": [
                        {"id": r["application_id"], "reference": r["application__reference"]}
                        for r in reused
                    ],
                }
            )
    expiry = application.passport_expiry_date
    submitted_on = timezone.localdate(application.submitted_at or timezone.now())
    stay_end = application.planned_stay_end
    if expiry and expiry < submitted_on:
        flags.append(
            {
                "code": "passport_expired",
                "explanation": _both(
                    _("The passport expired on %(date)s, before submission."),
                    date=expiry.isoformat(),
                ),
                "related": [],
            }
        )
    elif expiry and stay_end and expiry < stay_end:
        flags.append(
            {
                "code": "passport_validity",
                "explanation": _both(
                    _("The passport expires on %(date)s, before the planned stay ends (%(end)s)."),
                    date=expiry.isoformat(),
                    end=stay_end.isoformat(),
                ),
                "related": [],
            }
        )
    return flags


def routed_queue_code(
    rules: list[Mapping[str, Any]], case: RoutingInput, *, active_queues: Container[str]
) -> tuple[int, Mapping[str, Any], str]:
    """The matching rule's index, the rule, and the code of the queue the case goes to.

    A queue deactivated after the policy was published must not strand the case: it goes to
    SCREENING_FALLBACK_QUEUE instead. The pipeline and the simulator both route through here.
    """
    index, rule = route(rules, case)
    code = rule["queue"] if rule["queue"] in active_queues else settings.SCREENING_FALLBACK_QUEUE
    return index, rule, code


def _routing_decision(screening: Screening) -> tuple[ReviewQueue, dict[str, Any], int]:
    rules = screening.policy_version.routing_rules
    case = RoutingInput(
        path=(screening.facts or {}).get("path", ""),
        eligible=bool(screening.eligible),
        fast_track=bool(screening.fast_track),
        points=screening.points or 0,
        complete=bool(screening.complete),
        flags=screening.flag_codes,
    )
    active = {q.code: q for q in ReviewQueue.objects.filter(is_active=True)}
    index, rule, code = routed_queue_code(rules, case, active_queues=active)
    queue = active.get(code) or ReviewQueue.objects.get(code=code)
    routing: dict[str, Any] = {"rule_index": index, "rule": dict(rule), "queue": code}
    if code != rule["queue"]:
        routing["fallback"] = True
    return queue, routing, int(rule.get("priority_boost", 0))


def _step_routing(*, screening: Screening) -> QueueEntry | None:
    """Put the screened case in its queue; None when it was routed already.

    Where it goes comes from the in-memory `screening`, which no one can change once its first
    three steps committed; the writes are one statement (screening/routing.py) that locks the
    screening and the application and acts only while the case is submitted and unrouted.
    """
    queue, routing, boost = _routing_decision(screening)
    now = timezone.now()
    due_at = add_working_days(screening.application.submitted_at or now, queue.service_level_days)
    entry = routing_sql.route(
        screening=screening,
        queue=queue,
        priority=queue.priority + boost,
        due_at=due_at,
        routing=routing,
        screened={
            "screening": screening.pk,
            "eligible": screening.eligible,
            "points": screening.points,
            "fast_track": screening.fast_track,
            "flags": list(screening.flag_codes),
            "queue": queue.code,
            "due_at": due_at.isoformat(),
        },
        now=now,
    )
    if entry is not None:
        screening.queue, screening.routing, screening.routed_at = queue, routing, now
    return entry


def screening_run(*, application_id: int) -> Screening | None:
    """Run whatever steps of the pipeline are still to do; None if there is nothing to do."""
    screening = _screening_steps(application_id=application_id)
    if screening is None:
        return None
    if _step_routing(screening=screening) is None:
        screening.refresh_from_db()  # a concurrent run routed it: report what that run wrote
    logger.info("application_screened", application_id=application_id, screening_id=screening.pk)
    return screening


def screening_run_for_submission(*, application_id: int) -> None:
    """The `applications.hooks.submitted` handler."""
    screening_run(application_id=application_id)


def screenings_stuck(*, now: datetime | None = None, limit: int | None = None) -> list[int]:
    """Submitted applications left unrouted for longer than SCREENING_STUCK_AFTER_SECONDS.

    The age counts from submission, or from the last attempt when one is younger, so a case
    being screened right now is not re-enqueued under a worker's feet.
    """
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.SCREENING_STUCK_AFTER_SECONDS)
    recent_attempt = Screening.objects.filter(
        application=OuterRef("pk"), is_current=True, attempted_at__gte=cutoff
    )
    ids = Application.objects.filter(status=Status.SUBMITTED, submitted_at__lt=cutoff).exclude(
        Exists(recent_attempt)
    )
    return list(
        ids.order_by("submitted_at").values_list("pk", flat=True)[
            : limit or settings.SCREENING_SWEEP_BATCH
        ]
    )


@transaction.atomic
def screening_reevaluate(*, application: Application, actor: User) -> Screening:
    """Evaluate a screened case again against the policy in force *now*, as a new result.

    The earlier result stays as history. A case still waiting in a queue (nobody holds it) is
    moved when the new result routes it elsewhere; otherwise its place is left alone.
    """
    locked = Application.objects.select_for_update().get(pk=application.pk)
    if locked.status not in OPEN_STATUSES or locked.status == Status.SUBMITTED:
        raise Conflict(str(_("Only a screened, undecided application can be re-evaluated.")))
    previous = Screening.objects.filter(application=locked, is_current=True).first()
    Screening.objects.filter(application=locked, is_current=True).update(is_current=False)
    screening = Screening(
        application=locked,
        policy_version=policy_in_force(),
        trigger=Screening.Trigger.REEVALUATION,
        actor=actor,
        attempts=1,
    )
    now = timezone.now()
    screening.missing = completeness_check(application=locked, policy=screening.policy_version)
    screening.complete = not screening.missing
    screening.completeness_at = now
    _evaluate_into(screening)
    screening.flags = integrity_flags(application=locked)
    screening.integrity_at = now
    queue, routing, boost = _routing_decision(screening)
    screening.queue, screening.routing, screening.routed_at = queue, routing, now
    screening.save()
    entry = QueueEntry.objects.select_for_update().filter(application=locked).first()
    moved = entry is not None and entry.state == QueueEntry.State.WAITING and entry.queue != queue
    if entry is not None and moved:
        entry.queue = queue
        entry.priority = (
            queue.priority
            + boost
            + (settings.SLA_ESCALATION_PRIORITY_BOOST if entry.escalated_at else 0)
        )
        entry.save(update_fields=["queue", "priority", "updated_at"])
    timeline_record(
        application=locked,
        kind="reevaluated",
        actor=actor,
        public=False,
        data={
            "screening": screening.pk,
            "previous": previous.pk if previous else None,
            "eligible": screening.eligible,
            "points": screening.points,
            "policy_version": screening.policy_version.name,
            "queue": queue.code,
            "moved": moved,
        },
    )
    return screening


# --- Service-level clock --------------------------------------------------------------------


@transaction.atomic
def queue_entry_pause(*, application: Application, actor: User | None) -> QueueEntry:
    """Stop the service-level clock while the applicant is asked for evidence."""
    entry = QueueEntry.objects.select_for_update().get(application=application)
    if entry.state == QueueEntry.State.PAUSED:
        return entry
    entry.state = QueueEntry.State.PAUSED
    entry.paused_at = timezone.now()
    entry.claimed_by = None
    entry.claimed_at = entry.lease_expires_at = None
    entry.save()
    return entry


@transaction.atomic
def queue_entry_resume(
    *, application: Application, actor: User | None, queue_code: str | None = None
) -> QueueEntry:
    """Restart the clock where it stopped (the due date moves by the paused time) and put the
    case back in a queue, by default the returned-evidence queue."""
    entry = QueueEntry.objects.select_for_update().get(application=application)
    if entry.state != QueueEntry.State.PAUSED or entry.paused_at is None:
        return entry
    now = timezone.now()
    queue = ReviewQueue.objects.get(code=queue_code or settings.RETURNED_EVIDENCE_QUEUE)
    entry.due_at += now - entry.paused_at
    entry.paused_at = None
    entry.state = QueueEntry.State.WAITING
    entry.queue = queue
    entry.entered_at = now
    entry.priority = queue.priority + (
        settings.SLA_ESCALATION_PRIORITY_BOOST if entry.escalated_at else 0
    )
    entry.save()
    timeline_record(
        application=application,
        kind="requeued",
        actor=actor,
        public=False,
        data={"queue": queue.code, "due_at": entry.due_at.isoformat()},
    )
    return entry


def queue_entry_resume_after_evidence(*, application: Application, actor: User | None) -> None:
    """The `applications.hooks.evidence_answered` handler."""
    if QueueEntry.objects.filter(application=application).exists():
        queue_entry_resume(application=application, actor=actor)


def queue_entry_close_after_withdrawal(*, application: Application, actor: User | None) -> None:
    """The `applications.hooks.withdrawn` handler: a withdrawn case leaves its queue for good."""
    QueueEntry.objects.filter(application=application).exclude(state=QueueEntry.State.DONE).update(
        state=QueueEntry.State.DONE,
        claimed_by=None,
        claimed_at=None,
        lease_expires_at=None,
        paused_at=None,
        updated_at=timezone.now(),
    )


def queue_entry_escalate(*, entry: QueueEntry, now: datetime) -> bool:
    """Put a late case ahead in its queue, once (False if it was escalated already). The caller
    holds the entry's lock and records why."""
    if entry.escalated_at is not None:
        return False
    entry.escalated_at = now
    entry.priority += settings.SLA_ESCALATION_PRIORITY_BOOST
    entry.save(update_fields=["escalated_at", "priority", "updated_at"])
    return True


def queue_escalate_overdue(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Raise the priority of cases past their due date, once each, and tell the supervisors.

    SKIP LOCKED: an entry an officer is working on right now is escalated on the next run.
    """
    now = now or timezone.now()
    with transaction.atomic():
        entries = list(
            QueueEntry.objects.select_for_update(skip_locked=True)
            .filter(
                state__in=[QueueEntry.State.WAITING, QueueEntry.State.IN_REVIEW],
                escalated_at__isnull=True,
                due_at__lt=now,
            )
            .select_related("application", "queue")
            .order_by("due_at")[:limit]
        )
        for entry in entries:
            queue_entry_escalate(entry=entry, now=now)
            timeline_record(
                application=entry.application,
                kind="escalated",
                actor=None,
                public=False,
                data={"due_at": entry.due_at.isoformat(), "queue": entry.queue.code},
            )
        if entries:
            summary = [(e.application.reference or "", e.queue.code, e.due_at) for e in entries]
            transaction.on_commit(lambda: _tell_supervisors(summary))
    return [e.application_id for e in entries]


def _tell_supervisors(cases: list[tuple[str, str, datetime]]) -> None:
    from django.core.mail import send_mail

    recipients = supervisor_emails()
    if not recipients:
        return
    lines = [f"{ref}  [{queue}]  due {due:%Y-%m-%d %H:%M}" for ref, queue, due in cases]
    subject = _both(_("%(count)s case(s) passed their service-level date"), count=len(cases))
    send_mail(
        " / ".join(subject.values()),
        "\n".join(lines) + "\n",
        settings.DEFAULT_FROM_EMAIL,
        recipients,
    )
