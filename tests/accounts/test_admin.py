"""The admin site: user management, and no way around two-factor sign-in."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from accounts.models import User
from tests.factories import AdminFactory, OfficerFactory, SupervisorFactory, login_with_mfa

pytestmark = pytest.mark.django_db


def test_admin_login_page_hands_over_to_allauth_sign_in(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_staff_session_without_second_factor_is_kept_out_of_the_admin(client):
    admin_user = AdminFactory()
    client.force_login(admin_user)

    response = client.get(reverse("admin:index"), follow=True)

    assert response.redirect_chain[-1][0].startswith(reverse("mfa_reauthenticate"))


def test_staff_without_authenticator_is_sent_to_enrol_before_the_admin(client):
    client.force_login(AdminFactory(with_totp=False))

    to_admin_login = client.get(reverse("admin:index"))
    response = client.get(to_admin_login.url)

    assert to_admin_login.url.startswith(reverse("admin:login"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_admin_with_second_factor_manages_users(client):
    login_with_mfa(client, AdminFactory())
    OfficerFactory(email="enrolled@example.test")
    OfficerFactory(email="pending@example.test", with_totp=False)

    enrolled = client.get(reverse("admin:accounts_user_changelist"), {"totp": "yes"})
    pending = client.get(reverse("admin:accounts_user_changelist"), {"totp": "no"})

    assert enrolled.status_code == 200
    assert "enrolled@example.test" in enrolled.content.decode()
    assert "pending@example.test" not in enrolled.content.decode()
    assert "pending@example.test" in pending.content.decode()


def test_admin_add_form_creates_a_user_from_email_and_password(client):
    login_with_mfa(client, AdminFactory())

    response = client.post(
        reverse("admin:accounts_user_add"),
        {
            "email": "New.Officer@Example.test",
            "full_name": "New Officer",
            "usable_password": "true",
            "password1": "a-long-officer-passphrase",
            "password2": "a-long-officer-passphrase",
        },
    )

    assert response.status_code == 302
    user = User.objects.get(email="new.officer@example.test")
    assert user.check_password("a-long-officer-passphrase")


def test_admin_add_form_rejects_an_email_that_differs_only_in_case(client):
    login_with_mfa(client, AdminFactory())
    OfficerFactory(email="taken@example.test")

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"email": "TAKEN@example.test", "usable_password": "false"},
    )

    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.test").count() == 1


def test_admin_resets_a_lost_authenticator(client):
    login_with_mfa(client, AdminFactory())
    officer = OfficerFactory()

    response = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "reset_two_factor", "_selected_action": [officer.pk]},
    )

    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=officer).exists()


def test_supervisor_may_view_but_not_change_users(client):
    login_with_mfa(client, SupervisorFactory())
    officer = OfficerFactory()

    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 200
    change_page = client.get(reverse("admin:accounts_user_change", args=[officer.pk]))
    assert change_page.status_code == 200
    assert 'name="_save"' not in change_page.content.decode()
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
