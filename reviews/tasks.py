"""Periodic and follow-up tasks of the officer workspace: ids in, one service call, safe twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from ops.queueing import enqueue
from reviews import letters, services

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def leases_expire() -> int:
    return len(services.leases_expire())


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def evidence_expire_overdue() -> int:
    return len(services.evidence_expire_overdue())


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def letter_issue(decision_id: int) -> None:
    """Render and store the decision letter, then tell the applicant (each done once)."""
    letters.letter_issue(decision_id=decision_id)


@shared_task(acks_late=True)
def letters_sweep() -> int:
    """Re-enqueue the letter of every final decision that has none yet (a lost message)."""
    return sum(enqueue(letter_issue, pk) for pk in letters.decisions_without_letter())
