"""Applicant pages. Thin: check who is asking (selectors), parse (forms), call one service.

Every view here takes the application through `selectors.application_of(request.user, …)`,
which 404s for anything the user does not own.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode
from uuid import UUID

from allauth.account.models import EmailAddress
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import User
from applications import selectors, services
from applications.answers import application_answers, render_answers
from applications.checklist import STEPS, Step, document_checklist, missing_items
from applications.confirmation import confirmation_read
from applications.forms import (
    STEP_FORMS,
    DegreeForm,
    EvidenceAnswerForm,
    ReviewRequestForm,
    StatusLookupForm,
    SubmitForm,
    TravelForm,
    UploadForm,
    WithdrawForm,
)
from applications.models import Application, Degree, DocumentKind
from applications.uploads import private_file_response
from kvisa.errors import DomainError, ValidationFailed
from kvisa.ratelimit import allow, client_ip
from policy.selectors import policy_in_force


class AuthedRequest(HttpRequest):
    """The request of a @login_required view: its user is a real User (for the type checker)."""

    user: User


def _step_url(application: Application, step: Step) -> str:
    return reverse("applications:step", args=[application.public_id, step.value])


def _next_url(application: Application, step: Step) -> str:
    index = STEPS.index(step)
    if index + 1 < len(STEPS):
        return _step_url(application, STEPS[index + 1])
    return reverse("applications:review", args=[application.public_id])


def _progress(application: Application, current: Step | None) -> list[dict[str, object]]:
    """The progress indicator: each step, whether it still misses something, the current one."""
    policy = policy_in_force()
    incomplete = {item.step for item in missing_items(application, policy=policy)}
    return [
        {
            "step": s,
            "url": _step_url(application, s),
            "done": s not in incomplete,
            "current": s == current,
        }
        for s in STEPS
    ]


@login_required
@require_GET
def dashboard(request: AuthedRequest) -> HttpResponse:
    applications = list(selectors.applicant_dashboard(request.user))
    return render(request, "applications/dashboard.html", {"applications": applications})


@login_required
@require_POST
def start(request: AuthedRequest) -> HttpResponse:
    application = services.application_create(applicant=request.user)
    return redirect(_step_url(application, Step.PATH))


@login_required
@require_GET
def detail(request: AuthedRequest, public_id: UUID) -> HttpResponse:
    application = selectors.application_of(request.user, public_id)
    context = {
        "application": application,
        "progress": _progress(application, None) if application.is_draft else None,
        "timeline": application.timeline.all(),
        "evidence_requests": application.evidence_requests.all(),
    }
    return render(request, "applications/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def step(request: AuthedRequest, public_id: UUID, step: str) -> HttpResponse:
    application = selectors.application_of(request.user, public_id)
    try:
        current = Step(step)
    except ValueError as exc:
        raise Http404 from exc
    if not application.is_draft:
        messages.info(
            request, _("This application has been submitted and can no longer be changed.")
        )
        return redirect("applications:detail", public_id=application.public_id)
    if current == Step.EDUCATION:
        return _education(request, application)
    if current == Step.DOCUMENTS:
        return _documents(request, application)
    form_class = STEP_FORMS[current]
    form: forms.ModelForm
    if form_class is TravelForm:
        max_stay_days = int(policy_in_force().visa_terms.get("max_stay_days", 180))
        form = TravelForm(request.POST or None, instance=application, max_stay_days=max_stay_days)
    else:
        form = form_class(request.POST or None, instance=application)
    if request.method == "POST" and form.is_valid():
        data = {name: form.cleaned_data[name] for name in form.fields}
        services.application_update(application=application, data=data)
        messages.success(request, _("Saved."))
        if "save_exit" in request.POST:
            return redirect("applications:detail", public_id=application.public_id)
        return redirect(_next_url(application, current))
    return render(
        request,
        "applications/step.html",
        {
            "application": application,
            "form": form,
            "step": current,
            "progress": _progress(application, current),
        },
    )


def _education(request: AuthedRequest, application: Application) -> HttpResponse:
    degree: Degree | None = None
    edit_id = request.GET.get("edit") or request.POST.get("degree_id")
    if edit_id:
        degree = next((d for d in application.degrees.all() if str(d.pk) == edit_id), None)
        if degree is None:
            raise Http404
    form = DegreeForm(request.POST or None, instance=degree)
    if request.method == "POST":
        if "delete" in request.POST and degree is not None:
            services.degree_delete(degree=degree)
            messages.success(request, _("Degree removed."))
            return redirect(_step_url(application, Step.EDUCATION))
        if "continue" in request.POST and not any(
            form.data.get(f) for f in ("level", "field", "started_on")
        ):
            if not application.degrees.exists():
                messages.error(request, _("Add at least one degree."))
            else:
                return redirect(_next_url(application, Step.EDUCATION))
        elif form.is_valid():
            services.degree_save(application=application, degree=degree, data=form.cleaned_data)
            messages.success(request, _("Degree saved."))
            if "continue" in request.POST:
                return redirect(_next_url(application, Step.EDUCATION))
            return redirect(_step_url(application, Step.EDUCATION))
    return render(
        request,
        "applications/education.html",
        {
            "application": application,
            "form": form,
            "editing": degree,
            "step": Step.EDUCATION,
            "degrees": application.degrees.all(),
            "progress": _progress(application, Step.EDUCATION),
        },
    )


def _documents(request: AuthedRequest, application: Application) -> HttpResponse:
    policy = policy_in_force()
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST":
        if form.is_valid():
            kind = form.cleaned_data["kind"]
            degree_id = form.cleaned_data.get("degree")
            degree = next((d for d in application.degrees.all() if d.pk == degree_id), None)
            if kind not in DocumentKind.values or (degree_id and degree is None):
                raise Http404
            try:
                services.document_add(
                    application=application,
                    kind=kind,
                    upload=form.cleaned_data["file"],
                    actor=request.user,
                    degree=degree,
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(request, _("Uploaded."))
                return redirect(_step_url(application, Step.DOCUMENTS))
        else:
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, str(error))
        application = selectors.application_of(request.user, application.public_id)
    return render(
        request,
        "applications/documents.html",
        {
            "application": application,
            "step": Step.DOCUMENTS,
            "checklist": document_checklist(application, policy=policy),
            "progress": _progress(application, Step.DOCUMENTS),
        },
    )


@login_required
@require_GET
def document_download(request: AuthedRequest, public_id: UUID, document_id: UUID) -> FileResponse:
    document = selectors.document_of(request.user, public_id, document_id)
    return private_file_response(
        document.file, filename=document.original_name, content_type=document.content_type
    )


@login_required
@require_POST
def document_delete(request: AuthedRequest, public_id: UUID, document_id: UUID) -> HttpResponse:
    document = selectors.document_of(request.user, public_id, document_id)
    try:
        services.document_delete(document=document)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("File removed."))
    return redirect(_step_url(document.application, Step.DOCUMENTS))


@login_required
@require_http_methods(["GET", "POST"])
def review(request: AuthedRequest, public_id: UUID) -> HttpResponse:
    application = selectors.application_of(request.user, public_id)
    if not application.is_draft:
        return redirect("applications:detail", public_id=application.public_id)
    policy = policy_in_force()
    form = SubmitForm(request.POST or None)
    missing = missing_items(application, policy=policy)
    if request.method == "POST" and form.is_valid() and not missing:
        try:
            submitted = services.application_submit(
                application=application,
                actor=request.user,
                signature_name=form.cleaned_data["signature_name"],
            )
        except DomainError as exc:
            form.add_error(
                "signature_name" if exc.code == "validation_failed" else None, exc.message
            )
        else:
            return redirect("applications:submitted", public_id=submitted.public_id)
    return render(
        request,
        "applications/review.html",
        {
            "application": application,
            "form": form,
            "missing": missing,
            "sections": render_answers(application_answers(application)),
            "step_urls": {s.value: _step_url(application, s) for s in STEPS},
            "progress": _progress(application, None),
        },
    )


@login_required
@require_GET
def submitted(request: AuthedRequest, public_id: UUID) -> HttpResponse:
    application = selectors.application_of(request.user, public_id)
    if application.is_draft:
        return redirect("applications:review", public_id=application.public_id)
    return render(request, "applications/submitted.html", {"application": application})


@login_required
@require_http_methods(["GET", "POST"])
def withdraw(request: AuthedRequest, public_id: UUID) -> HttpResponse:
    application = selectors.application_of(request.user, public_id)
    if not application.can_withdraw:
        messages.error(request, _("This application can no longer be withdrawn."))
        return redirect("applications:detail", public_id=application.public_id)
    form = WithdrawForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.application_withdraw(
                application=application, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("The application was withdrawn."))
        return redirect("applications:detail", public_id=application.public_id)
    return render(request, "applications/withdraw.html", {"application": application, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def evidence_answer(request: AuthedRequest, public_id: UUID, request_id: UUID) -> HttpResponse:
    evidence = selectors.evidence_request_of(request.user, public_id, request_id)
    form = EvidenceAnswerForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.evidence_answer(
                request=evidence,
                actor=request.user,
                text=form.cleaned_data["text"],
                uploads=form.cleaned_data["attachments"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error("attachments", message)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("applications:detail", public_id=public_id)
        else:
            messages.success(
                request, _("Thank you. Your answer was sent and your case is back in the queue.")
            )
            return redirect("applications:detail", public_id=public_id)
    return render(
        request,
        "applications/evidence.html",
        {"evidence": evidence, "application": evidence.application, "form": form},
    )


@login_required
@require_http_methods(["GET", "POST"])
def review_request(request: AuthedRequest, public_id: UUID) -> HttpResponse:
    """Ask for an administrative review of a refusal (the refusal letter points here)."""
    application = selectors.application_of(request.user, public_id)
    deadline = services.review_request_deadline(application)
    if deadline is None or hasattr(application, "review_request"):
        return redirect("applications:detail", public_id=public_id)
    form = ReviewRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.review_request_create(
                application=application, actor=request.user, text=form.cleaned_data["text"]
            )
        except ValidationFailed as exc:
            form.add_error("text", exc.message)
        except DomainError as exc:
            messages.error(request, exc.message)
            return redirect("applications:detail", public_id=public_id)
        else:
            messages.success(
                request,
                _(
                    "Your request for a review was sent. A supervisor who did not take the "
                    "decision will look at your case, and you will be told the outcome."
                ),
            )
            return redirect("applications:detail", public_id=public_id)
    return render(
        request,
        "applications/review_request.html",
        {"application": application, "form": form, "deadline": deadline},
    )


@login_required
@require_GET
def export(request: AuthedRequest) -> HttpResponse:
    """Everything we hold about the signed-in applicant, as JSON (data portability)."""
    applications = selectors.applicant_dashboard(request.user).prefetch_related(
        "degrees__field",
        "degrees__institution",
        "documents",
        "timeline",
        "evidence_requests__response",
    )
    data = {
        "account": {
            "email": request.user.email,
            "full_name": request.user.full_name,
            "date_joined": request.user.date_joined,
        },
        "applications": [
            {
                "id": str(a.public_id),
                "reference": a.reference,
                "status": a.status,
                "created_at": a.created_at,
                "submitted_at": a.submitted_at,
                "decided_at": a.decided_at,
                "withdrawn_at": a.withdrawn_at,
                "answers": a.snapshot if a.snapshot else application_answers(a),
                "timeline": [
                    {
                        "at": e.at,
                        "event": e.kind,
                        "from": e.from_status,
                        "to": e.to_status,
                        "message": e.message,
                    }
                    for e in a.timeline.all()
                    if e.public
                ],
                "evidence_requests": [
                    {
                        "message": r.message,
                        "due_at": r.due_at,
                        "state": r.state,
                        "answer": getattr(getattr(r, "response", None), "text", None),
                    }
                    for r in a.evidence_requests.all()
                ],
            }
            for a in applications
        ],
    }
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
        content_type="application/json",
    )
    response["Content-Disposition"] = 'attachment; filename="kvisa-my-data.json"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_http_methods(["GET", "POST"])
def status_lookup(request: HttpRequest) -> HttpResponse:
    """Public: reference + passport number → status and dates, nothing else.

    Rate-limited per client address, and the same answer for an unknown reference and a wrong
    passport number.
    """
    form = StatusLookupForm(request.POST or None)
    result = None
    not_found = False
    status_code = 200
    if request.method == "POST" and form.is_valid():
        limit = settings.STATUS_LOOKUP_RATE
        if not allow(
            scope="status-lookup", key=client_ip(request), limit=limit, window_seconds=3600
        ):
            form.add_error(None, _("Too many lookups from your network. Try again in an hour."))
            status_code = 429
        else:
            result = selectors.public_status(
                reference=form.cleaned_data["reference"],
                passport_number=form.cleaned_data["passport_number"],
            )
            not_found = result is None
    return render(
        request,
        "applications/status_lookup.html",
        {"form": form, "result": result, "not_found": not_found},
        status=status_code,
    )


@require_http_methods(["GET", "POST"])
def confirm_filed(request: HttpRequest, token: str) -> HttpResponse:
    """The link an institution's filing sends: the applicant takes the application over, sets a
    password if they have none, and is sent to the review page to check and sign it."""
    found = confirmation_read(token)
    application = (
        Application.objects.select_related("applicant")
        .filter(public_id=found.public_id, applicant_id=found.applicant_id)
        .first()
        if found
        else None
    )
    if application is None:
        return render(request, "applications/confirm_invalid.html", status=400)
    applicant = application.applicant
    review = reverse("applications:review", args=[application.public_id])
    if not application.is_draft:
        return redirect("applications:detail", public_id=application.public_id)
    # Following the link proves the mailbox.
    EmailAddress.objects.filter(user=applicant, email__iexact=applicant.email).update(verified=True)
    if request.user.is_authenticated and request.user.pk == applicant.pk:
        return redirect(review)
    if applicant.has_usable_password():
        messages.info(request, _("Sign in to check and sign your application."))
        return redirect(f"{reverse('account_login')}?{urlencode({'next': review})}")
    form = SetPasswordForm(applicant, request.POST or None)
    if request.method == "POST" and form.is_valid():
        form.save()
        login(request, applicant, backend="allauth.account.auth_backends.AuthenticationBackend")
        messages.success(
            request, _("Your account is ready. Check every answer, then sign and submit.")
        )
        return redirect(review)
    return render(
        request, "applications/confirm_filed.html", {"application": application, "form": form}
    )
