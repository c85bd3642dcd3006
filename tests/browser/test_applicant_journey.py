"""A new applicant signs up, verifies the email, fills every step, uploads the documents,
reviews, submits and sees the reference number and the status page — in both languages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from applications.models import Application, Status
from policy.models import Institution, StemField
from tests.applications.conftest import pdf_bytes, png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "en": {"submitted": "Application submitted", "status": "Submitted", "create": "Create account"},
    "zh-hans": {"submitted": "申请已提交", "status": "已提交", "create": "注册账户"},
}


def _files(tmp_path):
    paths = {}
    for name, content in (
        ("passport.pdf", pdf_bytes()),
        ("photo.png", png_bytes((300, 400))),
        ("degree.pdf", pdf_bytes()),
        ("transcript.pdf", pdf_bytes()),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        paths[name] = path
    return paths


def _verification_link(email: str) -> str:
    message = next((m for m in reversed(mail.outbox) if email in m.to), None)
    assert message is not None, [(m.to, m.subject) for m in mail.outbox]
    return re.search(r"https?://\S+/accounts/confirm-email/\S+/", message.body).group(0)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_new_applicant_applies_end_to_end(
    page, live_server, settings, tmp_path, artifacts, language
):
    settings.SITE_URL = live_server.url
    text = TEXT[language]
    email = f"journey-{language}@example.test"
    files = _files(tmp_path)
    page.set_default_timeout(15000)

    page.goto(live_server.url + "/")
    if language != "en":
        page.get_by_role("button", name="中文").click()
    page.get_by_role("link", name=text["create"]).first.click()
    page.fill("input[name=email]", email)
    page.fill("input[name=password1]", "a-long-Passphrase-42")
    page.fill("input[name=password2]", "a-long-Passphrase-42")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    page.goto(_verification_link(email))
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()

    page.goto(live_server.url + "/applications/")
    page.locator("form[action$='/applications/new/'] button").click()
    page.check("input[name=path][value=graduate]")
    page.click("button[name=save_next]")

    page.fill("input[name=family_name]", "Nguyen")
    page.fill("input[name=given_names]", "Thi Lan")
    page.check("input[name=sex][value=F]")
    page.fill("input[name=date_of_birth]", "1997-08-21")
    page.fill("input[name=place_of_birth]", "Hanoi")
    page.select_option("select[name=nationality]", "VN")
    page.click("button[name=save_next]")

    today = timezone.localdate()
    page.fill("input[name=passport_number]", "C1234567")
    page.select_option("select[name=passport_issuing_country]", "VN")
    page.fill("input[name=passport_issue_date]", "2022-03-01")
    page.fill("input[name=passport_expiry_date]", (today + timedelta(days=3650)).isoformat())
    page.click("button[name=save_next]")

    page.fill("input[name=contact_email]", email)
    page.fill("input[name=phone]", "+84 24 3826 1234")
    page.fill("input[name=address_line]", "144 Xuan Thuy")
    page.fill("input[name=city]", "Hanoi")
    page.select_option("select[name=country_of_residence]", "VN")
    page.click("button[name=save_next]")

    page.select_option("select[name=level]", "master")
    page.select_option("select[name=field]", str(StemField.objects.get(code="data-science").pk))
    page.select_option(
        "select[name=institution]",
        str(Institution.objects.get(name_en="Vietnam National University Hanoi").pk),
    )
    page.select_option("select[name=country]", "VN")
    page.fill("input[name=started_on]", "2019-09-01")
    page.fill("input[name=awarded_on]", "2021-06-30")
    page.click("button[name=save_degree]")
    page.click("button[name=continue]")

    page.fill("input[name=years_experience]", "3")
    page.click("button[name=save_next]")
    page.select_option("select[name=hsk_level]", "4")
    page.click("button[name=save_next]")

    page.check("input[name=intended_activities][value=science]")
    page.fill("input[name=planned_entry_date]", (today + timedelta(days=30)).isoformat())
    page.fill("input[name=planned_stay_days]", "60")
    page.check("input[name=previous_visits][value=False]")
    page.check("input[name=previous_refusals][value=False]")
    page.click("button[name=save_next]")

    for kind, name in (
        ("passport_bio", "passport.pdf"),
        ("photo", "photo.png"),
        ("degree_certificate", "degree.pdf"),
        ("transcript", "transcript.pdf"),
    ):
        form = page.locator(f"main form:has(input[name=kind][value={kind}])")
        form.locator("input[type=file]").set_input_files(files[name])
        form.locator("button[type=submit]").click()
        page.wait_for_load_state()
        assert page.locator(".alert-success").count() == 1
    page.screenshot(path=artifacts / f"journey-{language}-documents.png", full_page=True)

    page.goto(
        live_server.url
        + f"/applications/{Application.objects.get(applicant__email=email).public_id}/review/"
    )
    page.check("input[name=declare_true]")
    page.check("input[name=declare_documents]")
    page.check("input[name=declare_consent]")
    page.fill("input[name=signature_name]", "Thi Lan Nguyen")
    page.screenshot(path=artifacts / f"journey-{language}-review.png", full_page=True)
    page.locator("main button[type=submit]", has_text=re.compile(".+")).last.click()

    page.wait_for_url(re.compile(r"/submitted/$"))
    application = Application.objects.get(applicant__email=email)
    assert application.status == Status.SUBMITTED
    assert page.locator("h1").inner_text() == text["submitted"]
    assert page.locator(".reference-number").inner_text() == application.reference
    page.screenshot(path=artifacts / f"journey-{language}-submitted.png", full_page=True)

    page.locator("main a.btn-primary").click()
    assert application.reference in page.locator("h1").inner_text()
    assert page.locator(".badge").first.inner_text() == text["status"]
