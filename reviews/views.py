"""Officer workspace pages. Every view is behind ``officer_required`` or stricter.

Thin, like the rest of the project: who may see the case is decided by reviews.selectors
(NotFound → 404, so a probing officer cannot tell a case that exists from one that does not),
what may be done by reviews.services. A refused action never loses what the officer typed:
the case page is rendered again with the form as it was sent and the service's message.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from urllib.parse import urlencode
from uuid import UUID

from csp.constants import SELF
from csp.decorators import csp_replace, csp_update
from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from accounts import services as account_services
from accounts.access import mfa_verified_at, officer_required, supervisor_required
from accounts.models import ApiToken, User
from accounts.selectors import user_capabilities, user_role_labels, user_security_summary
from applications.answers import render_answers
from applications.models import Application
from applications.uploads import private_file_response
from kvisa.errors import DomainError, NotFound, ValidationFailed
from reviews import presentation, selectors, services
from reviews.forms import (
    AccessLogFilterForm,
    ApiTokenForm,
    ApproveForm,
    AuditFilterForm,
    EvidenceRequestForm,
    NoteForm,
    ReassignForm,
    RefuseForm,
    ReleaseForm,
    SecondReviewForm,
    VersionedForm,
    apply_errors,
)
from reviews.models import CaseAccess, Decision, RefusalReason
from screening.models import QueueEntry

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


# The case page embeds its documents (PDFs in <object>, images in <img>) from the document
# view; only that view may be framed, and only by this site. (django-csp types its decorators
# for one-argument views; these keep the view's own signature for the type checker.)
def embeds_documents(view: ViewFunc) -> ViewFunc:
    return cast(ViewFunc, csp_update({"frame-src": [SELF], "object-src": [SELF]})(view))


def framed_by_this_site(view: ViewFunc) -> ViewFunc:
    return cast(ViewFunc, csp_replace({"frame-ancestors": [SELF]})(view))


class OfficerRequest(HttpRequest):
    """The request of an officer_required view: its user is a real User (for the type checker)."""

    user: User


def _case(request: OfficerRequest, reference: str) -> Application:
    try:
        return selectors.case_for_officer(officer=request.user, reference=reference)
    except NotFound as exc:
        raise Http404 from exc


def _safe_next(request: HttpRequest, fallback: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _case_url(application: Application) -> str:
    return reverse("reviews:case", kwargs={"reference": application.reference})


# --- Start page, queues ------------------------------------------------------------------------


@officer_required  # outermost: a non-officer learns nothing, not even the allowed methods
@require_GET
def workspace_home(request: OfficerRequest) -> HttpResponse:
    """The officer's start page: their queues, the case they hold, what waits for their second
    review; then who they are and their sign-in security."""
    user = request.user
    context = {
        "queues": list(selectors.officer_queues(officer=user)),
        "other_queues": list(selectors.queues_not_joined(officer=user))
        if user.is_supervisor
        else [],
        "held": services.held_entry(officer=user),
        "second_review_count": selectors.second_review_count(officer=user),
        "now": timezone.now(),
        "roles": user_role_labels(user=user),
        "capabilities": user_capabilities(user=user),
        "security": user_security_summary(user=user),
        "mfa_verified_at": mfa_verified_at(request),
    }
    return render(request, "reviews/home.html", context)


@officer_required
@require_POST
def queue_claim(request: OfficerRequest, code: str) -> HttpResponse:
    user = request.user
    try:
        queue = selectors.queue_for_officer(officer=user, code=code)
    except NotFound as exc:
        raise Http404 from exc
    started = timezone.now()
    try:
        entry = services.case_claim_next(officer=user, queue=queue)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("reviews:home")
    if entry is None:
        messages.info(request, _("No case is waiting in this queue."))
        return redirect("reviews:home")
    reference = entry.application.reference
    if entry.claimed_at and entry.claimed_at < started:
        messages.info(
            request,
            _("You already hold case %(reference)s: decide or release it before you claim another.")
            % {"reference": reference},
        )
    else:
        messages.success(
            request,
            _("Case %(reference)s is yours. Your hold renews while you work on it.")
            % {"reference": reference},
        )
    return redirect("reviews:case", reference=reference)


@officer_required
@require_GET
def queue_detail(request: OfficerRequest, code: str) -> HttpResponse:
    user = request.user
    try:
        queue = selectors.queue_for_officer(officer=user, code=code)
    except NotFound as exc:
        raise Http404 from exc
    members = list(selectors.queue_members(queue=queue)) if user.is_supervisor else []
    now = timezone.now()
    open_states = (QueueEntry.State.WAITING, QueueEntry.State.IN_REVIEW)  # the clock runs
    context = {
        "queue": queue,
        "rows": [
            {"entry": e, "overdue": e.state in open_states and e.due_at < now}
            for e in selectors.queue_entries(queue=queue)
        ],
        "members": members,
        # queue_for_officer admits only members, supervisors excepted
        "is_member": not user.is_supervisor or any(m.pk == user.pk for m in members),
        "States": QueueEntry.State,
    }
    return render(request, "reviews/queue.html", context)


# --- The case file -----------------------------------------------------------------------------

# Which page section shows each form: a form the page no longer offers (the officer lost the
# case meanwhile) is shown as "not saved" with what was typed, instead of being dropped.
SLOTS = ("note", "evidence", "approve", "refuse", "second_review")


def _render_case(
    request: OfficerRequest,
    application: Application,
    *,
    failed: tuple[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The case file, recorded as opened; `failed` is a form the service refused, shown again
    as it was sent (or as "not saved" text when the page no longer offers it)."""
    user = request.user
    selectors.access_record(
        officer=user, application=application, action=CaseAccess.Action.CASE_FILE
    )
    case = selectors.case_file(officer=user, application=application)
    entry = case.entry
    is_holder = bool(
        entry and entry.state == QueueEntry.State.IN_REVIEW and entry.claimed_by_id == user.pk
    )
    if is_holder:
        services.case_lease_renew(application=application, officer=user)
    version = services.case_version(application=application, entry=entry)
    pending = case.pending_decision
    offered = {
        "note": True,
        "evidence": is_holder,
        "approve": is_holder,
        "refuse": is_holder,
        "second_review": bool(pending and pending.decided_by_id != user.pk),
    }
    initial = {"version": version}
    forms_by_slot: dict[str, forms.Form | None] = dict.fromkeys(SLOTS)
    if is_holder:
        reasons = list(RefusalReason.objects.filter(is_active=True))
        forms_by_slot["evidence"] = EvidenceRequestForm(initial=initial)
        forms_by_slot["approve"] = ApproveForm(
            initial=initial, allowed=services.default_visa_terms(application)
        )
        forms_by_slot["refuse"] = RefuseForm(initial=initial, reasons=reasons)
    forms_by_slot["note"] = NoteForm()
    if offered["second_review"]:
        forms_by_slot["second_review"] = SecondReviewForm()
    unsaved: list[tuple[str, str]] = []
    if failed is not None:
        slot, form = failed
        if isinstance(form, VersionedForm) and form.is_bound:
            # What the officer sends next is judged against the case as this page shows it.
            data = cast(QueryDict, form.data).copy()
            data["version"] = version
            form.data = data
        if offered[slot]:
            forms_by_slot[slot] = form
        else:
            unsaved = _typed(form)
    is_supervisor = user.is_supervisor
    can_release = bool(
        entry and entry.state == QueueEntry.State.IN_REVIEW and (is_holder or is_supervisor)
    )
    can_reassign = bool(
        is_supervisor
        and entry
        and entry.state in (QueueEntry.State.WAITING, QueueEntry.State.IN_REVIEW)
    )
    timeline = case.timeline
    people = selectors.people_named(ids=presentation.people_in(timeline))
    context = {
        "application": application,
        "case": case,
        "entry": entry,
        "screening": case.screening,
        "is_holder": is_holder,
        "can_release": can_release,
        "can_reassign": can_reassign,
        "overdue": bool(
            entry
            and entry.state in (QueueEntry.State.WAITING, QueueEntry.State.IN_REVIEW)
            and entry.due_at < timezone.now()
        ),
        "members": list(selectors.queue_members(queue=entry.queue))
        if can_reassign and entry
        else [],
        "pending": pending,
        "sent_back": case.sent_back,
        "offered": offered,
        "forms": forms_by_slot,
        "unsaved": unsaved,
        "sections": presentation.applicant_sections(application, case.degrees),
        "answers": _answers(application),
        "documents": [d for d in case.documents if d.evidence_response_id is None],
        "rules": presentation.rule_rows(case.screening),
        "missing": presentation.missing_rows(case.screening),
        "flags": presentation.flag_rows(case.screening, case.related_visible),
        "events": presentation.event_rows(
            timeline, people=people, queues=selectors.queue_names() if timeline else {}
        ),
        "Outcome": Decision.Outcome,
        "DecisionState": Decision.State,
    }
    return render(request, "reviews/case.html", context, status=status)


