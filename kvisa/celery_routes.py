"""Which Celery queue each task goes to when the workers are split by kind (docs/scaling.md).

Off by default: with ``CELERY_SPLIT_QUEUES`` unset every task goes to the default queue
``celery``, which the one worker of ``make run`` and docker-compose consumes. With it set,
each kind of work has a queue of its own, so a pool of workers can be given to each and a
burst of one kind (submissions at launch) never waits behind another (a slow webhook
receiver, a simulation of a million cases).
"""

from __future__ import annotations

# Checked in order, first match wins (Celery's glob routes): the simulation's tasks live in
# screening.tasks but are bulk work, so they come before the pipeline's pattern.
ROUTES: dict[str, str] = {
    "screening.tasks.simulation_*": "simulation",
    "applications.tasks.application_submitted": "screening",
    "screening.tasks.*": "screening",
    "integrations.tasks.*": "webhooks",
    "reviews.tasks.letter*": "letters",
}

# The queues of their own; everything else stays on the default queue (task_default_queue:
# "celery", or a test run's own name).
QUEUES = tuple(dict.fromkeys(ROUTES.values()))


def task_routes(*, split: bool) -> dict[str, dict[str, str]]:
    """Celery's ``task_routes``: empty (everything on the default queue) unless split."""
    return {pattern: {"queue": queue} for pattern, queue in ROUTES.items()} if split else {}
