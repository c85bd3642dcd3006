"""One log format for every process: web (Django and gunicorn), Celery worker and beat.

Production writes one JSON object per line, so a log shipper needs no parsing rules; a
developer's terminal gets structlog's console renderer. Both structlog loggers and plain
``logging`` loggers (Django, Celery, gunicorn, libraries) go through the same formatter, and
both pick up the context bound with ``structlog.contextvars`` (django-structlog's
``request_id``, a Celery ``task_id``), so a library's warning inside a request carries that
request's id too.

This module must not import Django: gunicorn's master process loads it from its config file
before any Django code runs.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

import structlog
from structlog.typing import EventDict, Processor

LOG_FORMATS = ("json", "console")


def gunicorn_access_fields(logger: Any, method_name: str, event_dict: EventDict) -> EventDict:
    """Turn gunicorn's access-log atoms into named fields instead of one Apache-style string.

    gunicorn logs each request as ``access_log_format % atoms``; the formatter hands the atoms
    over as ``positional_args``. Records from other loggers only lose that key.
    """
    atoms = event_dict.pop("positional_args", None)
    if event_dict.get("logger") != "gunicorn.access" or not isinstance(atoms, Mapping):
        return event_dict
    event_dict["event"] = "http_access"
    event_dict.update(
        remote_addr=atoms["h"],
        method=atoms["m"],
        path=atoms["U"],
        query=atoms["q"],
        status=atoms["s"],
        bytes=atoms["B"],
        duration_ms=int(atoms["M"]) if str(atoms["M"]).isdigit() else atoms["M"],
        user_agent=atoms["a"],
        # the id RequestIdMiddleware echoed, so this line joins the app's own lines
        request_id=atoms["{x-request-id}o"],
    )
    return event_dict


def _foreign_pre_chain() -> list[Processor]:
    """What a plain ``logging`` record needs before rendering; structlog records have it already."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        gunicorn_access_fields,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    """The ``logging.config.dictConfig`` dict for LOG_FORMAT ``fmt`` at LOG_LEVEL ``level``.

    Used as Django's LOGGING, by the Celery worker (through its ``setup_logging`` signal) and
    as gunicorn's ``logconfig_dict``, which is why gunicorn's loggers are configured here.
    """
    if fmt not in LOG_FORMATS:
        raise ValueError(f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {fmt!r}")
    renderer: list[Processor] = (
        [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
        if fmt == "json"
        else [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    *renderer,
                ],
                "foreign_pre_chain": _foreign_pre_chain(),
                # gunicorn's access atoms arrive as the record's args
                "pass_foreign_args": True,
            },
        },
        "handlers": {"default": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["default"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            # WeasyPrint logs several INFO lines per letter (fonts, stylesheets).
            "weasyprint": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
            "django_structlog": {"level": level},
            # gunicorn installs its own handlers on these; routing them to ours (and not also
            # to the root) keeps one line per event.
            "gunicorn.error": {"handlers": ["default"], "level": level, "propagate": False},
            "gunicorn.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
        },
    }


def configure_structlog() -> None:
    """Route structlog through the stdlib ``logging`` handlers configured by logging_config()."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.filter_by_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.UnicodeDecoder(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
