"""Every write to an application goes through here.

Each service locks the application row, checks what the status allows, writes the timeline
in the same transaction and queues side effects (emails, screening) only after commit.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from applications import hooks
from applications.answers import application_answers
from applications.checklist import missing_items
from applications.crypto import identifier_digest
from applications.models import (
    TRANSITIONS,
    Application,
    Degree,
    Document,
    DocumentKind,
    EvidenceRequest,
    EvidenceResponse,
    ReviewRequest,
    Status,
    TimelineEvent,
)
from applications.notifications import send_applicant_email
from applications.reference import next_reference
from applications.scanning import get_scanner
from applications.uploads import validate_upload
from kvisa.errors import Conflict, ValidationFailed
from ops.events import event_emit
from ops.models import EventType
from ops.queueing import enqueue_on_commit
from policy.selectors import policy_in_force


class IllegalTransition(Conflict):
    code = "illegal_transition"

    @classmethod
    def between(cls, status: str, to: str) -> IllegalTransition:
        return cls(
            _("An application that is %(status)s cannot become %(to)s.")
            % {"status": Status(status).label, "to": Status(to).label}
        )


class NotEditable(Conflict):
    code = "not_editable"


class IncompleteApplication(ValidationFailed):
    code = "incomplete_application"


def _locked(application: Application) -> Application:
    """Re-read the row under FOR UPDATE: concurrent requests for one case are serialised."""
    return Application.objects.select_for_update().get(pk=application.pk)


def _require_draft(application: Application) -> None:
    if application.status != Status.DRAFT:
        raise NotEditable(_("This application has been submitted and can no longer be changed."))


def timeline_record(
    *,
    application: Application,
    kind: str,
    actor: User | None,
    message: str = "",
    public: bool = True,
    from_status: str = "",
    to_status: str = "",
    data: dict[str, Any] | None = None,
) -> TimelineEvent:
    return TimelineEvent.objects.create(
        application=application,
        kind=kind,
        actor=actor,
        message=message,
        public=public,
        from_status=from_status,
        to_status=to_status,
        data=data or {},
    )


def _answers_set(application: Application, data: dict[str, Any]) -> None:
    for name, value in data.items():
        setattr(application, name, value)
    if {"passport_number", "nationality"} & data.keys():
        application.passport_digest = (
            identifier_digest(
                kind=f"passport:{application.nationality}", value=application.passport_number
            )
            if application.passport_number and application.nationality
            else ""
        )


@transaction.atomic
def application_create(*, applicant: User, data: dict[str, Any] | None = None) -> Application:
    """A new draft. `data` holds answers already validated (filing on behalf fills in every
    section at once): one INSERT, the passport number encrypted once."""
    application = Application(applicant=applicant, contact_email=applicant.email)
    _answers_set(application, data or {})
    application.save(force_insert=True)
    timeline_record(
        application=application, kind="created", actor=applicant, to_status=Status.DRAFT
    )
    return application


@transaction.atomic
def application_update(*, application: Application, data: dict[str, Any]) -> Application:
    """Save one section of a draft. Only the given fields change."""
    locked = _locked(application)
    _require_draft(locked)
    _answers_set(locked, data)
    locked.save()
    return locked


@transaction.atomic
def degree_save(*, application: Application, degree: Degree | None, data: dict[str, Any]) -> Degree:
    _require_draft(_locked(application))
    degree = degree or Degree(application=application)
    for name, value in data.items():
        setattr(degree, name, value)
    degree.save()
    return degree


def degrees_add(*, application: Application, rows: list[dict[str, Any]]) -> list[Degree]:
    """The degrees of a draft this transaction has just created (nobody else can hold it yet,
    so no lock), in one INSERT."""
    degrees = [Degree(application=application) for _row in rows]
    for degree, row in zip(degrees, rows, strict=True):
        for name, value in row.items():
            setattr(degree, name, value)
    return Degree.objects.bulk_create(degrees)


@transaction.atomic
def degree_delete(*, degree: Degree) -> None:
    _require_draft(_locked(degree.application))
    for document in degree.documents.all():
        _document_remove(document)
    degree.delete()


def _document_remove(document: Document) -> None:
    name, storage = document.file.name, document.file.storage
    document.delete()
    # Files are deleted only once the row is gone for good.
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# Kinds of which a draft keeps one file (per degree where per-degree): a new upload replaces it.
SINGLE_FILE_KINDS = frozenset(
    {
        DocumentKind.PASSPORT_BIO,
        DocumentKind.PHOTO,
        DocumentKind.DEGREE_CERTIFICATE,
        DocumentKind.TRANSCRIPT,
        DocumentKind.POST_PROOF,
        DocumentKind.TRANSLATION,
    }
)


@transaction.atomic
def document_add(
    *,
    application: Application,
    kind: str,
    upload: UploadedFile,
    actor: User,
    degree: Degree | None = None,
    evidence_response: EvidenceResponse | None = None,
) -> Document:
    """Validate an upload by its content and store it privately.

    In a draft, a new file of a single-file kind (or for the same degree) replaces the old.
    """
    locked = _locked(application)
    if evidence_response is None:
        _require_draft(locked)
    checked = validate_upload(upload, max_bytes=settings.UPLOAD_MAX_BYTES)
    upload.seek(0)
    if not get_scanner().scan(upload).clean:
        raise ValidationError(_("This file was rejected by the virus scanner."), code="infected")
    if evidence_response is None and kind in SINGLE_FILE_KINDS:
        for old in locked.documents.filter(kind=kind, degree=degree, evidence_response=None):
            _document_remove(old)
    document = Document(
        application=locked,
        kind=kind,
        degree=degree,
        evidence_response=evidence_response,
        original_name=checked.display_name,
        content_type=checked.content_type,
        extension=checked.extension,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor,
    )
    upload.seek(0)
    document.file.save(checked.display_name, upload, save=False)
    try:
        document.save()
    except Exception:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def document_delete(*, document: Document) -> None:
    _require_draft(_locked(document.application))
    _document_remove(document)


def application_transition(
    *,
    application: Application,
    to: str,
    actor: User | None,
    message: str = "",
    public: bool = True,
    data: dict[str, Any] | None = None,
    locked: bool = False,
) -> Application:
    """The one place a status changes: lock, check the table, stamp, record.

    ``locked=True``: the caller's transaction already holds the row's lock and passes the row it
    read under that lock, so it is neither read again nor wrapped in a savepoint: the officer
    services lock application and queue entry in one statement, and a second read would cost a
    round trip and a decryption on every claim (issue 7). The row passed in is returned.
    """
    if not locked:
        with transaction.atomic():
            return _transition(_locked(application), to, actor, message, public, data)
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("locked=True needs the caller's transaction, which holds the lock")
    return _transition(application, to, actor, message, public, data)


def _transition(
    locked: Application,
    to: str,
    actor: User | None,
    message: str,
    public: bool,
    data: dict[str, Any] | None,
) -> Application:
    if to not in TRANSITIONS[locked.status]:
        raise IllegalTransition.between(locked.status, to)
    previous = locked.status
    now = timezone.now()
    locked.status = to
    # Only what a transition changes: a full save would rewrite (and re-encrypt) every column.
    changed = ["status", "updated_at"]
    if to == Status.SUBMITTED:
        locked.submitted_at = now
        changed.append("submitted_at")
    elif to == Status.WITHDRAWN:
        locked.withdrawn_at = now
        changed.append("withdrawn_at")
    elif to in (Status.APPROVED, Status.REFUSED):
        locked.decided_at = now
        changed.append("decided_at")
    locked.save(update_fields=changed)
    timeline_record(
        application=locked,
        kind="status",
        actor=actor,
        message=message,
        public=public,
        from_status=previous,
        to_status=to,
        data=data,
    )
    return locked


@transaction.atomic
def application_submit(
    *, application: Application, actor: User, signature_name: str
) -> Application:
    """Freeze a complete draft, give it a reference number and hand it to screening.

    Idempotent: a second submit of the same application (double click, two tabs) waits on the
    row lock, then finds it no longer a draft and returns it unchanged.
    """
    locked = _locked(application)
    if locked.status != Status.DRAFT:
        if locked.reference:
            return locked
        _require_draft(locked)
    policy = policy_in_force()
    missing = missing_items(locked, policy=policy)
    if missing:
        raise IncompleteApplication(
            _("The application is not complete yet."),
            extra={"missing": [m.as_dict() for m in missing]},
        )
    if " ".join(signature_name.split()).casefold() != " ".join(locked.full_name.split()).casefold():
        raise ValidationFailed(_("Type your full name exactly as it appears in the application."))
    now = timezone.now()
    locked.policy_version = policy
    locked.reference = next_reference(year=now.year)
    locked.signature_name = signature_name.strip()
    locked.signed_at = now
    locked.declarations_accepted = True
    locked.snapshot = application_answers(locked)
    locked.save()
    submitted = application_transition(application=locked, to=Status.SUBMITTED, actor=actor)
    event_emit(
        type=EventType.APPLICATION_SUBMITTED,
        application_id=submitted.pk,
        payload={
            "application": str(submitted.public_id),
            "reference": submitted.reference,
            "status": submitted.status,
            "submitted_at": submitted.submitted_at,
        },
    )

    from applications.tasks import application_submitted

    enqueue_on_commit(application_submitted, submitted.pk)
    return submitted


@transaction.atomic
def application_withdraw(*, application: Application, actor: User, reason: str = "") -> Application:
    locked = _locked(application)
    if locked.status == Status.DRAFT:
        # A draft was never filed: withdrawing it simply ends it, documents included.
        for document in locked.documents.all():
            _document_remove(document)
    withdrawn = application_transition(
        application=locked, to=Status.WITHDRAWN, actor=actor, message=reason
    )
    EvidenceRequest.objects.filter(application=withdrawn, state=EvidenceRequest.State.OPEN).update(
        state=EvidenceRequest.State.CANCELLED
    )
    hooks.withdrawn(application=withdrawn, actor=actor)
    return withdrawn


@transaction.atomic
def evidence_answer(
    *, request: EvidenceRequest, actor: User, text: str, uploads: list[UploadedFile]
) -> EvidenceResponse:
    """The applicant answers a request: the case returns to the queue and the clock resumes."""
    application = _locked(request.application)
    request = EvidenceRequest.objects.select_for_update().get(pk=request.pk)
    if (
        request.state != EvidenceRequest.State.OPEN
        or application.status != Status.EVIDENCE_REQUESTED
    ):
        raise Conflict(_("This request is no longer open for answers."))
    if timezone.now() > request.due_at:
        raise Conflict(_("The deadline for this request has passed."))
    response = EvidenceResponse.objects.create(request=request, text=text, created_by=actor)
    for upload in uploads:
        document_add(
            application=application,
            kind=DocumentKind.EVIDENCE,
            upload=upload,
            actor=actor,
            evidence_response=response,
        )
    request.state = EvidenceRequest.State.ANSWERED
    request.answered_at = timezone.now()
    request.save(update_fields=["state", "answered_at"])
    application_transition(
        application=application,
        to=Status.QUEUED,
        actor=actor,
        data={"evidence_request": str(request.public_id)},
    )
    # In this transaction: the case is back in a queue, or the answer is not saved at all.
    hooks.evidence_answered(application=application, actor=actor)
    return response


REVIEW_REQUEST_MAX_LENGTH = 5000


def review_request_deadline(application: Application) -> date | None:
    """The last day a refused applicant may ask for an administrative review."""
    if application.status != Status.REFUSED or application.decided_at is None:
        return None
    decided_on = timezone.localdate(application.decided_at)
    return decided_on + timedelta(days=settings.REVIEW_REQUEST_DAYS)


@transaction.atomic
def review_request_create(*, application: Application, actor: User, text: str) -> ReviewRequest:
    """The applicant asks for an administrative review of a refusal, once, within the period
    the refusal letter gives (settings.REVIEW_REQUEST_DAYS from the decision)."""
    locked = _locked(application)
    deadline = review_request_deadline(locked)
    if deadline is None:
        raise Conflict(_("Only a refused application can be reviewed."))
    if ReviewRequest.objects.filter(application=locked).exists():
        raise Conflict(_("You have already asked for a review of this decision."))
    if timezone.localdate() > deadline:
        raise Conflict(
            _("The period to ask for a review ended on %(date)s.") % {"date": deadline.isoformat()}
        )
    text = text.strip()
    if not text:
        raise ValidationFailed(_("Say which part of the decision you think is wrong, and why."))
    if len(text) > REVIEW_REQUEST_MAX_LENGTH:
        raise ValidationFailed(
            _("Your request can be at most %(max)s characters long.")
            % {"max": REVIEW_REQUEST_MAX_LENGTH}
        )
    request = ReviewRequest.objects.create(application=locked, text=text, created_by=actor)
    timeline_record(application=locked, kind="review_requested", actor=actor, public=True)
    hooks.review_requested(application=locked, request=request)
    return request


def confirmation_send(*, application: Application) -> bool:
    """Send the bilingual submission confirmation once; False when it was already sent.

    The timeline row is written after the mail goes out: a crash in between sends a second
    email rather than none.
    """
    if TimelineEvent.objects.filter(application=application, kind="confirmation_sent").exists():
        return False
    send_applicant_email(application=application, template="submitted")
    timeline_record(application=application, kind="confirmation_sent", actor=None, public=False)
    return True
