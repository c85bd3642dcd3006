"""The public eligibility self-check page: anonymous, bilingual, and it stores nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from policy.engine import DegreeFact, Facts
from policy.forms import NOT_LISTED, SelfCheckForm
from policy.models import Institution, PolicyVersion, StemField
from policy.selectors import engine_lists
from tests.pages.conftest import assert_no_inline_code

pytestmark = pytest.mark.django_db

URL = "/eligibility/"
GET_QUERIES = 2  # the STEM fields and the institutions for the select boxes
# + the policy in force and the governed lists' version: the process holds the lists (a cold
# one reads them once more, two queries: tests/policy/test_lists_cache.py)
POST_QUERIES = 4


def years_ago(years: int) -> date:
    today = timezone.localdate()
    return (
        today.replace(year=today.year - years)
        if (today.month, today.day) != (2, 29)
        else (date(today.year - years, 3, 1))
    )


@pytest.fixture
def cs() -> StemField:
    return StemField.objects.get(code="computer-science")


@pytest.fixture
def lagos() -> Institution:
    return Institution.objects.get(name_en="University of Lagos")


@pytest.fixture
def answers(cs, lagos) -> dict[str, Any]:
    return {
        "path": "graduate",
        "date_of_birth": years_ago(30).isoformat(),
        "degree1_level": "master",
        "degree1_field": str(cs.pk),
        "degree1_institution": str(lagos.pk),
        "years_experience": "3",
        "hsk_level": "3",
        "publications": "2",
        "patents": "0",
    }


def test_the_url_is_named_and_public():
    assert reverse("policy:selfcheck") == URL


def test_anonymous_visitor_gets_the_form(client):
    response = client.get(URL)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Check your eligibility" in html
    assert 'method="post"' in html
    assert "csrfmiddlewaretoken" in html
    assert 'name="path" value="researcher"' in html
    assert '<input type="date" name="date_of_birth"' in html
    for name in ("degree1_level", "degree2_field", "post_institution", "hsk_level"):
        assert f'<select name="{name}"' in html
    assert 'for="id_degree1_field" class="form-label' in html
    assert html.count("<legend") >= 6
    assert "Not in the list of recognised institutions" in html
    assert "Your indicative result" not in html
    assert_no_inline_code(html)


def test_signed_in_users_can_use_it_too(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("ada@example.org", "a-long-pass-1"))

    assert client.get(URL).status_code == 200


def test_home_page_links_to_the_self_check(client):
    html = client.get("/").content.decode()

    assert f'href="{URL}"' in html


def test_select_boxes_follow_the_language_by_accept_language(client, lagos):
    html = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    assert '<html lang="zh-hans">' in html
    assert f'<option value="{lagos.pk}">拉各斯大学</option>' in html
    assert "计算机科学" in html
    assert f'<option value="{lagos.pk}">University of Lagos</option>' not in html


def test_english_by_default_and_chinese_by_cookie(client, lagos):
    english = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    chinese = client.get(URL, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert '<html lang="en">' in english
    assert f'<option value="{lagos.pk}">University of Lagos</option>' in english
    assert '<html lang="zh-hans">' in chinese
    assert f'<option value="{lagos.pk}">拉各斯大学</option>' in chinese


def test_a_valid_answer_shows_the_indicative_result_rule_by_rule(client, answers):
    response = client.post(URL, answers)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Your indicative result" in html
    assert "You appear to meet the eligibility criteria." in html
    # master 15 + 3 years 6 + age 15 + tier 3 3 + HSK 3 3 + 2 publications 2
    assert "44 of 75" in html
    assert "No: the fast track needs eligibility and at least 60 points." in html
    assert "This result is indicative only." in html
    assert "A case officer decides every application." in html
    assert "Age 30 is within the range 18 to 45." in html
    assert "Education (a master&#x27;s degree): 15 of 20 points." in html
    assert html.count("<tr data-rule=") == 11
    assert "年龄" not in html
    # the answers stay in the form for changing
    assert 'value="master" selected' in html
    assert_no_inline_code(html)


def test_the_result_is_explained_in_chinese_for_a_chinese_visitor(client, answers):
    html = client.post(URL, answers, HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()

    assert "年龄 30 岁，在 18 至 45 岁范围内。" in html  # noqa: RUF001 (Chinese punctuation)
    assert "Age 30 is within the range 18 to 45." not in html


def test_an_ineligible_answer_says_which_rule_failed(client, answers):
    answers.update(degree1_field=NOT_LISTED)

    html = client.post(URL, answers).content.decode()

    assert "You do not appear to meet the eligibility criteria." in html
    assert "No degree at the required level is in a recognised STEM field." in html
    assert "Not eligible, so not fast-tracked" in html
    assert "Not met" in html


def test_an_unlisted_institution_fails_the_recognised_institution_rule(client, answers):
    answers.update(degree1_institution=NOT_LISTED)

    html = client.post(URL, answers).content.decode()

    assert "No qualifying degree is from a recognised university or research institution." in html
    assert "No recognised institution: 0 of 10 points." in html


def test_a_future_date_of_birth_is_refused_and_the_answers_are_kept(client, answers, lagos):
    future = (timezone.localdate() + timedelta(days=1)).isoformat()
    answers.update(date_of_birth=future, years_experience="3")

    response = client.post(URL, answers)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Your indicative result" not in html
    assert "Please correct the answers marked below." in html
    assert "The date of birth must be in the past." in html
    assert 'href="#id_date_of_birth"' in html
    assert 'aria-invalid="true"' in html
    assert 'aria-describedby="id_date_of_birth_error"' in html
    assert 'id="id_date_of_birth_error"' in html
    assert f'value="{future}"' in html
    assert f'<option value="{lagos.pk}" selected>' in html
    assert 'value="3"' in html


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"years_experience": "61"}, "years_experience", "Enter a whole number between 0 and 60."),
        ({"years_experience": "-1"}, "years_experience", "Enter a whole number between 0 and 60."),
        ({"years_experience": "20"}, "years_experience", "more years of experience than your age"),
        ({"publications": "501"}, "publications", "Enter a whole number between 0 and 500."),
        ({"hsk_level": "10"}, "hsk_level", "Select a valid choice."),
        ({"date_of_birth": "1890-01-01"}, "date_of_birth", "more than 100 years ago"),
        ({"date_of_birth": "1990-13-01"}, "date_of_birth", "Enter the date of birth as a date"),
        ({"degree1_level": ""}, "degree1_level", "Choose the level of your highest degree."),
        ({"degree1_field": "123456"}, "degree1_field", "Select a valid choice."),
        ({"degree2_level": "doctorate"}, "degree2_field", "Complete the second degree"),
        ({"path": "tourist"}, "path", "Select a valid choice."),
    ],
)
def test_impossible_answers_are_refused_with_a_clear_error(
    client, answers, changes, field, message
):
    answers.update(changes)  # born 30 years ago: 30 - 14 = 16 years of experience at most

    form = SelfCheckForm(answers)
    html = client.post(URL, answers).content.decode()

    assert not form.is_valid()
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    assert "Your indicative result" not in html
    assert 'id="form-errors"' in html


def test_a_researcher_must_describe_the_post(client, answers):
    answers.update(path="researcher")

    form = SelfCheckForm(answers)

    assert not form.is_valid()
    assert set(form.errors) == {"post_is_stem", "post_field", "post_institution"}


def test_the_form_builds_the_engines_facts(answers, cs, lagos):
    answers.update(
        path="researcher",
        degree2_level="bachelor",
        degree2_field=NOT_LISTED,
        degree2_institution=NOT_LISTED,
        post_is_stem="True",
        post_field=str(cs.pk),
        post_institution=NOT_LISTED,
        hsk_level="0",
        taught_in_chinese="on",
        patents="",
    )
    form = SelfCheckForm(answers)

    assert form.is_valid(), form.errors
    assert form.facts() == Facts(
        path="researcher",
        date_of_birth=years_ago(30),
        reference_date=timezone.localdate(),
        degrees=(DegreeFact("master", cs.pk, lagos.pk), DegreeFact("bachelor", None, None)),
        post_is_stem=True,
        post_field_id=cs.pk,
        post_institution_id=None,
        years_experience=3,
        hsk_level=None,
        taught_in_chinese=True,
        publications=2,
        patents=0,
    )


def test_a_graduate_may_leave_the_post_unanswered(answers):
    form = SelfCheckForm(answers)

    assert form.is_valid(), form.errors
    facts = form.facts()
    assert (facts.post_is_stem, facts.post_field_id, facts.post_institution_id) == (
        None,
        None,
        None,
    )


def test_a_post_makes_no_database_writes(client, answers):
    with CaptureQueriesContext(connection) as queries:
        response = client.post(URL, answers)

    assert response.status_code == 200
    statements = [q["sql"].lstrip().split(None, 1)[0].upper() for q in queries.captured_queries]
    assert statements
    assert set(statements) == {"SELECT"}
    assert not response.cookies.get(settings.SESSION_COOKIE_NAME)


def test_the_page_runs_a_fixed_number_of_queries(client, answers, django_assert_num_queries):
    engine_lists()  # as a process that has evaluated before holds them
    with django_assert_num_queries(GET_QUERIES):
        client.get(URL)
    with django_assert_num_queries(POST_QUERIES):
        client.post(URL, answers)
    answers.update(degree2_level="master", degree2_field=answers["degree1_field"])
    answers.update(degree2_institution=answers["degree1_institution"], path="researcher")
    answers.update(post_is_stem="True", post_field=answers["degree1_field"], post_institution="")
    with django_assert_num_queries(GET_QUERIES):  # invalid: nothing is evaluated
        client.post(URL, answers)


def test_posting_needs_the_csrf_token(answers):
    client = Client(enforce_csrf_checks=True)

    assert client.post(URL, answers).status_code == 403


def test_without_a_policy_in_force_the_page_says_so(client, answers):
    PolicyVersion.objects.filter(status=PolicyVersion.Status.PUBLISHED).update(
        status=PolicyVersion.Status.RETIRED
    )

    response = client.post(URL, answers)

    assert response.status_code == 503
    assert "no policy is in force" in response.content.decode()


def test_choice_labels_are_translated_when_shown_not_when_the_form_is_defined():
    with translation.override("zh-hans"):
        chinese = {k: str(v) for k, v in SelfCheckForm().fields["hsk_level"].choices}
    with translation.override("en"):
        english = {k: str(v) for k, v in SelfCheckForm().fields["hsk_level"].choices}

    assert chinese[3] == "HSK 3级"
    assert chinese[0] == "无HSK证书"
    assert english[3] == "HSK 3"


def _fields_rendered(response) -> bool:
    return "policy/_selfcheck_fields.html" in [t.name for t in response.templates]


def _without_csrf(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)


def test_the_empty_form_is_rendered_once_and_then_served_from_the_fragments_cache(client):
    first = client.get(URL)
    second = Client().get(URL)  # another visitor
    assert _fields_rendered(first)
    assert not _fields_rendered(second)
    assert _without_csrf(second.content.decode()) == _without_csrf(first.content.decode())


def test_a_change_to_a_governed_list_or_the_language_renders_the_form_anew(client, cs):
    client.get(URL)
    StemField.objects.filter(pk=cs.pk).update(name_en="Computing (renamed)")
    renamed = client.get(URL)
    assert _fields_rendered(renamed)
    assert "Computing (renamed)" in renamed.content.decode()
    chinese = client.get(URL, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert _fields_rendered(chinese)
    assert cs.name_zh in chinese.content.decode()


def test_a_form_with_answers_is_never_the_cached_one(client):
    client.get(URL)
    refused = client.post(URL, {"path": "graduate"})
    assert _fields_rendered(refused)
    assert 'id="form-errors"' in refused.content.decode()
    assert re.search(r'value="graduate"[^>]*checked', refused.content.decode())
