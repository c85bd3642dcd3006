"""Reads for accounts: a user's roles and two-factor state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

from accounts.models import Role, User


@dataclass(frozen=True)
class SecuritySummary:
    """What a user has enrolled for two-factor authentication."""

    totp_enabled_at: datetime | None
    totp_last_used_at: datetime | None
    recovery_codes_left: int | None  # None: no recovery codes were ever generated

    @property
    def totp_enabled(self) -> bool:
        return self.totp_enabled_at is not None


def user_has_totp(*, user: User) -> bool:
    """True when the user has an authenticator app (TOTP) enrolled."""
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def user_security_summary(*, user: User) -> SecuritySummary:
    """The user's TOTP and recovery-code state, in one query."""
    totp = None
    recovery = None
    for authenticator in Authenticator.objects.filter(
        user=user, type__in=[Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES]
    ):
        if authenticator.type == Authenticator.Type.TOTP:
            totp = authenticator
        else:
            recovery = authenticator
    return SecuritySummary(
        totp_enabled_at=totp.created_at if totp else None,
        totp_last_used_at=totp.last_used_at if totp else None,
        recovery_codes_left=(
            len(RecoveryCodes(recovery).get_unused_codes()) if recovery is not None else None
        ),
    )


def user_role_labels(*, user: User) -> list[str]:
    """The translated names of the user's roles, in the order of ``Role``."""
    return [str(role.label) for role in Role if role.value in user.role_names]


def user_capabilities(*, user: User) -> list[str]:
    """What the user's roles allow, in the translated words of the role permissions.

    Read from the same permissions the access checks use, so a page listing them can never
    claim more than is granted.
    """
    app_label = User._meta.app_label
    return [
        str(label)
        for codename, label in User._meta.permissions
        if user.has_perm(f"{app_label}.{codename}")
    ]


def supervisor_emails() -> list[str]:
    """Where to tell supervisors of something (late cases, review requests)."""
    return list(
        User.objects.filter(groups__name=Role.SUPERVISOR, is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )
