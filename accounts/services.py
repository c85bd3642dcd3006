"""Writes for accounts: roles, the end of a sign-up, two-factor resets."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from knox.settings import knox_settings

from accounts.models import API_CLIENT_EMAIL_DOMAIN, ApiClient, ApiToken, Role, Scope, User

# The admin site is where these roles look up (supervisor) or manage (admin) accounts; what
# they may do there is still decided by their group's permissions (migration 0003).
STAFF_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})

# Attributes where User and ModelBackend memoise roles and permissions on the instance.
_ROLE_CACHES = ("role_names", "_perm_cache", "_user_perm_cache", "_group_perm_cache")


def _forget_cached_roles(user: User) -> None:
    for attr in _ROLE_CACHES:
        user.__dict__.pop(attr, None)


@transaction.atomic
def user_assign_role(*, user: User, role: Role) -> User:
    """Put the user in the role's group; idempotent.

    Supervisors and administrators also get ``is_staff`` (see STAFF_ROLES). The groups are
    created by migration 0002, so a missing group is a broken database and is allowed to raise.
    """
    user.groups.add(Group.objects.get(name=role))
    if role in STAFF_ROLES and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    _forget_cached_roles(user)
    return user


def _supported_language(language: str | None) -> str:
    """Map a request language ("zh-Hans", "en-gb") to one of settings.LANGUAGES."""
    if language:
        try:
            # Django returns the variant in the caller's case; LANGUAGES codes are lower case.
            return translation.get_supported_language_variant(language.lower())
        except LookupError:
            pass
    return settings.LANGUAGE_CODE


@transaction.atomic
def user_complete_signup(*, user: User, language: str | None) -> User:
    """Finish a self-service sign-up: remember the language and make the user an applicant.

    The language is the one the person signed up in, so that later emails sent outside a
    request (reminders, decisions) reach them in a language they read. Self-registration only
    ever yields the applicant role: officer roles are granted by an administrator, so signing
    up can never open the workspace.
    """
    user.preferred_language = _supported_language(language)
    user.save(update_fields=["preferred_language"])
    return user_assign_role(user=user, role=Role.APPLICANT)


@transaction.atomic
def user_mfa_reset(*, user: User) -> int:
    """Remove all of the user's authenticators (TOTP, recovery codes); returns how many.

    For an officer who lost their phone: an administrator resets, the officer signs in with
    the password and is sent to enrol a new authenticator before the workspace opens again.
    """
    from allauth.mfa.models import Authenticator

    deleted, _ = Authenticator.objects.filter(user=user).delete()
    return deleted


# --- API clients and tokens ----------------------------------------------------------------


@transaction.atomic
def api_client_create(
    *, name: str, scopes: list[str], contact_email: str = "", actor: User | None = None
) -> ApiClient:
    """An integration client and the password-less user it acts through."""
    from django.utils.text import slugify

    name = " ".join(name.split())
    unknown = sorted(set(scopes) - set(Scope.values))
    if not name:
        raise ValidationError(_("A client needs a name."))
    if unknown:
        raise ValidationError(_("Unknown scope(s): %(scopes)s.") % {"scopes": ", ".join(unknown)})
    if ApiClient.objects.filter(name__iexact=name).exists():
        raise ValidationError(_("A client with this name already exists."))
    base = slugify(name)[:40] or "client"
    email = f"{base}-{secrets.token_hex(4)}@{API_CLIENT_EMAIL_DOMAIN}"
    user = User.objects.create_user(email, None, full_name=name)
    return ApiClient.objects.create(
        name=name, user=user, scopes=sorted(set(scopes)), contact_email=contact_email
    )


def api_token_issue(
    *,
    user: User,
    label: str = "",
    created_by: User | None = None,
    ttl: timedelta | None = None,
) -> tuple[ApiToken, str]:
    """A new token for a client's user or an officer; the plain token is returned only here."""
    if not user.is_active:
        raise ValidationError(_("Tokens are issued only to active accounts."))
    ttl = ttl or knox_settings.TOKEN_TTL
    token, plain = ApiToken.objects.create(
        user=user, expiry=ttl, label=label[:100], created_by=created_by
    )
    return token, plain


def api_token_revoke(*, token: ApiToken) -> None:
    token.delete()


def api_tokens_purge_expired() -> int:
    """Delete every expired token; the number deleted. Run daily (accounts.tasks): a request
    checks only the token it presents (api_auth.BearerTokenAuthentication)."""
    deleted, _by_model = ApiToken.objects.filter(expiry__lt=timezone.now()).delete()
    return deleted
