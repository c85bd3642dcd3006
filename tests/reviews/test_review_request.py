"""A refused applicant asks for an administrative review, once, within the letter's period;
supervisors are told, and the case timeline shows it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from applications import services as app_services
from applications.models import ReviewRequest, TimelineEvent
from kvisa.errors import Conflict, ValidationFailed
from tests.factories import ApplicantFactory, SupervisorFactory
from tests.reviews.decided import approve, refuse

pytestmark = pytest.mark.django_db


@pytest.fixture
def refused(case, officer, second_officer):
    refuse(case, officer, second_officer, reason_codes=["criteria-not-met"])
    case.refresh_from_db()
    return case


def test_the_applicant_asks_once_and_supervisors_are_told(
    client, refused, mailoutbox, django_capture_on_commit_callbacks
):
    supervisor = SupervisorFactory()
    client.force_login(refused.applicant)
    url = reverse("applications:review_request", args=[refused.public_id])
    assert client.get(url).status_code == 200

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"text": "My degree is in computer science, a STEM field."})

    assert response.status_code == 302
    request = ReviewRequest.objects.get(application=refused)
    assert request.created_by == refused.applicant
    event = TimelineEvent.objects.get(application=refused, kind="review_requested")
    assert event.public
    assert [m.to for m in mailoutbox if refused.reference in m.subject] == [[supervisor.email]]
    page = client.get(reverse("applications:detail", args=[refused.public_id])).content.decode()
    assert "You asked for an administrative review" in page
    # a second request is not possible
    assert client.get(url).status_code == 302
    with pytest.raises(Conflict):
        app_services.review_request_create(application=refused, actor=refused.applicant, text="x")


def test_an_empty_request_keeps_the_form(client, refused):
    client.force_login(refused.applicant)
    response = client.post(
        reverse("applications:review_request", args=[refused.public_id]), {"text": "   "}
    )
    assert response.status_code == 200
    assert not ReviewRequest.objects.exists()
    with pytest.raises(ValidationFailed):
        app_services.review_request_create(application=refused, actor=refused.applicant, text="")


def test_the_period_ends_after_the_configured_days(refused, settings, time_machine):
    settings.REVIEW_REQUEST_DAYS = 28
    time_machine.move_to(timezone.now() + timedelta(days=29))
    with pytest.raises(Conflict, match="ended"):
        app_services.review_request_create(
            application=refused, actor=refused.applicant, text="Too late?"
        )


def test_only_a_refusal_can_be_reviewed_and_only_by_its_applicant(
    client, case, officer, settings, refused
):
    other = ApplicantFactory()
    client.force_login(other)
    url = reverse("applications:review_request", args=[refused.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url, {"text": "not mine"}).status_code == 404
    assert not ReviewRequest.objects.exists()


def test_an_approved_application_has_no_review_request(client, case, officer, settings):
    approve(case, officer, settings)
    client.force_login(case.applicant)
    url = reverse("applications:review_request", args=[case.public_id])
    assert client.get(url).status_code == 302
    with pytest.raises(Conflict):
        app_services.review_request_create(application=case, actor=case.applicant, text="x")
