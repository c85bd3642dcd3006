"""Evidence answers, withdrawal and draft retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from applications import services
from applications.housekeeping import drafts_purge, drafts_remind
from applications.models import Application, Document, EvidenceRequest, Status
from tests.applications.conftest import pdf_upload
from tests.factories import ApplicantFactory, OfficerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def evidence_requested(submitted):
    """A submitted case moved by the officer-side transitions to evidence_requested."""
    officer = OfficerFactory()
    for status in (Status.QUEUED, Status.IN_REVIEW, Status.EVIDENCE_REQUESTED):
        services.application_transition(application=submitted, to=status, actor=officer)
    request = EvidenceRequest.objects.create(
        application=submitted,
        requested_by=officer,
        items=["Official transcript"],
        message="Please send your official transcript.",
        due_at=timezone.now() + timedelta(days=14),
    )
    return request


def test_applicant_answers_evidence_with_text_and_files(client, evidence_requested):
    application = evidence_requested.application
    client.force_login(application.applicant)
    url = reverse(
        "applications:evidence", args=[application.public_id, evidence_requested.public_id]
    )
    response = client.post(
        url, {"text": "Attached.", "attachments": [pdf_upload("transcript-official.pdf")]}
    )
    assert response.status_code == 302
    evidence_requested.refresh_from_db()
    application.refresh_from_db()
    assert evidence_requested.state == EvidenceRequest.State.ANSWERED
    assert application.status == Status.QUEUED
    assert evidence_requested.response.text == "Attached."
    assert [d.original_name for d in evidence_requested.response.documents.all()] == [
        "transcript-official.pdf"
    ]


def test_evidence_answer_after_the_deadline_is_refused(client, evidence_requested):
    evidence_requested.due_at = timezone.now() - timedelta(minutes=1)
    evidence_requested.save()
    application = evidence_requested.application
    client.force_login(application.applicant)
    url = reverse(
        "applications:evidence", args=[application.public_id, evidence_requested.public_id]
    )
    client.post(url, {"text": "Late"})
    evidence_requested.refresh_from_db()
    assert evidence_requested.state == EvidenceRequest.State.OPEN
    assert Application.objects.get(pk=application.pk).status == Status.EVIDENCE_REQUESTED


def test_withdrawal_needs_confirmation(client, submitted):
    client.force_login(submitted.applicant)
    url = reverse("applications:withdraw", args=[submitted.public_id])
    unconfirmed = client.post(url, {"reason": "no"})
    assert unconfirmed.status_code == 200
    assert Application.objects.get(pk=submitted.pk).status == Status.SUBMITTED
    client.post(url, {"reason": "Found another route", "confirm": "on"})
    assert Application.objects.get(pk=submitted.pk).status == Status.WITHDRAWN


def test_withdrawing_a_draft_removes_its_files(draft):
    names = [d.file.name for d in draft.documents.all()]
    storage = draft.documents.first().file.storage
    with pytest.MonkeyPatch.context():
        services.application_withdraw(application=draft, actor=draft.applicant)
    assert not Document.objects.filter(application=draft).exists()
    assert all(storage.exists(name) for name in names)  # deleted only after commit


def test_stale_drafts_get_one_reminder(draft, settings):
    settings.DRAFT_REMINDER_DAYS = 30
    Application.objects.filter(pk=draft.pk).update(updated_at=timezone.now() - timedelta(days=31))
    fresh = services.application_create(applicant=ApplicantFactory())
    assert drafts_remind() == 1
    assert drafts_remind() == 0
    assert len(mail.outbox) == 1
    assert draft.applicant.email in mail.outbox[0].to
    assert Application.objects.get(pk=fresh.pk).reminded_at is None


def test_abandoned_drafts_are_purged_with_their_files(
    draft, submitted_other, settings, django_capture_on_commit_callbacks
):
    settings.DRAFT_PURGE_DAYS = 90
    old = timezone.now() - timedelta(days=91)
    Application.objects.filter(pk__in=[draft.pk, submitted_other.pk]).update(updated_at=old)
    files = [(d.file.storage, d.file.name) for d in draft.documents.all()]
    with django_capture_on_commit_callbacks(execute=True):
        assert drafts_purge() == 1
    assert not Application.objects.filter(pk=draft.pk).exists()
    assert Application.objects.filter(pk=submitted_other.pk).exists()  # only drafts are purged
    assert not any(storage.exists(name) for storage, name in files)


@pytest.fixture
def submitted_other(media_root, django_capture_on_commit_callbacks):
    from tests.applications.conftest import complete_draft

    other = complete_draft()
    with django_capture_on_commit_callbacks(execute=False):
        return services.application_submit(
            application=other, actor=other.applicant, signature_name="Amara Chidi Okafor"
        )
