"""Celery tasks of the pipeline: ids in, one service call, safe to run twice."""

from __future__ import annotations

from celery import shared_task
from django.db import InterfaceError, OperationalError

from applications.tasks import application_submitted
from ops.queueing import enqueue
from screening import services
from screening import simulation as simulation

TRANSIENT = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


@shared_task(acks_late=True)
def screening_sweep() -> int:
    """Re-enqueue every submission that has waited too long to be routed; returns how many.

    It re-sends the submission task itself (screening, then the confirmation email, each done
    once), so a submission whose task was never published gets its email too.
    """
    ids = services.screenings_stuck()
    return sum(enqueue(application_submitted, application_id) for application_id in ids)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def queue_escalate_overdue() -> int:
    return len(services.queue_escalate_overdue())


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def simulation_start(simulation_id: int) -> None:
    """Split a simulation into chunks and enqueue one task per chunk."""
    for chunk_id in simulation.simulation_plan(simulation_id=simulation_id):
        simulation_chunk_run.delay(chunk_id)


@shared_task(acks_late=True, autoretry_for=TRANSIENT, retry_backoff=True, max_retries=5)
def simulation_chunk_run(chunk_id: int) -> None:
    simulation.simulation_chunk_run(chunk_id=chunk_id)
