"""Filing on behalf (applications:submit): an institution files an application for one of its
people; the person confirms and signs it through an emailed link before it counts as submitted.

The institution's data is validated by the very forms the applicant's own journey uses, so an
application filed by API can never hold what the web form would refuse. The application belongs
to the applicant from the start (their account is made, password-less, when they have none);
the client is recorded as its filer and sees it through cases:read and its webhooks.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from allauth.account.models import EmailAddress
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import ApiClient, Role, User
from accounts.services import user_assign_role
from applications import services as app_services
from applications.checklist import missing_items
from applications.confirmation import confirmation_token
from applications.forms import CareerForm as PostForm
from applications.forms import (
    ContactForm,
    DegreeForm,
    LanguageForm,
    PassportForm,
    PathForm,
    PersonalForm,
    TravelForm,
)
from applications.models import Application, Degree, Document, Status
from applications.notifications import send_applicant_email
from integrations.models import ApplicationFiling
from kvisa.errors import Conflict, NotFound, ValidationFailed
from policy.models import Institution, PolicyVersion, StemField
from policy.selectors import policy_in_force

# The sections of the application, in the applicant journey's order: name → form.
SECTIONS: tuple[tuple[str, type[forms.ModelForm]], ...] = (
    ("path", PathForm),
    ("personal", PersonalForm),
    ("passport", PassportForm),
    ("contact", ContactForm),
    ("post", PostForm),
    ("language", LanguageForm),
    ("travel", TravelForm),
)


def _section_form(
    form_class: type[forms.ModelForm],
    data: dict[str, Any],
    instance: Application,
    policy: Callable[[], PolicyVersion],
) -> forms.ModelForm:
    if form_class is TravelForm:
        max_stay = int(policy().visa_terms.get("max_stay_days", 180))
        return TravelForm(data, instance=instance, max_stay_days=max_stay)
    return form_class(data, instance=instance)


# API values that name a governed-list row, and how: forms take the row's key.
_LOOKUPS: tuple[tuple[str, type[Any], str], ...] = (
    ("post_field", StemField, "code"),
    ("field", StemField, "code"),
    ("employer_institution", Institution, "name_en"),
    ("institution", Institution, "name_en"),
)

# A governed-list row by (model, the API's name for it), as read once for the whole filing.
Named = dict[tuple[type[Any], str], Any]


def _named_rows(documents: list[Any]) -> Named:
    """The rows the filing names, one query per governed list, however long the lists are and
    however many degrees name them. A row's first match in the list's order wins, as
    ``.filter(...).first()`` chose it; the lookup compares text (a CharField's own cast)."""
    wanted: dict[tuple[type[Any], str], set[str]] = {}
    for given in documents:
        if not isinstance(given, dict):
            continue
        for name, model, lookup in _LOOKUPS:
            if given.get(name):
                wanted.setdefault((model, lookup), set()).add(str(given[name]))
    rows: Named = {}
    for (model, lookup), values in wanted.items():
        for row in model.objects.filter(**{f"{lookup}__in": values}):
            rows.setdefault((model, getattr(row, lookup)), row)
    return rows


def _codes_to_keys(data: dict[str, Any], rows: Named) -> dict[str, Any]:
    """The API names STEM fields by code and institutions by English name; forms take keys (an
    unknown name becomes a key the form refuses, with its own message)."""
    resolved = dict(data)
    for name, model, _lookup in _LOOKUPS:
        if resolved.get(name):
            row = rows.get((model, str(resolved[name])))
            resolved[name] = row.pk if row else "unknown"
    return resolved


def _form_errors(form: forms.BaseForm, prefix: str) -> dict[str, list[str]]:
    return {
        f"{prefix}.{name}": [str(m) for m in messages] for name, messages in form.errors.items()
    }


def _applicant_for(email: str) -> tuple[str, User | None]:
    """The address as accounts store it, and its account when there is one (that may apply)."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is not None and (user.is_api_client or user.is_officer or not user.is_active):
        raise ValidationFailed(
            _("This email address belongs to an account that cannot apply."),
            extra={"errors": {"applicant_email": ["not an applicant"]}},
        )
    return email, user


def _applicant_create(email: str, *, full_name: str) -> User:
    user = User.objects.create_user(email, None, full_name=full_name)
    user_assign_role(user=user, role=Role.APPLICANT)
    EmailAddress.objects.create(user=user, email=email, verified=False, primary=True)
    return user


def _answers(
    sections: dict[str, Any],
    degrees: list[Any],
    *,
    contact_email: str,
    policy: Callable[[], PolicyVersion],
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, list[str]]]:
    """The sections' answers and the degrees as the forms cleaned them, and every error.

    Each section is checked against the application as it would stand had each valid section
    before it been saved in turn (PassportForm reads the date of birth, TravelForm the
    passport's expiry, CareerForm the route); nothing is written here.
    """
    rows = _named_rows([*sections.values(), *degrees])
    errors: dict[str, list[str]] = {}
    answers: dict[str, Any] = {}
    # `saved`: the valid sections so far, as the web journey saves them one by one. A form sets
    # its valid fields on its instance even when it refuses others; the next form sees them
    # until a valid section starts again from `saved` (what the row would hold by then).
    saved = Application(contact_email=contact_email)
    instance = copy.copy(saved)
    for section, form_class in SECTIONS:
        data = sections.get(section)
        if not isinstance(data, dict):
            errors[section] = [_("This section is required.")]
            continue
        form = _section_form(form_class, _codes_to_keys(data, rows), instance, policy)
        if not form.is_valid():
            errors |= _form_errors(form, section)
            continue
        cleaned = {n: form.cleaned_data[n] for n in form.fields}
        answers |= cleaned
        for field, value in cleaned.items():
            setattr(saved, field, value)
        instance = copy.copy(saved)
    if not degrees:
        errors["degrees"] = [_("Give at least one degree.")]
    degree_rows: list[dict[str, Any]] = []
    for index, degree in enumerate(degrees):
        given = dict(degree) if isinstance(degree, dict) else {}
        # Left out, a checkbox means "no" to a form; to the API it means the model's default.
        given.setdefault("documents_in_zh_or_en", True)
        form = DegreeForm(_codes_to_keys(given, rows))
        if not form.is_valid():
            errors |= _form_errors(form, f"degrees.{index}")
            continue
        degree_rows.append(form.cleaned_data)
    return answers, degree_rows, errors


def _known_relations(application: Application, degrees: list[Degree]) -> None:
    """A draft just filed holds exactly these degrees and no document: its answer's checklist
    (missing_items) reads them from here, as prefetch_related would have left them."""
    cache: dict[str, Any] = {}
    for name, rows in (("degrees", degrees), ("documents", [])):
        queryset = getattr(application, name).all()
        queryset._result_cache = rows
        queryset._prefetch_done = True
        cache[name] = queryset
    application._prefetched_objects_cache = cache  # type: ignore[attr-defined]


def application_file(
    *,
    client: ApiClient,
    applicant_email: str,
    sections: dict[str, Any],
    degrees: list[Any],
    policy: Callable[[], PolicyVersion] = policy_in_force,
) -> Application:
    """A draft for the applicant, validated section by section, then stored at once: all or
    nothing.

    The checks only read, so they run before the transaction opens (no savepoint for each
    constraint a form checks); the writes are one INSERT each for the applicant's account when
    new, the application and its degrees, the filing and the timeline. `policy` gives the
    policy in force when the travel section needs it (the caller may cache it for its answer).
    """
    email, applicant = _applicant_for(applicant_email)
    answers, degree_rows, errors = _answers(
        sections, degrees, contact_email=applicant.email if applicant else email, policy=policy
    )
    if errors:
        raise ValidationFailed(_("The application is not valid."), extra={"errors": errors})
    with transaction.atomic():
        if applicant is None:
            personal = sections.get("personal") or {}
            name = " ".join(str(personal.get(k, "")) for k in ("given_names", "family_name"))
            applicant = _applicant_create(email, full_name=name.strip())
        application = app_services.application_create(applicant=applicant, data=answers)
        stored = app_services.degrees_add(application=application, rows=degree_rows)
        ApplicationFiling.objects.create(client=client, application=application)
        app_services.timeline_record(
            application=application,
            kind="filed_by_client",
            actor=client.user,
            public=True,
            data={"client": client.name},
        )
    _known_relations(application, stored)
    return application


def filed_application(*, client: ApiClient, public_id: Any) -> Application:
    """An application this client filed, else NotFound."""
    application = (
        Application.objects.filter(filing__client=client, public_id=public_id)
        .select_related("applicant", "policy_version")
        .first()
    )
    if application is None:
        raise NotFound
    return application


def filed_document_add(
    *,
    client: ApiClient,
    application: Application,
    kind: str,
    upload: UploadedFile,
    degree: int | None,
) -> Document:
    if application.status != Status.DRAFT:
        raise Conflict(_("The applicant has signed this application: it can no longer change."))
    degree_row = None
    if degree is not None:
        degrees = list(Degree.objects.filter(application=application))
        if not 0 <= degree < len(degrees):
            raise ValidationFailed(
                _("There is no degree %(index)s.") % {"index": degree},
                extra={"errors": {"degree": ["unknown"]}},
            )
        degree_row = degrees[degree]
    return app_services.document_add(
        application=application, kind=kind, upload=upload, actor=client.user, degree=degree_row
    )


@transaction.atomic
def invitation_send(*, client: ApiClient, application: Application) -> list[dict[str, str]]:
    """Email the applicant the link to check and sign, once the draft is complete. Returns what
    is still missing instead (and sends nothing) when it is not."""
    if application.status != Status.DRAFT:
        raise Conflict(_("The applicant has already signed this application."))
    missing = [m.as_dict() for m in missing_items(application, policy=policy_in_force())]
    if missing:
        return missing
    link = settings.SITE_URL + f"/applications/confirm/{confirmation_token(application)}/"
    app_services.timeline_record(
        application=application,
        kind="invitation_sent",
        actor=client.user,
        public=True,
        data={"client": client.name},
    )
    transaction.on_commit(
        lambda: send_applicant_email(
            application=application,
            template="filed_invitation",
            extra={"link": link, "client": client.name, "days": settings.FILING_LINK_DAYS},
        )
    )
    return []