def _typed(form: forms.Form) -> list[tuple[str, str]]:
    """What the officer typed into a form the page no longer offers, to copy from."""
    rows = []
    for field in form.visible_fields():
        value = field.value()
        if isinstance(field.field, forms.MultipleChoiceField):
            labels = dict(cast(list[tuple[str, str]], field.field.choices))
            value = ", ".join(str(labels.get(v, v)) for v in value or [])
        if value:
            rows.append((str(field.label), str(value)))
    return rows


def _answers(application: Application) -> list[dict[str, Any]]:
    """The frozen answers the applicant signed, rendered as the applicant saw them."""
    snapshot = application.snapshot or {}
    return [section for section in render_answers(snapshot) if section["rows"]]


@officer_required
@require_GET
@embeds_documents
def case_detail(request: OfficerRequest, reference: str) -> HttpResponse:
    return _render_case(request, _case(request, reference))


def _invalid(
    request: OfficerRequest, application: Application, slot: str, form: forms.Form
) -> HttpResponse:
    messages.error(request, _("Nothing was saved: correct what is marked below."))
    return _render_case(request, application, failed=(slot, form), status=422)


def _refused(
    request: OfficerRequest,
    application: Application,
    slot: str,
    form: forms.Form,
    exc: DomainError,
) -> HttpResponse:
    """The case page again, with the form as sent and why nothing was saved."""
    messages.error(request, exc.message)
    if isinstance(exc, services.StaleCase):
        messages.info(
            request, _("The page now shows the case as it is; what you typed is kept below.")
        )
    if isinstance(exc, ValidationFailed):
        apply_errors(form, exc.extra.get("errors") or {}, exc.message)
    return _render_case(request, application, failed=(slot, form), status=exc.status_code)


