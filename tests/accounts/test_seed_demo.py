"""The seed_demo command: demo sign-ins for every role, safe to re-run, never in production."""

from __future__ import annotations

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD, DEMO_USERS
from accounts.models import Role, User
from applications.demo import OTHER_APPLICANTS
from tests.factories import totp_code

pytestmark = pytest.mark.django_db


def _seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    return {
        "users": User.objects.count(),
        "emails": EmailAddress.objects.count(),
        "authenticators": Authenticator.objects.count(),
        "memberships": User.groups.through.objects.count(),
    }


def test_seed_demo_creates_one_verified_login_per_role():
    _seed()

    for spec in DEMO_USERS:
        user = User.objects.get(email=spec.email)
        assert user.check_password(DEMO_PASSWORD)
        assert user.role_names == {spec.role}
        assert EmailAddress.objects.filter(user=user, verified=True, primary=True).exists()
        has_totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        assert has_totp == (spec.totp_secret is not None)
    admin = User.objects.get(email__startswith="admin@")
    assert admin.is_superuser
    assert admin.is_staff
    assert User.objects.get(email__startswith="supervisor@").is_staff
    assert not User.objects.get(email__startswith="officer1@").is_staff


def test_seed_demo_is_idempotent():
    _seed()
    first = _counts()
    officer = User.objects.get(email__startswith="officer1@")
    officer.set_password("changed-by-a-tester")
    officer.save()

    _seed()

    assert _counts() == first
    # The demo logins, plus the applicants of the other demo cases (applications.demo).
    assert first["users"] == len(DEMO_USERS) + len(OTHER_APPLICANTS)
    officer.refresh_from_db()
    assert officer.check_password(DEMO_PASSWORD)


def test_seed_demo_prints_the_logins_with_their_totp_secrets():
    output = _seed()

    for spec in DEMO_USERS:
        assert spec.email in output
        assert str(spec.role.label) in output
        if spec.totp_secret:
            assert spec.totp_secret in output
    assert DEMO_PASSWORD in output


def test_seeded_officer_signs_in_with_the_printed_secret(client):
    _seed()
    spec = next(s for s in DEMO_USERS if s.role == Role.OFFICER)

    client.post(reverse("account_login"), {"login": spec.email, "password": DEMO_PASSWORD})
    client.post(reverse("mfa_authenticate"), {"code": totp_code(spec.totp_secret)})

    assert client.get("/workspace/").status_code == 200


def test_seed_demo_refuses_to_run_in_production(settings):
    settings.KVISA_ENV = "production"

    with pytest.raises(CommandError, match="production"):
        _seed()

    assert not User.objects.exists()
    assert Group.objects.filter(name=Role.OFFICER).exists()  # migrations' data is untouched
