"""Who is calling the API, and with which scopes.

Three kinds of caller:

* an **integration client** with a bearer token: the scopes an administrator gave the client;
* an **officer** with a personal bearer token: the cases scopes, if the officer may work cases
  (tokens are issued only from a session that passed the second factor, so the token carries
  that proof);
* an **officer's browser session** that passed the second factor: the cases scopes.

Everything else has no scope. Endpoints declare what they need with ``scope_required``.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.signals import token_expired
from rest_framework.permissions import BasePermission

from accounts.access import Access, IsOfficerWithMFA, check_officer_access
from accounts.models import WORK_CASES, ApiClient, ApiToken, Scope

OFFICER_SCOPES = frozenset({Scope.CASES_READ, Scope.CASES_DECIDE})


class BearerTokenAuthentication(TokenAuthentication):
    """knox's hashed-token check, with the ``Bearer`` prefix (settings.REST_KNOX)."""

    def _cleanup_token(self, auth_token: ApiToken) -> bool:
        # knox reads all the caller's other tokens on every request, to delete the expired
        # ones: a query on every call for housekeeping. Only the token presented matters here;
        # an expired one is refused (and deleted, as knox does).
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            username = auth_token.user.get_username()
            auth_token.delete()
            token_expired.send(sender=type(self), username=username, source="auth_token")
            return True
        return False


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.api_auth.BearerTokenAuthentication"
    name = "bearerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": (
                "A token issued to an integration client (`manage.py create_api_client`, or "
                "the admin) or an officer's personal token. Send `Authorization: Bearer kv_…`."
            ),
        }


def api_client_of(request: Any) -> ApiClient | None:
    """The integration client making this request, if it is one."""
    if not isinstance(getattr(request, "auth", None), ApiToken) or not request.user.is_api_client:
        return None  # an officer's token: no client to look up
    client = getattr(request.user, "api_client", None)
    return client if isinstance(client, ApiClient) else None


def request_scopes(request: Any) -> frozenset[str]:
    user = request.user
    if not user or not user.is_authenticated:
        return frozenset()
    if isinstance(getattr(request, "auth", None), ApiToken):
        client = api_client_of(request)
        if client is not None:
            return frozenset(client.scopes) if client.is_active else frozenset()
        return OFFICER_SCOPES if user.is_active and user.has_perm(WORK_CASES) else frozenset()
    if check_officer_access(request, permission=WORK_CASES) is Access.GRANTED:
        return OFFICER_SCOPES
    return frozenset()


class ScopeRequired(BasePermission):
    """Subclassed by ``scope_required``; refuses with the missing scope named."""

    scope: str = ""
    message: Any = ""

    def has_permission(self, request: Any, view: Any) -> bool:
        if self.scope in request_scopes(request):
            return True
        access = None
        if not isinstance(getattr(request, "auth", None), ApiToken):
            access = check_officer_access(request, permission=WORK_CASES)
        if access in IsOfficerWithMFA.messages and access is not Access.NOT_PERMITTED:
            # A session officer who has not passed the second factor: say what to do.
            self.message = IsOfficerWithMFA.messages[access]
            self.code = access.value
        else:
            self.message = _("This request needs the scope %(scope)s.") % {"scope": self.scope}
            self.code = "missing_scope"
        return False


def scope_required(scope: Scope) -> type[BasePermission]:
    name = "Requires" + scope.name.title().replace("_", "")
    return type(name, (ScopeRequired,), {"scope": scope})