@officer_required
@require_POST
@embeds_documents
def case_note_add(request: OfficerRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    form = NoteForm(request.POST)
    if not form.is_valid():
        return _invalid(request, application, "note", form)
    try:
        services.note_add(
            application=application, author=request.user, text=form.cleaned_data["text"]
        )
    except DomainError as exc:
        return _refused(request, application, "note", form, exc)
    messages.success(request, _("Note added."))
    return redirect(f"{_case_url(application)}#notes")


@officer_required
@require_POST
@embeds_documents
def case_evidence_request(request: OfficerRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    form = EvidenceRequestForm(request.POST)
    if not form.is_valid():
        return _invalid(request, application, "evidence", form)
    try:
        evidence = services.evidence_request_create(
            application=application,
            officer=request.user,
            items=form.item_list(),
            message=form.cleaned_data["message"],
            due_on=form.cleaned_data["due_on"],
            expected_version=form.cleaned_data["version"],
        )
    except DomainError as exc:
        return _refused(request, application, "evidence", form, exc)
    messages.success(
        request,
        _(
            "The applicant has been asked for more evidence. The case waits until they answer "
            "or %(date)s passes, then comes back to a queue."
        )
        % {"date": timezone.localdate(evidence.due_at).isoformat()},
    )
    return redirect("reviews:home")


@officer_required
@require_POST
@embeds_documents
def case_decide(request: OfficerRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    outcome = request.POST.get("outcome")
    form: ApproveForm | RefuseForm
    if outcome == Decision.Outcome.APPROVE:
        form = ApproveForm(request.POST, allowed=services.default_visa_terms(application))
    elif outcome == Decision.Outcome.REFUSE:
        form = RefuseForm(request.POST, reasons=list(RefusalReason.objects.filter(is_active=True)))
    else:
        messages.error(request, _("Choose approve or refuse."))
        return redirect(_case_url(application))
    slot = str(outcome)
    if not form.is_valid():
        return _invalid(request, application, slot, form)
    data = form.cleaned_data
    try:
        decision = services.decision_make(
            application=application,
            officer=request.user,
            outcome=slot,
            reason_codes=data.get("reasons") or [],
            statement=data.get("statement", ""),
            terms=form.terms() if isinstance(form, ApproveForm) else None,
            expected_version=data["version"],
        )
    except DomainError as exc:
        return _refused(request, application, slot, form, exc)
    if decision.state == Decision.State.AWAITING_REVIEW:
        messages.success(
            request,
            _("Your decision is recorded. It takes effect once a second officer confirms it."),
        )
    elif decision.outcome == Decision.Outcome.APPROVE:
        messages.success(
            request, _("The application is approved and the visa is issued. The letter follows.")
        )
    else:
        messages.success(request, _("The application is refused. The letter follows."))
    return redirect(_case_url(application))


@officer_required
@require_POST
@embeds_documents
def case_second_review(request: OfficerRequest, reference: str, decision_id: UUID) -> HttpResponse:
    application = _case(request, reference)
    try:
        decision = selectors.case_decision(application=application, decision_id=decision_id)
    except NotFound as exc:
        raise Http404 from exc
    form = SecondReviewForm(request.POST)
    if not form.is_valid():
        return _invalid(request, application, "second_review", form)
    comment = form.cleaned_data["comment"]
    try:
        if form.cleaned_data["action"] == SecondReviewForm.Action.CONFIRM:
            services.second_review_confirm(
                decision=decision, reviewer=request.user, comment=comment
            )
            messages.success(request, _("You confirmed the decision; it is final now."))
        else:
            services.second_review_send_back(
                decision=decision, reviewer=request.user, comment=comment
            )
            messages.success(
                request,
                _("You sent the decision back. The case returns to its queue with your comment."),
            )
    except DomainError as exc:
        return _refused(request, application, "second_review", form, exc)
    return redirect(_case_url(application))


@officer_required
@require_POST
def case_release(request: OfficerRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    form = ReleaseForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    try:
        entry = services.case_release(application=application, actor=request.user, reason=reason)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_safe_next(request, _case_url(application)))
    messages.success(
        request,
        _("Case %(reference)s is back in the queue “%(queue)s”.")
        % {"reference": application.reference, "queue": entry.queue.name},
    )
    return redirect(_safe_next(request, reverse("reviews:home")))


@supervisor_required
@require_POST
def case_reassign(request: OfficerRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    back = _safe_next(request, _case_url(application))
    entry = getattr(application, "queue_entry", None)
    if entry is None:
        messages.error(request, _("This case has not reached a review queue yet."))
        return redirect(back)
    form = ReassignForm(request.POST, members=selectors.queue_members(queue=entry.queue))
    if not form.is_valid():
        messages.error(
            request, _("Choose an officer of the queue “%(queue)s”.") % {"queue": entry.queue.name}
        )
        return redirect(back)
    to = form.cleaned_data["to"]
    try:
        services.case_reassign(application=application, actor=request.user, to=to)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        _("Case %(reference)s is now with %(officer)s.")
        % {"reference": application.reference, "officer": presentation.person(to)},
    )
    return redirect(back)


# --- Files -------------------------------------------------------------------------------------


def _streamed(response: FileResponse) -> HttpResponse:
    # A streaming response; the officer gate is typed for HttpResponse views.
    return cast(HttpResponse, response)


@officer_required
@require_GET
@xframe_options_sameorigin
@framed_by_this_site
def case_document(request: OfficerRequest, reference: str, document_id: UUID) -> HttpResponse:
    """One document, inline for the case page's viewers, or as a download (?download=1)."""
    try:
        document = selectors.case_document(
            officer=request.user, reference=reference, document_id=document_id
        )
    except NotFound as exc:
        raise Http404 from exc
    download = request.GET.get("download") == "1"
    response = private_file_response(
        document.file,
        filename=document.original_name,
        content_type=document.content_type,
        attachment=download,
    )
    selectors.access_record(
        officer=request.user,
        application=document.application,
        action=CaseAccess.Action.DOWNLOAD if download else CaseAccess.Action.DOCUMENT,
        document=document,
    )
    return _streamed(response)


@officer_required
@require_GET
def case_letter(request: OfficerRequest, reference: str) -> HttpResponse:
    application = _case(request, reference)
    try:
        letter = selectors.case_letter(application=application)
    except NotFound as exc:
        raise Http404 from exc
    response = private_file_response(
        letter.file, filename=letter.download_name, content_type="application/pdf"
    )
    selectors.access_record(
        officer=request.user, application=application, action=CaseAccess.Action.LETTER
    )
    return _streamed(response)


# --- Second review, audit ----------------------------------------------------------------------


@officer_required
@require_GET
def second_review_list(request: OfficerRequest) -> HttpResponse:
    return render(
        request,
        "reviews/second_review_list.html",
        {"decisions": selectors.second_review_list(officer=request.user)},
    )


def _older_link(request: HttpRequest, rows: list[Any], at: str) -> str:
    """The query string of the next (older) page, or "" on the last page."""
    if len(rows) < selectors.AUDIT_PAGE:
        return ""
    query = {k: v for k, v in request.GET.items() if k not in ("before", "before_id") and v}
    query["before"] = cast(datetime, getattr(rows[-1], at)).isoformat()
    query["before_id"] = str(rows[-1].pk)  # rows with the same time are not skipped
    return "?" + urlencode(query)


@supervisor_required
@require_GET
def audit(request: OfficerRequest) -> HttpResponse:
    """Everything that happened to cases, newest first, filtered by case, person or event."""
    form = AuditFilterForm(request.GET, kinds=presentation.kind_choices())
    events: list[Any] = []
    if form.is_valid():
        data = form.cleaned_data
        actor = selectors.user_by_email(email=data["actor"]) if data["actor"] else None
        if data["actor"] and actor is None:
            form.add_error("actor", _("Nobody has this email address."))
        else:
            events = selectors.audit_events(
                filters=selectors.AuditFilters(
                    reference=data["reference"],
                    actor=actor.pk if actor else None,
                    kind=data["kind"],
                    before=data["before"],
                    before_id=data["before_id"],
                )
            )
    context = {
        "form": form,
        "rows": presentation.event_rows(
            events,
            people=selectors.people_named(ids=presentation.people_in(events)),
            queues=selectors.queue_names() if events else {},
        ),
        "older": _older_link(request, events, "at"),
        "filtered": any(v for k, v in request.GET.items() if k not in ("before", "before_id")),
    }
    return render(request, "reviews/audit.html", context)


@supervisor_required
@require_GET
def access_log(request: OfficerRequest) -> HttpResponse:
    """Who opened which case's personal data, newest first."""
    form = AccessLogFilterForm(request.GET)
    rows: list[Any] = []
    if form.is_valid():
        data = form.cleaned_data
        officer = selectors.user_by_email(email=data["officer"]) if data["officer"] else None
        if data["officer"] and officer is None:
            form.add_error("officer", _("Nobody has this email address."))
        else:
            rows = selectors.access_log(
                reference=data["reference"],
                officer_id=officer.pk if officer else None,
                before=data["before"],
                before_id=data["before_id"],
            )
    context = {
        "form": form,
        "rows": rows,
        "older": _older_link(request, rows, "at"),
        "filtered": any(v for k, v in request.GET.items() if k not in ("before", "before_id")),
    }
    return render(request, "reviews/access_log.html", context)


# --- Personal API tokens ---------------------------------------------------------------------


def _tokens_page(
    request: OfficerRequest, form: ApiTokenForm, *, new_token: str = ""
) -> HttpResponse:
    response = render(
        request,
        "reviews/api_tokens.html",
        {
            "form": form,
            "tokens": ApiToken.objects.filter(user=request.user).order_by("-created"),
            "new_token": new_token,
        },
        status=422 if form.errors else 200,
    )
    response["Cache-Control"] = "no-store"  # the page may show a token once
    return response


@officer_required
@require_GET
def api_tokens(request: OfficerRequest) -> HttpResponse:
    """The officer's personal tokens for the API. Only a session that passed the second factor
    reaches this page, so a token carries that proof (accounts.api_auth)."""
    return _tokens_page(request, ApiTokenForm())


@officer_required
@require_POST
def api_token_create(request: OfficerRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _tokens_page(request, form)
    _token, plain = account_services.api_token_issue(
        user=request.user,
        label=form.cleaned_data["label"],
        created_by=request.user,
        ttl=timedelta(days=form.cleaned_data["days"]),
    )
    # Rendered, not redirected: the token is shown this once and never stored in plain text.
    return _tokens_page(request, ApiTokenForm(), new_token=plain)


@officer_required
@require_POST
def api_token_revoke(request: OfficerRequest) -> HttpResponse:
    key = request.POST.get("key", "")
    revoked = 0
    for token in ApiToken.objects.filter(user=request.user, token_key=key):
        account_services.api_token_revoke(token=token)
        revoked += 1
    if revoked:
        messages.success(request, _("The token was revoked: it no longer works."))
    else:
        messages.error(request, _("No such token of yours."))
    return redirect("reviews:api_tokens")
