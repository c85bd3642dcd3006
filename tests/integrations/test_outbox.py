"""The transactional outbox: an event exists exactly when its change committed, carries no
personal data, and survives a broker that is down between the commit and the delivery."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from applications.models import Status
from integrations import tasks
from integrations.models import WebhookMessage
from kvisa.celery import app
from ops import queueing
from ops.events import event_emit
from ops.models import EventType, OutboxEvent
from reviews import services as reviews
from tests.integrations.conftest import RECEIVER_URL, endpoint_for, file_for, submit

pytestmark = pytest.mark.django_db

UNUSED_BROKER = "redis://127.0.0.1:1/0"  # nothing listens on port 1


def _events() -> list[tuple[str, int | None]]:
    return list(OutboxEvent.objects.order_by("id").values_list("type", "application_id"))


def test_submitting_writes_the_event_in_the_same_transaction(filed_draft):
    @transaction.atomic
    def submit_then_fail() -> None:
        submit(filed_draft)
        assert _events() == [(EventType.APPLICATION_SUBMITTED, filed_draft.pk)]
        raise RuntimeError("something later in the transaction fails")

    with pytest.raises(RuntimeError):
        submit_then_fail()
    # rolled back with the submission: no event about a change that never happened
    assert not OutboxEvent.objects.exists()
    filed_draft.refresh_from_db()
    assert filed_draft.status == Status.DRAFT

    submitted = submit(filed_draft)
    event = OutboxEvent.objects.get()
    assert event.type == EventType.APPLICATION_SUBMITTED
    assert event.dispatched_at is None
    assert event.payload == {
        "application": str(submitted.public_id),
        "reference": submitted.reference,
        "status": "submitted",
        "submitted_at": event.payload["submitted_at"],
    }
    # a repeated submit (double click) changes nothing, so it emits nothing
    submit(filed_draft)
    assert OutboxEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_event_cannot_be_emitted_outside_a_transaction():
    with pytest.raises(AssertionError, match="inside the change's transaction"):
        event_emit(type=EventType.CASE_DECIDED, application_id=None, payload={})
    assert not OutboxEvent.objects.exists()


def test_an_evidence_request_emits_its_event_without_the_free_text(case, officer):
    OutboxEvent.objects.all().delete()  # the submission's event, tested above
    reviews.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    request = reviews.evidence_request_create(
        application=case,
        officer=officer,
        items=["Transcript of the master's degree, Okafor"],
        message="Dear Ms Okafor, the transcript is missing.",
        due_on=timezone.localdate() + timedelta(days=20),
    )

    (event,) = OutboxEvent.objects.all()
    assert event.type == EventType.CASE_EVIDENCE_REQUESTED
    assert event.application_id == case.pk
    assert event.payload["reference"] == case.reference
    assert event.payload["status"] == "evidence_requested"
    assert event.payload["evidence_request"] == str(request.public_id)
    assert "Okafor" not in json.dumps(event.payload)


def test_an_approval_emits_case_decided_and_visa_issued_without_personal_data(
    case, officer, settings
):
    settings.SECOND_REVIEW_APPROVAL_SHARE = 0
    OutboxEvent.objects.all().delete()  # the submission's event, tested above
    reviews.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    decision = reviews.decision_make(
        application=case,
        officer=officer,
        outcome="approve",
        terms=reviews.default_visa_terms(case),
    )

    decided, issued = OutboxEvent.objects.order_by("id")
    assert decided.type == EventType.CASE_DECIDED
    assert decided.payload["outcome"] == "approve"
    assert decided.payload["status"] == "approved"
    assert decided.payload["decision"] == str(decision.public_id)
    assert issued.type == EventType.VISA_ISSUED
    visa = case.visa
    assert issued.payload == {
        "visa_number": visa.number,
        "valid_from": visa.valid_from.isoformat(),
        "valid_until": visa.valid_until.isoformat(),
        "entries": visa.entries,
        "max_stay_days": visa.max_stay_days,
    }
    everything = json.dumps([decided.payload, issued.payload])
    for personal in ("A12345678", "Okafor", "Amara", "1996-04-12", "amara@example.test"):
        assert personal not in everything


def test_a_refusal_emits_case_decided_once_the_second_officer_confirms_it(
    case, officer, second_officer
):
    OutboxEvent.objects.all().delete()
    reviews.case_claim_next(officer=officer, queue=case.queue_entry.queue)
    decision = reviews.decision_make(
        application=case,
        officer=officer,
        outcome="refuse",
        reason_codes=["criteria-not-met"],
        statement="The degree is not in a STEM field.",
    )
    assert decision.state == "awaiting_review"
    assert not OutboxEvent.objects.exists()  # not decided yet

    reviews.second_review_confirm(decision=decision, reviewer=second_officer)

    (event,) = OutboxEvent.objects.all()
    assert event.type == EventType.CASE_DECIDED
    assert event.payload["outcome"] == "refuse"
    assert event.payload["status"] == "refused"


@contextmanager
def broker_down(monkeypatch) -> Iterator[list[bool]]:
    """Point this process's Celery app at a port nobody listens on (CELERY_BROKER_URL in the
    environment wins over the settings; the pools are reset so the next publish connects
    anew), and record what every publish returned."""
    published: list[bool] = []
    real_enqueue = queueing.enqueue

    def spy(task, *args):
        published.append(real_enqueue(task, *args))
        return published[-1]

    monkeypatch.setattr(queueing, "enqueue", spy)
    monkeypatch.setenv("CELERY_BROKER_URL", UNUSED_BROKER)
    app._pool = None
    app.amqp._producer_pool = None
    try:
        yield published
    finally:
        monkeypatch.delenv("CELERY_BROKER_URL")
        monkeypatch.setattr(queueing, "enqueue", real_enqueue)
        app._pool = None
        app.amqp._producer_pool = None


@pytest.mark.django_db(transaction=True)
def test_nothing_is_lost_when_the_broker_is_down_between_commit_and_delivery(
    media_root, filer, receiver, monkeypatch
):
    from tests.applications.conftest import complete_draft

    endpoint = endpoint_for(filer)
    receiver.post(RECEIVER_URL, status=204)
    draft = complete_draft()
    file_for(filer, draft)

    with broker_down(monkeypatch) as published:
        submitted = submit(draft)  # commits; the after-commit publishes fail, quietly
        assert published  # the pipeline's and the outbox's hand-offs were attempted …
        assert not any(published)  # … and none reached a broker
        event = OutboxEvent.objects.get(application_id=submitted.pk)
        assert event.dispatched_at is None
        assert not WebhookMessage.objects.exists()

        # The sweeper finds the event (its own publish of the delivery fails as well) …
        assert tasks.outbox_dispatch() == 1
        # … and the retry sweeper would publish the due message, but the broker is still down.
        assert tasks.webhooks_retry_due() == 0
        message = WebhookMessage.objects.get()
        assert message.endpoint == endpoint
        assert message.state == WebhookMessage.State.PENDING

        # A worker picks it up (called directly): delivered once.
        tasks.webhook_deliver(message.pk)

    message.refresh_from_db()
    assert message.state == WebhookMessage.State.DELIVERED
    assert len(receiver.calls) == 1
    assert receiver.calls[0].request.headers["webhook-id"] == str(event.public_id)
    # Sweeping and delivering again change nothing: still one request.
    assert tasks.outbox_dispatch() == 0
    assert tasks.webhooks_retry_due() == 0
    tasks.webhook_deliver(message.pk)
    assert len(receiver.calls) == 1
    event.refresh_from_db()
    assert event.dispatched_at is not None
