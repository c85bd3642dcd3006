"""Who may enter the officer side: view decorators and a DRF permission sharing one rule.

The rule, in order:

1. anonymous → sign in first (HTML: redirect to the login page; API: 401/403 by DRF);
2. signed in without the permission → **404** (HTML) so that probing applicants learn nothing
   about which officer URLs exist, nor — once case pages exist — which reference numbers do;
   the API answers 403 instead, its schema being public anyway;
3. officer without an authenticator app (TOTP) → sent to enrol one;
4. officer with TOTP whose *session* has not passed a second factor (for example a session
   opened before enrolment, or by a login path that skipped the MFA stage) → asked for a code
   on allauth's re-authentication page, then sent back.

Step 4 matters because allauth enforces MFA at login only once an authenticator exists; the
session record it writes after a second factor (``get_authentication_records``) is what we
check, so a password-only session can never reach case data. ``protect_admin_site`` applies
steps 3 and 4 to the admin site as well.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.account.decorators import secure_admin_login
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission

from accounts.models import SUPERVISE_CASES, WORK_CASES
from accounts.selectors import user_has_totp


class Access(enum.Enum):
    GRANTED = "granted"
    ANONYMOUS = "anonymous"
    NOT_PERMITTED = "not_permitted"
    TOTP_NOT_ENROLLED = "totp_not_enrolled"
    MFA_NOT_PASSED = "mfa_not_passed"


def mfa_verified_at(request: HttpRequest) -> datetime | None:
    """When this session last passed a second factor (login or re-authentication), if ever."""
    records = get_authentication_records(request, request.user)
    times = [record["at"] for record in records if record.get("method") == "mfa"]
    return datetime.fromtimestamp(max(times), tz=UTC) if times else None


def check_second_factor(request: HttpRequest) -> Access:
    """Steps 3 and 4 of the rule."""
    user = request.user
    if not user.is_authenticated:
        return Access.ANONYMOUS
    if not user_has_totp(user=user):
        return Access.TOTP_NOT_ENROLLED
    if mfa_verified_at(request) is None:
        return Access.MFA_NOT_PASSED
    return Access.GRANTED


def check_officer_access(request: HttpRequest, *, permission: str) -> Access:
    """Apply the module's rule for ``permission`` (WORK_CASES or SUPERVISE_CASES)."""
    user = request.user
    if not user.is_authenticated:
        return Access.ANONYMOUS
    if not user.has_perm(permission):
        return Access.NOT_PERMITTED
    return check_second_factor(request)


def second_factor_redirect(request: HttpRequest, access: Access, *, next_url: str) -> HttpResponse:
    """Send a signed-in user who lacks a second factor to enrol one or to confirm one."""
    if access is Access.TOTP_NOT_ENROLLED:
        messages.warning(
            request,
            _(
                "This area requires two-factor authentication. Set up an authenticator app, "
                "then open the page again."
            ),
        )
        return HttpResponseRedirect(reverse("mfa_activate_totp"))
    messages.info(request, _("Please confirm it is you with a code from your authenticator app."))
    query = urlencode({REDIRECT_FIELD_NAME: next_url})
    return HttpResponseRedirect(f"{reverse('mfa_reauthenticate')}?{query}")


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def _gate(permission: str) -> Callable[[ViewFunc], ViewFunc]:
    def decorator(view: ViewFunc) -> ViewFunc:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            access = check_officer_access(request, permission=permission)
            if access is Access.GRANTED:
                return view(request, *args, **kwargs)
            if access is Access.ANONYMOUS:
                return redirect_to_login(request.get_full_path())
            if access is Access.NOT_PERMITTED:
                raise Http404
            return second_factor_redirect(request, access, next_url=request.get_full_path())

        return wrapped  # type: ignore[return-value]

    return decorator


def officer_required(view: ViewFunc) -> ViewFunc:
    """Open the view only to officers (accounts.work_cases) who passed two-factor auth."""
    return _gate(WORK_CASES)(view)


def supervisor_required(view: ViewFunc) -> ViewFunc:
    """Open the view only to supervisors (accounts.supervise_cases) who passed two-factor auth."""
    return _gate(SUPERVISE_CASES)(view)


class IsOfficerWithMFA(BasePermission):
    """DRF twin of ``officer_required``, for session-authenticated officer API calls.

    Token-authenticated integrations are not officers and never pass; if officers ever get API
    tokens, issuing them must itself require an MFA-verified session.
    """

    permission = WORK_CASES
    messages = {
        Access.NOT_PERMITTED: _("You do not have permission to work cases."),
        Access.TOTP_NOT_ENROLLED: _("Set up an authenticator app before working cases."),
        Access.MFA_NOT_PASSED: _("Confirm this session with your authenticator app first."),
    }

    def has_permission(self, request: Any, view: Any) -> bool:
        access = check_officer_access(request, permission=self.permission)
        if access in self.messages:
            # DRF reads message and code from the instance after a refusal.
            self.message = self.messages[access]
            self.code = access.value
        return access is Access.GRANTED


class IsSupervisorWithMFA(IsOfficerWithMFA):
    """DRF twin of ``supervisor_required``."""

    permission = SUPERVISE_CASES
    messages = {
        **IsOfficerWithMFA.messages,
        Access.NOT_PERMITTED: _("You do not have permission to supervise cases."),
    }


def protect_admin_site(site: AdminSite) -> None:
    """Make the admin site demand the same two factors as the workspace.

    Django's admin login form checks only a password, so it would be a way around the MFA
    stage of allauth's login. Its login page therefore hands over to allauth's (allauth's own
    ``secure_admin_login``), and a staff session is admitted only after steps 3 and 4 above.
    """
    original_login = secure_admin_login(site.login)
    original_has_permission = site.has_permission

    def has_permission(request: HttpRequest) -> bool:
        return original_has_permission(request) and check_second_factor(request) is Access.GRANTED

    def login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_active and user.is_staff:
            access = check_second_factor(request)
            if access is not Access.GRANTED:
                next_url = request.GET.get(REDIRECT_FIELD_NAME) or reverse("admin:index")
                if not url_has_allowed_host_and_scheme(
                    next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
                ):
                    next_url = reverse("admin:index")
                return second_factor_redirect(request, access, next_url=next_url)
        return original_login(request, extra_context)

    site.has_permission = has_permission  # type: ignore[method-assign]
    site.login = login  # type: ignore[method-assign]
