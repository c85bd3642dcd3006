import pytest
from django.urls import reverse

from tests.pages.conftest import assert_no_inline_code

pytestmark = pytest.mark.django_db


def test_home_explains_the_k_visa_in_english(client):
    response = client.get("/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "State Council Order No. 814" in html
    assert "1 October 2025" in html
    assert "STEM graduate" in html
    assert "STEM teacher or researcher" in html
    assert "No Chinese employer or inviting organisation needed" in html


def test_home_does_not_state_unpublished_visa_terms_as_fact(client):
    html = client.get("/").content.decode()

    assert "have not been officially published" in html
    for unconfirmed in ("180 days", "5 years", "five years", "18\u201345", "18-45"):
        assert unconfirmed not in html


def test_anonymous_visitor_is_offered_sign_in_and_sign_up(client):
    html = client.get("/").content.decode()

    assert f'href="{reverse("account_login")}"' in html
    assert f'href="{reverse("account_signup")}"' in html
    assert f'href="{reverse("status_lookup")}"' in html
    assert reverse("account_logout") not in html
    assert reverse("applications:dashboard") not in html
    assert reverse("reviews:home") not in html


def test_signed_in_applicant_sees_email_and_sign_out_but_no_workspace(client, applicant):
    client.force_login(applicant)

    html = client.get("/").content.decode()

    assert "ada@example.org" in html
    assert f'action="{reverse("account_logout")}"' in html
    assert f'href="{reverse("mfa_index")}"' in html
    assert f'href="{reverse("applications:dashboard")}"' in html
    assert f'href="{reverse("account_login")}"' not in html
    assert reverse("reviews:home") not in html


def test_officer_gets_a_workspace_link(client, officer):
    client.force_login(officer)

    html = client.get("/").content.decode()

    assert f'href="{reverse("reviews:home")}"' in html


def test_home_has_landmarks_and_a_skip_link(client):
    html = client.get("/").content.decode()

    assert 'href="#main"' in html
    assert '<main id="main"' in html
    assert "<header" in html
    assert "<footer" in html
    assert 'aria-label="Main navigation"' in html


@pytest.mark.parametrize("signed_in", [False, True])
def test_home_has_no_inline_script_or_style_and_sends_a_csp(client, applicant, signed_in):
    if signed_in:
        client.force_login(applicant)

    response = client.get("/")

    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert_no_inline_code(response.content.decode())


def test_htmx_is_told_not_to_inject_styles_the_csp_would_block(client):
    html = client.get("/").content.decode()

    assert '"includeIndicatorStyles": false' in html
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
