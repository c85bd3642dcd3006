"""Self-service accounts: sign-up, email verification, sign-in, password reset."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts.models import Role, User
from tests.factories import DEFAULT_PASSWORD, ApplicantFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-passphrase-2026"


def _link_in(message: mail.EmailMessage) -> str:
    """The single site link in an email, as a path the test client can open."""
    links = re.findall(rf"{re.escape(settings.SITE_URL)}(/\S+)", message.body)
    assert len(links) == 1, message.body
    return links[0]


def _sign_up(client, email: str = "new.person@example.test", **headers):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": DEFAULT_PASSWORD, "password2": DEFAULT_PASSWORD},
        **headers,
    )


def test_signup_creates_an_applicant_with_an_unverified_email_and_sends_a_verification_link(
    client,
):
    response = _sign_up(client)

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.person@example.test")
    assert user.role_names == {Role.APPLICANT}
    assert not user.is_officer
    address = EmailAddress.objects.get(user=user)
    assert (address.email, address.verified, address.primary) == (user.email, False, True)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.person@example.test"]
    assert mail.outbox[0].subject.startswith(settings.ACCOUNT_EMAIL_SUBJECT_PREFIX)
    assert "/accounts/confirm-email/" in _link_in(mail.outbox[0])


def test_signup_remembers_the_language_the_person_signed_up_in(client):
    _sign_up(client, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9")

    assert User.objects.get(email="new.person@example.test").preferred_language == "zh-hans"


def test_verification_link_points_at_site_url_whatever_the_request_host(client):
    _sign_up(client, HTTP_HOST="localhost")

    assert f"{settings.SITE_URL}/accounts/confirm-email/" in mail.outbox[0].body
    assert "http://localhost/" not in mail.outbox[0].body


def test_unverified_user_cannot_log_in(client):
    user = ApplicantFactory(email_verified=False)

    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    # ...and is sent a fresh verification link instead.
    assert len(mail.outbox) == 1


def test_following_the_emailed_link_verifies_the_address_and_logs_in(client):
    _sign_up(client)
    link = _link_in(mail.outbox[0])

    confirm_page = client.get(link)
    response = client.post(link)

    assert confirm_page.status_code == 200
    assert response.status_code == 302
    user = User.objects.get(email="new.person@example.test")
    assert EmailAddress.objects.get(user=user).verified
    assert client.session["_auth_user_id"] == str(user.pk)


def test_verified_applicant_logs_in_with_password(client):
    user = ApplicantFactory()

    response = client.post(
        reverse("account_login"), {"login": user.email.upper(), "password": DEFAULT_PASSWORD}
    )

    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_password_reset_email_lets_the_user_choose_a_new_password(client):
    user = ApplicantFactory()

    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    key_page = client.get(_link_in(mail.outbox[0]), follow=True)
    assert key_page.status_code == 200
    set_password_url = key_page.redirect_chain[-1][0]
    response = client.post(set_password_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not user.check_password(DEFAULT_PASSWORD)


def test_password_reset_for_an_unknown_address_reveals_nothing(client):
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.test"})

    assert response.status_code == 302
    assert response.url == reverse("account_reset_password_done")
    assert not User.objects.filter(email="nobody@example.test").exists()


@pytest.mark.parametrize(
    "url_name",
    [
        "account_login",
        "account_signup",
        "account_reset_password",
        "account_email_verification_sent",
    ],
)
def test_allauth_pages_render_inside_the_site_layout_with_labelled_fields(client, url_name):
    response = client.get(reverse(url_name))

    html = response.content.decode()
    assert response.status_code == 200
    assert '<main id="main"' in html
    assert "· K visa</title>" in html.replace("\n", "")
    assert "Menu:" not in html  # allauth's bare layout is not used
    for field_id in re.findall(r'<input[^>]+type="(?:email|password|text)"[^>]*id="([^"]+)"', html):
        assert f'for="{field_id}"' in html


def test_login_errors_are_announced_with_the_form(client):
    ApplicantFactory(email="known@example.test")

    response = client.post(
        reverse("account_login"), {"login": "known@example.test", "password": "wrong-password"}
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "alert" in html
    assert "not correct" in html
