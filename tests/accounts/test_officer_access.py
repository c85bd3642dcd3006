"""Who may enter the officer workspace, and the two factors it demands."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.services import user_mfa_reset
from tests.factories import (
    DEFAULT_PASSWORD,
    AdminFactory,
    ApplicantFactory,
    OfficerFactory,
    SupervisorFactory,
    login_with_mfa,
    totp_code,
)

pytestmark = pytest.mark.django_db

WORKSPACE = "/workspace/"


def _password_login(client, user, next_url: str = WORKSPACE):
    return client.post(
        f"{reverse('account_login')}?next={next_url}",
        {"login": user.email, "password": DEFAULT_PASSWORD},
    )


def test_workspace_url_is_the_reviews_home():
    assert reverse("reviews:home") == WORKSPACE


def test_anonymous_visitor_is_sent_to_sign_in(client):
    response = client.get(WORKSPACE)

    assert response.status_code == 302
    assert response.url == f"{reverse('account_login')}?next={WORKSPACE}"


def test_applicant_gets_not_found_so_officer_urls_stay_hidden(client):
    client.force_login(ApplicantFactory())

    response = client.get(WORKSPACE)

    assert response.status_code == 404


def test_officer_without_authenticator_is_sent_to_set_one_up(client):
    officer = OfficerFactory(with_totp=False)
    client.force_login(officer)

    response = client.get(WORKSPACE)

    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")
    assert any("two-factor" in str(m) for m in get_messages(response.wsgi_request))


def test_officer_with_totp_completes_login_with_a_code_and_reaches_the_workspace(client):
    officer = OfficerFactory(full_name="Li Wei")

    response = _password_login(client, officer)

    # The password alone does not sign in: allauth's MFA stage takes over.
    assert response.status_code == 302
    assert response.url == reverse("mfa_authenticate")
    assert "_auth_user_id" not in client.session
    assert client.get(WORKSPACE).status_code == 302

    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(officer.totp_secret)})

    assert response.status_code == 302
    assert response.url == WORKSPACE
    page = client.get(WORKSPACE)
    assert page.status_code == 200
    assert "Li Wei" in page.content.decode()


def test_officer_login_with_a_wrong_code_is_refused(client):
    officer = OfficerFactory()
    _password_login(client, officer)

    wrong = f"{(int(totp_code(officer.totp_secret)) + 1) % 1_000_000:06d}"
    response = client.post(reverse("mfa_authenticate"), {"code": wrong})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_totp_code_cannot_be_replayed(client):
    officer = OfficerFactory()
    code = totp_code(officer.totp_secret)
    _password_login(client, officer)
    client.post(reverse("mfa_authenticate"), {"code": code})
    client.logout()

    _password_login(client, officer)
    response = client.post(reverse("mfa_authenticate"), {"code": code})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_officer_session_without_a_second_factor_must_confirm_with_a_code(client):
    # e.g. a session opened by a login path that skipped MFA, or before enrolment
    officer = OfficerFactory()
    client.force_login(officer)

    response = client.get(WORKSPACE)

    assert response.status_code == 302
    assert response.url == f"{reverse('mfa_reauthenticate')}?next=%2Fworkspace%2F"
    response = client.post(response.url, {"code": totp_code(officer.totp_secret)})
    assert response.status_code == 302
    assert response.url == WORKSPACE
    assert client.get(WORKSPACE).status_code == 200


def test_officer_whose_authenticator_was_reset_must_enrol_again(client):
    officer = OfficerFactory()
    login_with_mfa(client, officer)
    assert client.get(WORKSPACE).status_code == 200

    user_mfa_reset(user=officer)

    response = client.get(WORKSPACE)
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_workspace_shows_the_officers_roles_security_and_links(client):
    officer = OfficerFactory(full_name="Zhang Min")
    login_with_mfa(client, officer)

    html = client.get(WORKSPACE).content.decode()

    assert "Zhang Min" in html
    assert officer.email in html
    assert "Case officer" in html
    assert "Can work review queues and decide cases" in html
    assert "Can supervise" not in html
    assert reverse("mfa_index") in html
    assert reverse("api-docs") in html
    assert reverse("admin:index") not in html


def test_supervisor_workspace_links_to_the_admin(client):
    supervisor = SupervisorFactory()
    login_with_mfa(client, supervisor)

    html = client.get(WORKSPACE).content.decode()

    assert "Supervisor" in html
    assert "Can supervise queues" in html
    assert reverse("admin:index") in html


def test_workspace_answers_get_only_and_only_to_officers(client):
    client.force_login(ApplicantFactory())
    assert client.post(WORKSPACE).status_code == 404

    login_with_mfa(client, OfficerFactory())
    assert client.post(WORKSPACE).status_code == 405


@pytest.mark.urls("tests.accounts.urls_gate")
def test_supervisor_required_refuses_a_plain_officer(client):
    login_with_mfa(client, OfficerFactory())

    assert client.get("/supervisor-page/").status_code == 404


@pytest.mark.urls("tests.accounts.urls_gate")
def test_supervisor_required_admits_supervisors_and_administrators(client):
    for user in (SupervisorFactory(), AdminFactory()):
        login_with_mfa(client, user)
        response = client.get("/supervisor-page/")
        assert response.status_code == 200
        assert response.content == b"supervisor tools"


@pytest.mark.urls("tests.accounts.urls_gate")
def test_supervisor_required_still_demands_a_second_factor(client):
    client.force_login(SupervisorFactory())

    response = client.get("/supervisor-page/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("mfa_reauthenticate"))


@pytest.mark.urls("tests.accounts.urls_gate")
def test_officer_api_permission_explains_each_refusal(client):
    assert client.get("/officer-api/").status_code == 401  # anonymous: "WWW-Authenticate: Bearer"

    client.force_login(ApplicantFactory())
    refused = client.get("/officer-api/")
    assert (refused.status_code, refused.json()["code"]) == (403, "not_permitted")

    client.force_login(OfficerFactory(with_totp=False))
    refused = client.get("/officer-api/")
    assert (refused.status_code, refused.json()["code"]) == (403, "totp_not_enrolled")

    officer = OfficerFactory()
    client.force_login(officer)
    refused = client.get("/officer-api/")
    assert (refused.status_code, refused.json()["code"]) == (403, "mfa_not_passed")

    login_with_mfa(client, officer)
    assert client.get("/officer-api/").json() == {"ok": True}
    assert client.get("/supervisor-api/").json()["code"] == "not_permitted"
