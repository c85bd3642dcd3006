"""The public visa check reached from the QR code: what it tells, what it never tells."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from reviews.models import Visa
from tests.reviews.decided import approve

pytestmark = pytest.mark.django_db

PASSPORT_NUMBER = "A12345678"  # tests.applications.conftest.ANSWERS


@pytest.fixture
def visa(case, officer, settings) -> Visa:
    return approve(case, officer, settings).visa


def _check(client, token: str):
    return client.get(reverse("verify", args=[token]))


def _set_dates(visa: Visa, *, starts_in_days: int, ends_in_days: int) -> None:
    today = timezone.localdate()
    Visa.objects.filter(pk=visa.pk).update(
        valid_from=today + timedelta(days=starts_in_days),
        valid_until=today + timedelta(days=ends_in_days),
    )


def _assert_private_headers(response) -> None:
    assert response["Cache-Control"] == "no-store"
    assert response["X-Robots-Tag"] == "noindex"
    assert response["Referrer-Policy"] == "no-referrer"


def test_a_valid_visa_shows_its_terms_the_holder_and_nothing_else(client, visa, case):
    response = _check(client, visa.verification_token)

    assert response.status_code == 200
    html = response.content.decode()
    assert "This visa is valid." in html
    assert visa.holder_name in html
    assert "Nigeria" in html
    assert "Multiple entries" in html
    assert "up to 180 days" in html
    assert date_format(visa.valid_from) in html
    assert date_format(visa.valid_until) in html
    for secret in (
        PASSPORT_NUMBER,
        PASSPORT_NUMBER[-4:],
        case.reference,
        visa.number,
        case.date_of_birth.isoformat(),
        date_format(case.date_of_birth),
        case.contact_email,
        case.applicant.email,
    ):
        assert secret not in html
    _assert_private_headers(response)


@pytest.mark.parametrize(
    ("starts", "ends", "message"),
    [
        (-400, -1, "This visa is not valid: it has expired."),
        (3, 30, "This visa is not valid yet."),
        (-10, 0, "This visa is valid."),  # the last day still counts
        (0, 10, "This visa is valid."),
    ],
)
def test_the_check_follows_the_validity_dates(client, visa, starts, ends, message):
    _set_dates(visa, starts_in_days=starts, ends_in_days=ends)

    html = _check(client, visa.verification_token).content.decode()

    assert message in html
    if message != "This visa is valid.":
        assert "This visa is valid." not in html


def test_a_revoked_visa_is_not_valid_even_within_its_dates(client, visa):
    Visa.objects.filter(pk=visa.pk).update(revoked_at=timezone.now())

    html = _check(client, visa.verification_token).content.decode()

    assert "This visa is not valid: it has been revoked." in html
    assert "This visa is valid." not in html


def test_an_unknown_token_is_a_404_saying_the_visa_could_not_be_found(client, visa):
    other = visa.verification_token[:-1] + ("A" if visa.verification_token[-1] != "A" else "B")

    response = _check(client, other)

    assert response.status_code == 404
    html = response.content.decode()
    assert "The visa could not be found" in html
    assert visa.holder_name not in html
    _assert_private_headers(response)


@pytest.mark.parametrize("token", ["x" * 65, "abc$def", "a.b", "飞机", "abc%20def", "' OR 1=1"])
def test_a_malformed_token_is_refused_without_a_database_query(
    client, django_assert_num_queries, token
):
    with django_assert_num_queries(0):
        response = client.get(f"/verify/{token}/")

    assert response.status_code == 404
    assert "The visa could not be found" in response.content.decode()


def test_checks_are_rate_limited_per_address_before_any_lookup(
    client, visa, settings, django_assert_num_queries
):
    settings.VISA_VERIFY_RATE = 3
    codes = [_check(client, "x" * 43).status_code for _ in range(3)]

    with django_assert_num_queries(0):
        response = _check(client, visa.verification_token)

    assert codes == [404, 404, 404]
    assert response.status_code == 429
    assert visa.holder_name not in response.content.decode()
    _assert_private_headers(response)


def test_only_get_is_allowed(client, visa):
    response = client.post(reverse("verify", args=[visa.verification_token]))

    assert response.status_code == 405


def test_the_check_in_chinese(client, visa):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    html = _check(client, visa.verification_token).content.decode()

    assert '<html lang="zh-hans">' in html
    assert "尼日利亚" in html  # the holder's nationality, in Chinese
    assert visa.holder_name in html
