"""The applicant's side of a decision: the letter download and the decision on their pages."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils.formats import date_format

from applications import services as app_services
from applications.demo import sample_pdf
from reviews import letters
from reviews.models import Letter
from tests.factories import ApplicantFactory, OfficerFactory
from tests.reviews.decided import approve, refuse

pytestmark = pytest.mark.django_db

DOWNLOAD = "Download the decision letter (PDF)"
PREPARING = "Your letter is being prepared"


@pytest.fixture
def stand_in_render(monkeypatch) -> None:
    """Rendering is tested in test_letters; here any PDF will do."""
    pdf = sample_pdf().read()
    monkeypatch.setattr(letters, "letter_render", lambda *, decision: pdf)


@pytest.fixture
def approved(case, officer, settings):
    return approve(case, officer, settings)


@pytest.fixture
def letter(approved, stand_in_render) -> Letter:
    issued = letters.letter_issue(decision_id=approved.pk)
    assert issued is not None
    return issued


def _letter_url(application) -> str:
    return reverse("decisions:letter", args=[application.public_id])


def _page(client, name: str, application=None) -> str:
    args = [application.public_id] if application is not None else []
    response = client.get(reverse(f"applications:{name}", args=args))
    assert response.status_code == 200
    return response.content.decode()


# --- the download -------------------------------------------------------------------------------


def test_the_applicant_downloads_their_own_letter(client, case, letter):
    client.force_login(case.applicant)

    response = client.get(_letter_url(case))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-approval.pdf"'
    )
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    with letter.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()


def test_nobody_else_gets_the_letter(client, case, letter):
    url = _letter_url(case)

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith(reverse("account_login"))

    client.force_login(ApplicantFactory())
    assert client.get(url).status_code == 404

    client.force_login(OfficerFactory())
    assert client.get(url).status_code in (403, 404)


def test_no_letter_yet_is_a_404(client, case, approved):
    client.force_login(case.applicant)

    assert client.get(_letter_url(case)).status_code == 404


def test_only_get_downloads(client, case, letter):
    client.force_login(case.applicant)

    assert client.post(_letter_url(case)).status_code == 405


# --- the pages ----------------------------------------------------------------------------------


def test_the_detail_page_shows_the_visa_and_the_letter_link(client, case, letter):
    visa = letter.decision.visa
    client.force_login(case.applicant)

    html = _page(client, "detail", case)

    assert visa.number in html
    assert date_format(visa.valid_from) in html
    assert date_format(visa.valid_until) in html
    assert "Multiple entries" in html
    assert "up to 180 days" in html
    assert DOWNLOAD in html
    assert f'href="{_letter_url(case)}"' in html
    assert PREPARING not in html


def test_before_the_letter_is_ready_the_pages_say_it_is_being_prepared(client, case, approved):
    client.force_login(case.applicant)

    for html in (_page(client, "detail", case), _page(client, "dashboard")):
        assert PREPARING in html
        assert approved.visa.number in html
        assert _letter_url(case) not in html


def test_a_refusal_shows_the_letter_link_and_the_review_route(
    client, case, officer, second_officer, stand_in_render
):
    decision = refuse(case, officer, second_officer, reason_codes=["criteria-not-met"])
    letters.letter_issue(decision_id=decision.pk)
    client.force_login(case.applicant)

    for html in (_page(client, "detail", case), _page(client, "dashboard")):
        assert "Refused" in html
        assert f'href="{_letter_url(case)}"' in html
        assert "administrative review" in html
        assert "Visa number" not in html


def test_the_dashboard_shows_the_decision(client, case, letter):
    visa = letter.decision.visa
    client.force_login(case.applicant)

    html = _page(client, "dashboard")

    assert visa.number in html
    assert f'href="{_letter_url(case)}"' in html
    assert DOWNLOAD in html
    assert "Multiple entries" in html


def test_the_pages_show_the_decision_in_chinese(client, case, letter):
    visa = letter.decision.visa
    client.force_login(case.applicant)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    for html in (_page(client, "detail", case), _page(client, "dashboard")):
        assert '<html lang="zh-hans">' in html
        assert "已批准" in html  # "Approved"
        assert visa.number in html
        assert f'href="{_letter_url(case)}"' in html


def test_the_dashboard_queries_stay_constant_with_decided_applications(
    client, case, letter, django_assert_num_queries
):
    client.force_login(case.applicant)
    client.get(reverse("applications:dashboard"))  # warm the session and caches
    with django_assert_num_queries(
        4
    ) as first:  # session, user, roles (one query), applications, letters
        client.get(reverse("applications:dashboard"))
    for _ in range(3):
        app_services.application_create(applicant=case.applicant)

    with django_assert_num_queries(len(first.captured_queries)):
        html = _page(client, "dashboard")

    assert html.count("Draft (no reference yet)") == 3
    assert letter.decision.visa.number in html
