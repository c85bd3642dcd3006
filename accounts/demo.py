"""Demo data for accounts: one sign-in per role, ready for a tester.

``manage.py seed_demo`` calls ``seed_demo()`` in every installed app that has a ``demo``
module, in INSTALLED_APPS order (so applications can seed after the users they need exist).
Each returns ``DemoSection`` tables for the command to print.

The demo password and TOTP secrets below are public on purpose: a tester signs in with
``oathtool --totp -b SECRET`` or any authenticator app. The command refuses to run when
KVISA_ENV=production.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt, encrypt
from django.db import transaction

from accounts.models import Role, User
from accounts.services import user_assign_role

DEMO_PASSWORD = "kvisa-demo-2026"  # noqa: S105  (a documented demo password, never production)
DEMO_DOMAIN = "demo.kvisa.test"


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    role: Role
    totp_secret: str | None  # base32; None for applicants, who may enrol themselves
    superuser: bool = False


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser(f"applicant@{DEMO_DOMAIN}", "Maria Keller", Role.APPLICANT, None),
    DemoUser(f"officer1@{DEMO_DOMAIN}", "Li Wei", Role.OFFICER, "AJHV523UPTL6TQGER5K7FOZ2GGHH35DY"),
    DemoUser(
        f"officer2@{DEMO_DOMAIN}", "Zhang Min", Role.OFFICER, "Y6YUSS57BVCDOM4F57GU43JIDLMHMGRY"
    ),
    DemoUser(
        f"supervisor@{DEMO_DOMAIN}",
        "Wang Fang",
        Role.SUPERVISOR,
        "N2N6GBDM4CRMTRODDAKB4RDLHUKHXO7Q",
    ),
    DemoUser(
        f"admin@{DEMO_DOMAIN}",
        "Chen Jing",
        Role.ADMIN,
        "5I2KKMP7FP4SUDTV37HREFNJYEWRK5EQ",
        superuser=True,
    ),
)


@dataclass(frozen=True)
class DemoSection:
    """One table of what a demo seeder made, printed by the seed_demo command."""

    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]


def _demo_totp_set(*, user: User, secret: str) -> None:
    """Enrol the fixed TOTP secret, replacing a different one a tester may have set up."""
    authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if authenticator is None:
        TOTP.activate(user, secret)
    elif decrypt(authenticator.data["secret"]) != secret:
        authenticator.data = {"secret": encrypt(secret)}
        authenticator.save(update_fields=["data"])
    # Officers normally get recovery codes when they enrol; a no-op when they exist.
    RecoveryCodes.activate(user)


@transaction.atomic
def demo_user_upsert(*, spec: DemoUser, password: str) -> User:
    """Create the demo user, or bring an existing one back to the documented state.

    Idempotent by email: running again resets the password, role, verified address and TOTP
    secret, so a demo that a tester has changed can be restored by re-running the command.
    """
    user = User.objects.filter(email__iexact=spec.email).first()
    if user is None:
        user = User.objects.create_user(spec.email, password)
    else:
        user.set_password(password)
    user.full_name = spec.full_name
    user.is_active = True
    user.is_superuser = spec.superuser
    user.is_staff = user.is_staff or spec.superuser
    user.preferred_language = user.preferred_language or "en"
    user.save()
    user_assign_role(user=user, role=spec.role)
    EmailAddress.objects.update_or_create(
        user=user, email=spec.email, defaults={"verified": True, "primary": True}
    )
    if spec.totp_secret:
        _demo_totp_set(user=user, secret=spec.totp_secret)
    return user


@transaction.atomic
def demo_users_seed(*, password: str = DEMO_PASSWORD) -> list[User]:
    """Create or restore every demo login (see DEMO_USERS)."""
    return [demo_user_upsert(spec=spec, password=password) for spec in DEMO_USERS]


def seed_demo() -> Sequence[DemoSection]:
    """Entry point for the seed_demo command."""
    demo_users_seed(password=DEMO_PASSWORD)
    rows = [
        (spec.email, DEMO_PASSWORD, str(spec.role.label), spec.totp_secret or "-")
        for spec in DEMO_USERS
    ]
    return [
        DemoSection(
            title="Demo sign-ins (TOTP code: oathtool --totp -b SECRET)",
            headers=("email", "password", "role", "TOTP secret"),
            rows=rows,
        )
    ]
