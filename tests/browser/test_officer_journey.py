"""An officer signs in with TOTP, claims a case, reviews it and asks for evidence; the applicant
answers; the officer approves; a second officer confirms; the applicant downloads the letter;
the verification page behind its QR code says the visa is valid."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from applications.models import Application, EvidenceRequest, Status
from policy.models import ReviewQueue
from reviews.letters import letter_issue
from reviews.models import Decision, Letter, Visa
from screening.services import screening_run
from tests.applications.conftest import complete_draft, media_root, submit  # noqa: F401 (fixture)
from tests.factories import DEFAULT_PASSWORD, OfficerFactory, totp_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _sign_in(page, base: str, user, *, totp: bool) -> None:
    page.goto(base + reverse("account_login"))
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", DEFAULT_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    if totp:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.fill("input[name=code]", totp_code(user.totp_secret))
        page.locator("main form button[type=submit]").first.click()
    page.wait_for_load_state()


@pytest.mark.usefixtures("media_root")
def test_officer_reviews_asks_for_evidence_and_approves_with_a_second_officer(
    browser, live_server, settings, artifacts
):
    settings.SITE_URL = live_server.url
    settings.SECOND_REVIEW_APPROVAL_SHARE = 1  # this approval is drawn for the four-eyes check
    application = submit(complete_draft())
    screening_run(application_id=application.pk)
    application.refresh_from_db()
    assert application.status == Status.QUEUED
    first, second = OfficerFactory(full_name="Li Wei"), OfficerFactory(full_name="Zhang Min")
    for queue in ReviewQueue.objects.all():
        queue.members.add(first, second)
    base = live_server.url

    officer = browser.new_context().new_page()
    officer.set_default_timeout(15000)
    _sign_in(officer, base, first, totp=True)
    officer.goto(base + reverse("reviews:home"))
    queue_code = application.queue_entry.queue.code
    officer.locator(f"form[action$='/queues/{queue_code}/claim/'] button").click()
    officer.wait_for_url(re.compile(rf"/workspace/cases/{application.reference}/$"))
    assert application.reference in officer.locator("h1").inner_text()
    officer.screenshot(path=artifacts / "officer-case.png", full_page=True)

    officer.locator("summary", has_text="Request more evidence").click()
    officer.fill("textarea[name=items]", "Certified copy of the master's degree certificate")
    officer.fill("textarea[name=message]", "The certificate is hard to read.")
    officer.get_by_role("button", name="Send the request").click()
    officer.wait_for_load_state()
    assert officer.locator(".alert-success").count() >= 1
    application.refresh_from_db()
    assert application.status == Status.EVIDENCE_REQUESTED

    applicant = browser.new_context().new_page()
    applicant.set_default_timeout(15000)
    _sign_in(applicant, base, application.applicant, totp=False)
    request = EvidenceRequest.objects.get(application=application)
    applicant.goto(
        base + reverse("applications:evidence", args=[application.public_id, request.public_id])
    )
    applicant.fill("textarea[name=text]", "A certified copy is attached.")
    applicant.locator("main form button[type=submit]").click()
    applicant.wait_for_load_state()
    application.refresh_from_db()
    assert application.status == Status.QUEUED

    officer.goto(base + reverse("reviews:home"))
    officer.locator("form[action$='/queues/returned-evidence/claim/'] button").click()
    officer.wait_for_url(re.compile(rf"/workspace/cases/{application.reference}/$"))
    officer.locator("summary", has_text=re.compile(r"^Approve$")).click()
    officer.get_by_role("button", name="Approve the application").click()
    officer.wait_for_load_state()
    decision = Decision.objects.get(application=application)
    assert decision.state == Decision.State.AWAITING_REVIEW

    reviewer = browser.new_context().new_page()
    reviewer.set_default_timeout(15000)
    _sign_in(reviewer, base, second, totp=True)
    reviewer.goto(base + reverse("reviews:second_review"))
    reviewer.get_by_role("link", name=application.reference).first.click()
    reviewer.get_by_role("button", name="Confirm the decision").click()
    reviewer.wait_for_load_state()
    application.refresh_from_db()
    assert application.status == Status.APPROVED
    reviewer.screenshot(path=artifacts / "officer-second-review-confirmed.png", full_page=True)

    # The letter task, as the worker would run it after the commit.
    letter_issue(decision_id=decision.pk)
    letter = Letter.objects.get(decision=decision)
    applicant.goto(base + reverse("applications:detail", args=[application.public_id]))
    with applicant.expect_download() as download:
        applicant.get_by_role("link", name="Download the decision letter (PDF)").first.click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert pdf == letter.file.open("rb").read()
    applicant.screenshot(path=artifacts / "applicant-decision.png", full_page=True)

    visa = Visa.objects.get(application=application)
    public = browser.new_context().new_page()
    public.goto(base + reverse("verify", args=[visa.verification_token]))
    text = public.locator("main").inner_text()
    assert "valid" in text.lower()
    assert application.family_name.upper() in text.upper()
    assert application.passport_number not in text
    public.screenshot(path=artifacts / "verify.png", full_page=True)
    assert Application.objects.get(pk=application.pk).status == Status.APPROVED
