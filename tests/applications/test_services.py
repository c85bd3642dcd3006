from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.utils import timezone

from applications import services
from applications.checklist import Step, missing_items
from applications.models import Application, DocumentKind, Status, TimelineEvent
from applications.reference import parse_reference
from applications.tasks import application_submitted
from kvisa.errors import Conflict
from policy.selectors import policy_in_force
from tests.applications.conftest import complete_draft, pdf_upload
from tests.factories import ApplicantFactory

pytestmark = pytest.mark.django_db


def test_complete_draft_has_nothing_missing(draft):
    assert missing_items(draft, policy=policy_in_force()) == []


def test_submit_gives_reference_snapshot_and_timeline(draft, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submitted = services.application_submit(
            application=draft, actor=draft.applicant, signature_name="amara  chidi okafor"
        )
    # the hand-offs to the pipeline and to the outbox dispatcher are queued only after commit
    assert len(callbacks) == 2
    assert submitted.status == Status.SUBMITTED
    year, _ = parse_reference(submitted.reference)
    assert year == submitted.submitted_at.year
    assert submitted.policy_version == policy_in_force()
    assert submitted.snapshot["personal"]["family_name"] == "Okafor"
    assert "A12345678" not in str(submitted.snapshot)  # the passport number is masked
    assert submitted.snapshot["passport"]["passport_number"].endswith("5678")
    assert list(submitted.timeline.values_list("to_status", flat=True)) == [
        Status.DRAFT,
        Status.SUBMITTED,
    ]


def test_submission_task_sends_a_bilingual_confirmation(submitted):
    application_submitted(submitted.pk)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert submitted.reference in message.subject
    assert message.to == ["amara@example.test", submitted.applicant.email] or set(message.to) == {
        "amara@example.test",
        submitted.applicant.email,
    }
    assert "Your reference number is" in message.body
    assert "K 字签证" in message.body or "签证" in message.body  # the Chinese half is there too


def test_snapshot_is_frozen_against_later_changes(submitted):
    with pytest.raises(Conflict):
        services.application_update(application=submitted, data={"family_name": "Changed"})
    submitted.refresh_from_db()
    assert submitted.snapshot["personal"]["family_name"] == "Okafor"
    assert submitted.family_name == "Okafor"


def test_submit_refuses_incomplete_application_and_says_what_is_missing(db, media_root):
    application = services.application_create(applicant=ApplicantFactory())
    with pytest.raises(services.IncompleteApplication) as excinfo:
        services.application_submit(
            application=application, actor=application.applicant, signature_name="x"
        )
    steps = {item["step"] for item in excinfo.value.extra["missing"]}
    assert {Step.PATH, Step.PERSONAL, Step.PASSPORT, Step.EDUCATION} <= steps
    application.refresh_from_db()
    assert application.status == Status.DRAFT
    assert application.reference is None


def test_submit_refuses_a_signature_that_is_not_the_applicants_name(draft):
    with pytest.raises(services.ValidationFailed):
        services.application_submit(
            application=draft, actor=draft.applicant, signature_name="Somebody Else"
        )
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_passport_expiring_before_the_stay_ends_blocks_submission(draft):
    updated = services.application_update(
        application=draft, data={"passport_expiry_date": timezone.localdate() + timedelta(days=70)}
    )
    messages = [m.message for m in missing_items(updated, policy=policy_in_force())]
    assert any("expires before your planned stay ends" in str(m) for m in messages)


def test_missing_document_is_listed_by_the_checklist(draft):
    services.document_delete(document=draft.documents.get(kind=DocumentKind.PHOTO))
    missing = missing_items(draft, policy=policy_in_force())
    assert [(m.step, str(m.message)) for m in missing] == [
        (Step.DOCUMENTS, "Upload: Recent photo.")
    ]


def test_uploading_again_replaces_the_file_in_a_draft(draft):
    old = draft.documents.get(kind=DocumentKind.PASSPORT_BIO)
    services.document_add(
        application=draft,
        kind=DocumentKind.PASSPORT_BIO,
        upload=pdf_upload("new.pdf"),
        actor=draft.applicant,
    )
    current = draft.documents.filter(kind=DocumentKind.PASSPORT_BIO)
    assert [d.original_name for d in current] == ["new.pdf"]
    assert current[0].pk != old.pk


def test_passport_digest_changes_with_number_and_nationality(draft):
    digest = draft.passport_digest
    assert len(digest) == 64
    updated = services.application_update(application=draft, data={"nationality": "GH"})
    assert updated.passport_digest != digest


def test_passport_number_is_encrypted_in_the_database(draft):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT passport_number FROM applications_application WHERE id = %s", [draft.pk]
        )
        stored = cursor.fetchone()[0]
    assert "A12345678" not in stored
    assert Application.objects.get(pk=draft.pk).passport_number == "A12345678"


def test_withdraw_submitted_application_records_reason(submitted):
    withdrawn = services.application_withdraw(
        application=submitted, actor=submitted.applicant, reason="Plans changed"
    )
    assert withdrawn.status == Status.WITHDRAWN
    assert withdrawn.withdrawn_at
    event = TimelineEvent.objects.filter(application=submitted).last()
    assert (event.to_status, event.message) == (Status.WITHDRAWN, "Plans changed")
    with pytest.raises(services.IllegalTransition):
        services.application_withdraw(application=withdrawn, actor=submitted.applicant)


def test_illegal_transition_is_a_conflict(submitted):
    with pytest.raises(services.IllegalTransition):
        services.application_transition(application=submitted, to=Status.APPROVED, actor=None)


@pytest.mark.django_db(transaction=True)
def test_concurrent_double_submission_creates_one_submission(
    media_root, django_capture_on_commit_callbacks
):
    application = complete_draft()
    results: list[str] = []
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def submit() -> None:
        try:
            barrier.wait()
            done = services.application_submit(
                application=Application.objects.get(pk=application.pk),
                actor=application.applicant,
                signature_name="Amara Chidi Okafor",
            )
            results.append(done.reference)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 2
    assert results[0] == results[1]
    assert (
        TimelineEvent.objects.filter(application=application, to_status=Status.SUBMITTED).count()
        == 1
    )
