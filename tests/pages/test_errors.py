import pytest
from django.test import Client, RequestFactory
from django.utils import translation

from pages.views import server_error
from tests.pages.conftest import assert_no_inline_code

HEADINGS = {
    400: {"en": "Bad request", "zh-hans": "请求无效"},
    403: {"en": "Access denied", "zh-hans": "无权访问"},
    404: {"en": "Page not found", "zh-hans": "找不到该页面"},
    500: {"en": "Something went wrong", "zh-hans": "出错了"},
}
URLS = {400: "/__test__/400/", 403: "/__test__/403/", 404: "/no-such-page/", 500: "/__test__/500/"}
ACCEPT = {"en": "en", "zh-hans": "zh-Hans"}


@pytest.fixture(autouse=True)
def _failing_views(settings):
    settings.ROOT_URLCONF = "tests.pages.urls"
    settings.DEBUG = False


@pytest.mark.django_db
@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("status", [400, 403, 404, 500])
def test_error_page_renders_with_its_status_in_each_language(status, language):
    client = Client(raise_request_exception=False)

    response = client.get(URLS[status], HTTP_ACCEPT_LANGUAGE=ACCEPT[language])

    assert response.status_code == status
    html = response.content.decode()
    assert f'<html lang="{language}">' in html
    assert HEADINGS[status][language] in html
    assert 'href="/"' in html  # the way home
    assert_no_inline_code(html)
    other = "en" if language == "zh-hans" else "zh-hans"
    assert HEADINGS[status][other] not in html


def test_server_error_page_needs_no_database():
    """No django_db mark: any query, session or user lookup here would raise."""
    client = Client(raise_request_exception=False)

    response = client.get(URLS[500], HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.status_code == 500
    assert HEADINGS[500]["zh-hans"] in response.content.decode()


@pytest.mark.django_db
def test_server_error_handler_makes_no_query_even_for_a_signed_in_user(
    applicant, django_assert_num_queries
):
    request = RequestFactory().get("/")
    request.user = applicant  # a template touching roles or groups would query

    with translation.override("en"), django_assert_num_queries(0):
        response = server_error(request)

    assert response.status_code == 500
    html = response.content.decode()
    assert HEADINGS[500]["en"] in html
    assert "ada@example.org" not in html
    assert "csrfmiddlewaretoken" not in html


@pytest.mark.django_db
def test_expired_form_gets_a_friendly_csrf_page():
    client = Client(enforce_csrf_checks=True)

    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "Your form could not be sent" in html
    assert_no_inline_code(html)
