"""The Celery app's wiring: database connection reuse, logging steps, the beat schedule."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery.fixups.django import DjangoWorkerFixup
from django.db import connection
from django_celery_beat.schedulers import DatabaseScheduler
from django_structlog.celery.steps import DjangoStructLogInitStep

from kvisa.celery import app


def test_the_worker_fixup_sees_the_database_reuse_setting(settings):
    fixup = DjangoWorkerFixup(app)

    assert fixup.db_reuse_max == settings.CELERY_DB_REUSE_MAX
    assert fixup.db_reuse_max > 0


@pytest.mark.django_db(transaction=True)
def test_the_worker_fixup_keeps_the_connection_open_around_tasks():
    connection.ensure_connection()
    raw = connection.connection

    # What the fixup runs before and after each task.
    DjangoWorkerFixup(app).close_database()

    assert connection.connection is raw


@pytest.mark.django_db(transaction=True)
def test_without_reuse_the_fixup_would_close_the_connection_after_every_task():
    # The control for the test above: it can tell reuse from no reuse.
    connection.ensure_connection()
    fixup = DjangoWorkerFixup(app)
    fixup.db_reuse_max = None

    fixup.close_database()

    assert connection.connection is None


def test_the_worker_binds_django_structlog_context_from_task_headers():
    assert DjangoStructLogInitStep in app.steps["worker"]


def test_every_beat_entry_names_a_registered_task(settings):
    app.loader.import_default_modules()

    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        assert entry["task"] in app.tasks, name


def test_the_heartbeat_is_scheduled_well_within_the_readiness_limit(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["ops-worker-heartbeat"]

    assert entry["schedule"] == timedelta(seconds=30)
    # Two missed beats in a row still leave /readyz green; a dead worker turns it red.
    assert entry["schedule"].total_seconds() * 3 <= settings.WORKER_HEARTBEAT_MAX_AGE


# transaction: the scheduler calls close_old_connections(), which ends a test's atomic block
@pytest.mark.django_db(transaction=True)
def test_beat_sends_heartbeats_that_expire_rather_than_pile_up():
    scheduler = DatabaseScheduler(app=app, lazy=True)
    scheduler.setup_schedule()

    entry = scheduler.all_as_schedule()["ops-worker-heartbeat"]

    assert entry.task == "ops.tasks.worker_heartbeat"
    assert entry.options["expires"] == 30


def _router(routes):
    from celery.app.routes import Router, prepare

    app.loader.import_default_modules()
    return Router(prepare(routes), app.amqp.queues, create_missing=True, app=app)


OURS = ("accounts.", "applications.", "integrations.", "ops.", "reviews.", "screening.")


def test_split_queues_give_each_kind_of_work_its_queue_and_the_rest_the_default():
    from kvisa.celery_routes import QUEUES, task_routes

    router = _router(task_routes(split=True))
    queue_of = {
        name: router.route({}, name)["queue"].name for name in app.tasks if name.startswith(OURS)
    }
    assert queue_of["applications.tasks.application_submitted"] == "screening"
    assert queue_of["screening.tasks.screening_sweep"] == "screening"
    assert queue_of["screening.tasks.simulation_chunk_run"] == "simulation"  # not "screening"
    assert queue_of["integrations.tasks.webhook_deliver"] == "webhooks"
    assert queue_of["reviews.tasks.letter_issue"] == "letters"
    default = app.conf.task_default_queue
    assert queue_of["ops.tasks.worker_heartbeat"] == default
    assert set(queue_of.values()) == {default, *QUEUES}  # every queue named in the docs is used


def test_unsplit_every_task_goes_to_the_one_default_queue(settings):
    from kvisa.celery_routes import task_routes

    assert settings.CELERY_TASK_ROUTES == task_routes(split=False) == {}
    router = _router(settings.CELERY_TASK_ROUTES)
    queues = {router.route({}, name)["queue"].name for name in app.tasks if name.startswith(OURS)}
    assert queues == {app.conf.task_default_queue}
