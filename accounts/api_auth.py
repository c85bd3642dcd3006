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

import binascii
import functools
from hmac import compare_digest
from typing import Any

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings
from knox.signals import token_expired
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import BasePermission

from accounts.access import Access, IsOfficerWithMFA, check_officer_access
from accounts.models import WORK_CASES, ApiClient, ApiToken, Scope, User
from kvisa.rows import Columns, columns, table

OFFICER_SCOPES = frozenset({Scope.CASES_READ, Scope.CASES_DECIDE})


class BearerTokenAuthentication(TokenAuthentication):
    """knox's hashed-token check, with the ``Bearer`` prefix (settings.REST_KNOX).

    One query reads the token, its user, the user's integration client and their permissions:
    every API request checks a scope, which needs the client or a permission, and would
    otherwise ask for each on its own (knox reads the token and user only).
    """

    def authenticate_credentials(self, token: bytes) -> tuple[User, ApiToken]:
        plain = token.decode()
        for auth_token in _tokens_with_key(plain[: CONSTANTS.TOKEN_KEY_LENGTH]):
            if self._cleanup_token(auth_token):
                continue
            try:
                digest = hash_token(plain)
            except (TypeError, binascii.Error) as exc:
                raise AuthenticationFailed(_("Invalid token.")) from exc
            if compare_digest(digest, auth_token.digest):
                if knox_settings.AUTO_REFRESH and auth_token.expiry:
                    self.renew_token(auth_token)
                return self.validate_user(auth_token)
        raise AuthenticationFailed(_("Invalid token."))

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


@functools.cache
def _token_lookup() -> tuple[str, Columns, Columns, Columns]:
    """The token check's statement, written once a process from the models' own columns: the
    token, its user, the user's integration client (if any) and the names of the user's
    permissions, their own and their groups' (as accounts.backends.permission_names reads them;
    tests/accounts/test_backends.py holds the two equal). Built by the ORM on every request,
    the same query cost more than its own execution."""
    token, user, client = columns(ApiToken, "t"), columns(User, "u"), columns(ApiClient, "c")
    own, member = User.user_permissions.through, User.groups.through
    granted = Group.permissions.through
    sql = f"""
        SELECT {", ".join(token.sql + user.sql + client.sql)}, ARRAY(
            SELECT ct.app_label || '.' || p.codename
            FROM {table(Permission)} p JOIN {table(ContentType)} ct ON ct.id = p.content_type_id
            WHERE p.id IN (SELECT permission_id FROM {table(own)} WHERE user_id = u.id)
               OR p.id IN (
                   SELECT g.permission_id FROM {table(granted)} g
                   JOIN {table(member)} m ON m.group_id = g.group_id WHERE m.user_id = u.id)
        )
        FROM {table(ApiToken)} t
        JOIN {table(User)} u ON u.id = t.user_id
        LEFT JOIN {table(ApiClient)} c ON c.user_id = u.id
        WHERE t.token_key = %s
    """  # noqa: S608 - names from the models' metadata, the key a parameter
    return sql, token, user, client


def _tokens_with_key(key: str) -> list[ApiToken]:
    """The tokens whose key is ``key`` (knox's lookup), each with its user, the user's client
    and their permissions (where the model backend caches them) loaded: one query."""
    sql, token_columns, user_columns, client_columns = _token_lookup()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key])
        rows = cursor.fetchall()
    tokens = []
    nt, nu = len(token_columns), len(user_columns)
    for row in rows:
        values = list(row)
        auth_token = token_columns.instance(values[:nt])
        user = user_columns.instance(values[nt : nt + nu])
        client_values = values[nt + nu : -1]
        user.api_client = (
            None if client_values[0] is None else client_columns.instance(client_values)
        )
        if not user.is_superuser:  # a superuser's: all of them, read only if asked
            user._perm_cache = set(values[-1])
        auth_token.user = user
        tokens.append(auth_token)
    return tokens


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
