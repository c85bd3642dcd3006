"""Account services: roles, the end of a sign-up, two-factor reset."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

from accounts.models import Role
from accounts.selectors import user_capabilities, user_role_labels, user_security_summary
from accounts.services import user_assign_role, user_complete_signup, user_mfa_reset
from tests.factories import AdminFactory, OfficerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_assign_role_is_idempotent_and_updates_permissions_at_once():
    user = UserFactory()
    assert not user.is_officer  # fills the permission cache

    user_assign_role(user=user, role=Role.OFFICER)
    user_assign_role(user=user, role=Role.OFFICER)

    assert user.groups.count() == 1
    assert user.is_officer
    assert not user.is_supervisor
    assert not user.is_staff


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.ADMIN])
def test_supervisors_and_administrators_become_staff(role):
    user = UserFactory()

    user_assign_role(user=user, role=role)

    user.refresh_from_db()
    assert user.is_staff
    assert user.is_supervisor


@pytest.mark.parametrize(
    ("language", "stored"),
    [("zh-Hans", "zh-hans"), ("zh-hans", "zh-hans"), ("en-gb", "en"), ("fr", "en"), (None, "en")],
)
def test_complete_signup_stores_a_supported_language_and_the_applicant_role(language, stored):
    user = UserFactory()

    user_complete_signup(user=user, language=language)

    user.refresh_from_db()
    assert user.preferred_language == stored
    assert user.role_names == {Role.APPLICANT}


def test_mfa_reset_removes_every_authenticator():
    officer = OfficerFactory()
    RecoveryCodes.activate(officer)

    assert user_mfa_reset(user=officer) == 2
    assert not Authenticator.objects.filter(user=officer).exists()


def test_security_summary_reports_totp_and_unused_recovery_codes():
    officer = OfficerFactory()
    assert user_security_summary(user=officer).recovery_codes_left is None

    RecoveryCodes.activate(officer)
    summary = user_security_summary(user=officer)

    assert summary.totp_enabled
    assert summary.recovery_codes_left == 10
    assert not user_security_summary(user=OfficerFactory(with_totp=False)).totp_enabled


def test_role_labels_and_capabilities_follow_the_groups():
    admin = AdminFactory()

    assert user_role_labels(user=admin) == ["Administrator"]
    assert user_capabilities(user=admin) == [
        "Can work review queues and decide cases",
        "Can supervise queues, reassign and see audit trails",
    ]
