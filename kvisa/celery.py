"""The Celery app: configuration comes from Django settings (CELERY_* names).

Besides loading the configuration, this wires the worker into the project's logging:
Django's LOGGING replaces Celery's own log set-up, and django-structlog's worker step binds
the request id that a web request put into a task's headers, so the task's log lines carry it.

CELERY_DB_REUSE_MAX needs no wiring: Celery's Django fixup reads ``CELERY_DB_REUSE_MAX`` from
``app.conf``, and the CELERY namespace resolves that name to the Django setting
(tests/ops/test_celery_app.py holds it to that).
"""

import logging.config
import os
from typing import Any

from celery import Celery
from celery.signals import setup_logging
from django_structlog.celery.steps import DjangoStructLogInitStep

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kvisa.settings")

app = Celery("kvisa")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add(DjangoStructLogInitStep)


@setup_logging.connect
def _use_django_logging(**kwargs: Any) -> None:
    """Configure worker and beat logging from settings.LOGGING (JSON lines in production).

    Connecting this receiver is what stops Celery from installing its own handlers on the
    root logger, which would print Celery's plain format instead.
    """
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
