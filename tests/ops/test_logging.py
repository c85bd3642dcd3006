"""Structured logs: JSON lines carrying the request id, in the web process and into tasks."""

from __future__ import annotations

import json
import logging
import uuid

import pytest
import structlog
from celery.signals import after_task_publish

from ops.logconfig import logging_config


def _json_formatter() -> logging.Formatter:
    """The production formatter, built from the same dict settings.LOGGING uses."""
    options = dict(logging_config(fmt="json", level="INFO")["formatters"]["structured"])
    factory = options.pop("()")
    return factory(**options)


def _rendered(caplog: pytest.LogCaptureFixture, event: str) -> dict:
    """The captured record for ``event``, rendered as production would write it."""
    for record in caplog.records:
        if isinstance(record.msg, dict) and record.msg.get("event") == event:
            return json.loads(_json_formatter().format(record))
    raise AssertionError(f"no {event!r} log record; got {[r.msg for r in caplog.records]}")


def test_a_request_log_line_is_json_with_the_proxys_request_id(client, caplog):
    caplog.set_level(logging.INFO)

    response = client.get("/healthz", HTTP_X_REQUEST_ID="proxy-0123456789abcdef")

    assert response["X-Request-ID"] == "proxy-0123456789abcdef"
    line = _rendered(caplog, "request_finished")
    assert line["request_id"] == "proxy-0123456789abcdef"
    assert line["request"] == "GET /healthz"
    assert line["code"] == 200
    assert line["level"] == "info"
    assert line["timestamp"].endswith("Z")


def test_a_request_logs_one_line_at_info_and_its_start_only_at_debug(client, caplog):
    caplog.set_level(logging.INFO)
    client.get("/healthz")
    events = [r.msg.get("event") for r in caplog.records if isinstance(r.msg, dict)]
    assert events.count("request_finished") == 1
    assert "request_started" not in events
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="django_structlog")
    client.get("/healthz")
    events = [r.msg.get("event") for r in caplog.records if isinstance(r.msg, dict)]
    assert "request_started" in events


@pytest.mark.parametrize(
    "sent", [None, "short", "has spaces in it", "x" * 200, "evil\u2028id-123456"]
)
def test_a_missing_or_unusable_request_id_is_replaced_by_a_fresh_uuid(client, caplog, sent):
    caplog.set_level(logging.INFO)
    headers = {} if sent is None else {"HTTP_X_REQUEST_ID": sent}

    response = client.get("/healthz", **headers)

    request_id = response["X-Request-ID"]
    assert str(uuid.UUID(request_id)) == request_id
    assert _rendered(caplog, "request_finished")["request_id"] == request_id


def test_plain_logging_records_inside_a_request_carry_its_request_id():
    # Django, Celery and gunicorn log through `logging`, not structlog: same line shape.
    record = logging.LogRecord(
        "django.request", logging.WARNING, __file__, 1, "slow %s", ("db",), None
    )

    with structlog.contextvars.bound_contextvars(request_id="req-1234567890"):
        line = json.loads(_json_formatter().format(record))

    assert line == {
        "event": "slow db",
        "request_id": "req-1234567890",
        "logger": "django.request",
        "level": "warning",
        "timestamp": line["timestamp"],
    }


@pytest.mark.urls("tests.ops.urls")
def test_a_task_queued_in_a_request_carries_the_request_id_in_its_headers(client, celery_broker):
    published: list[tuple[str, dict]] = []

    def capture(sender: str, headers: dict, **kwargs: object) -> None:
        published.append((sender, headers))

    after_task_publish.connect(capture)
    try:
        response = client.get("/publish", HTTP_X_REQUEST_ID="req-task-0123456789")
    finally:
        after_task_publish.disconnect(capture)

    assert response.status_code == 200
    [(task_name, headers)] = published
    assert task_name == "ops.tasks.worker_heartbeat"
    assert headers["__django_structlog__"]["request_id"] == "req-task-0123456789"
