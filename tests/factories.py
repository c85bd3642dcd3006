"""Factories for people, and helpers to sign them in the way allauth does.

Every factory user has a verified, primary email address (allauth refuses to log in an
unverified one) and the password DEFAULT_PASSWORD. Officer-side factories enrol a TOTP
authenticator by default and expose its secret as ``user.totp_secret``.
"""

from __future__ import annotations

import time
from typing import Any

import factory
from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.account.internal.flows.login import _AUTHENTICATION_METHODS_USER_SESSION_KEY
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client
from factory.django import DjangoModelFactory

from accounts.models import Role, User
from accounts.services import user_assign_role

DEFAULT_PASSWORD = "correct-horse-battery-staple"
ALLAUTH_BACKEND = "allauth.account.auth_backends.AuthenticationBackend"


class UserFactory(DjangoModelFactory):
    """A user without a role. ``email_verified=False`` leaves the address unverified."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.test")
    full_name = factory.Faker("name")
    preferred_language = "en"
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def email_verified(obj: User, create: bool, extracted: bool | None, **kwargs: Any) -> None:
        if create:
            EmailAddress.objects.create(
                user=obj, email=obj.email, verified=extracted is not False, primary=True
            )


def _role(role: Role) -> factory.PostGeneration:
    def assign(obj: User, create: bool, extracted: Any, **kwargs: Any) -> None:
        if create:
            user_assign_role(user=obj, role=role)

    return factory.PostGeneration(assign)


def _totp(obj: User, create: bool, extracted: bool | None, **kwargs: Any) -> None:
    obj.totp_secret = None  # type: ignore[attr-defined]
    if create and extracted is not False:
        obj.totp_secret = generate_totp_secret()  # type: ignore[attr-defined]
        TOTP.activate(obj, obj.totp_secret)  # type: ignore[attr-defined]


class ApplicantFactory(UserFactory):
    role = _role(Role.APPLICANT)


class OfficerFactory(UserFactory):
    """A case officer; ``with_totp=False`` for one who has not enrolled an authenticator."""

    role = _role(Role.OFFICER)
    with_totp = factory.PostGeneration(_totp)


class SupervisorFactory(OfficerFactory):
    role = _role(Role.SUPERVISOR)


class AdminFactory(OfficerFactory):
    """An administrator as seed_demo makes one: admin group, superuser, staff."""

    is_superuser = True
    is_staff = True
    role = _role(Role.ADMIN)


def totp_code(secret: str) -> str:
    """The code an authenticator app shows right now for ``secret``."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def login_with_mfa(client: Client, user: User) -> None:
    """Open a session as allauth leaves it after password + TOTP, without the round trips.

    allauth records each factor a session passed (``record_authentication``); the officer gate
    reads the "mfa" record. The full flow is exercised in tests/accounts/test_officer_access.py,
    so a change in allauth's session format breaks a test rather than hiding here.
    """
    client.force_login(user, backend=ALLAUTH_BACKEND)
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    now = time.time()
    session = client.session
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "email": user.email},
        {"method": "mfa", "at": now, "id": totp.pk, "type": Authenticator.Type.TOTP.value},
    ]
    session[_AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()


def bearer(user: User) -> dict[str, str]:
    """Test-client headers carrying a new API token of ``user``."""
    from accounts.services import api_token_issue

    _token, plain = api_token_issue(user=user)
    return {"HTTP_AUTHORIZATION": f"Bearer {plain}"}
