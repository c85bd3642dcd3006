import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

CHINESE_TITLE = "面向外国青年科技人才的中国K字签证"


def test_home_in_chinese_by_accept_language(client):
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-Hans")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert CHINESE_TITLE in html
    assert "国务院令第814号" in html
    assert "Who can apply" not in html


def test_home_in_chinese_by_language_cookie(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")

    assert CHINESE_TITLE in response.content.decode()


def test_english_is_the_default(client):
    html = client.get("/").content.decode()

    assert CHINESE_TITLE not in html
    assert "Who can apply" in html


def test_language_switcher_posts_to_set_language_with_the_current_path(client):
    html = client.get("/?from=test").content.decode()

    assert 'action="/i18n/setlang/"' in html
    assert 'name="next" value="/?from=test"' in html
    assert 'name="language" value="en"' in html
    assert 'name="language" value="zh-hans"' in html


def test_switching_language_sets_the_cookie_and_returns_to_next(client):
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/?from=test"})

    assert response.status_code == 302
    assert response["Location"] == "/?from=test"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "zh-hans"
    assert CHINESE_TITLE in client.get("/").content.decode()

    client.post("/i18n/setlang/", {"language": "en", "next": "/"})

    assert CHINESE_TITLE not in client.get("/").content.decode()


def test_switcher_marks_the_current_language(client):
    html = client.get("/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    assert 'value="zh-hans" lang="zh-Hans" class="btn btn-secondary" aria-current="true"' in html
    assert 'value="en" lang="en" class="btn btn-outline-secondary">' in html
