"""The reviews admin: refusal reasons are governed (editable, never deleted, codes fixed);
decisions, visas, letters and the access log are read-only there."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reviews import services
from reviews.models import CaseAccess, Decision, RefusalReason, Visa
from reviews.selectors import access_record
from tests.factories import AdminFactory, login_with_mfa

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    login_with_mfa(client, AdminFactory())
    return client


@pytest.fixture
def approved(case, officer, settings):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    services.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    services.decision_make(
        application=case,
        officer=officer,
        outcome="approve",
        terms=services.default_visa_terms(case),
    )
    access_record(officer=officer, application=case, action=CaseAccess.Action.CASE_FILE)
    return case


def test_the_seeded_reasons_are_listed_and_can_be_retired_but_not_deleted(admin_client):
    reason = RefusalReason.objects.get(code="criteria-not-met")
    response = admin_client.get(reverse("admin:reviews_refusalreason_changelist"))
    assert response.status_code == 200
    assert "Does not meet the eligibility criteria" in response.content.decode()

    change = admin_client.get(reverse("admin:reviews_refusalreason_change", args=[reason.pk]))
    assert 'name="code"' not in change.content.decode()  # the code is read-only once saved
    assert (
        admin_client.get(
            reverse("admin:reviews_refusalreason_delete", args=[reason.pk])
        ).status_code
        == 403
    )


@pytest.mark.parametrize("model", ["decision", "visa", "letter", "caseaccess"])
def test_decision_records_are_read_only_in_the_admin(admin_client, approved, model):
    changelist = admin_client.get(reverse(f"admin:reviews_{model}_changelist"))
    assert changelist.status_code == 200
    assert admin_client.get(reverse(f"admin:reviews_{model}_add")).status_code == 403


def test_the_visa_admin_never_shows_the_verification_token(admin_client, approved):
    visa = Visa.objects.get(application=approved)
    page = admin_client.get(reverse("admin:reviews_visa_change", args=[visa.pk])).content.decode()
    assert visa.number in page
    assert visa.verification_token not in page
    decision = Decision.objects.get(application=approved)
    assert (
        admin_client.get(reverse("admin:reviews_decision_change", args=[decision.pk])).status_code
        == 200
    )
