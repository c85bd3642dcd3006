"""/healthz and /readyz against the real database and Redis."""

from __future__ import annotations

import time

import pytest
from django.core.cache import cache
from django.db import OperationalError, connections

from ops.heartbeat import heartbeat_record

UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    """Point the cache at a port nothing listens on: Redis is really unreachable."""
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": UNREACHABLE_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


def test_healthz_answers_without_database_or_redis(client, redis_down):
    # No db fixture: pytest-django fails any database access. Redis points nowhere.
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.django_db
def test_readyz_is_ready_with_database_redis_and_fresh_heartbeat(client, settings):
    heartbeat_record()

    response = client.get("/readyz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"] == {"ok": True}
    assert body["checks"]["redis"] == {"ok": True}
    heartbeat = body["checks"]["worker_heartbeat"]
    assert heartbeat["ok"] is True
    assert 0 <= heartbeat["age_seconds"] < 5
    assert heartbeat["max_age_seconds"] == settings.WORKER_HEARTBEAT_MAX_AGE


@pytest.mark.django_db
def test_readyz_fails_without_any_heartbeat(client, settings):
    cache.delete(settings.WORKER_HEARTBEAT_KEY)

    response = client.get("/readyz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["worker_heartbeat"]["ok"] is False
    assert body["checks"]["worker_heartbeat"]["error"] == "no heartbeat yet"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is True


@pytest.mark.django_db
def test_readyz_fails_when_the_heartbeat_is_older_than_the_limit(client, settings):
    stale = time.time() - settings.WORKER_HEARTBEAT_MAX_AGE - 5
    cache.set(settings.WORKER_HEARTBEAT_KEY, stale, timeout=None)

    response = client.get("/readyz")

    assert response.status_code == 503
    heartbeat = response.json()["checks"]["worker_heartbeat"]
    assert heartbeat["ok"] is False
    assert heartbeat["error"] == "stale"
    assert heartbeat["age_seconds"] > settings.WORKER_HEARTBEAT_MAX_AGE


@pytest.mark.django_db
def test_readyz_fails_when_redis_is_unreachable(client, redis_down):
    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"]["ok"] is False
    assert checks["worker_heartbeat"] == {"ok": False, "error": "redis unavailable"}
    assert checks["database"] == {"ok": True}


@pytest.mark.django_db
def test_readyz_fails_when_the_database_refuses_and_does_not_leak_the_error(client, monkeypatch):
    heartbeat_record()
    secret_detail = 'connection to server at "db.internal" (10.0.0.5) failed: password'

    def refuse(*args, **kwargs):
        raise OperationalError(secret_detail)

    # The database is the outside world here: a refused connection is what an outage looks like.
    monkeypatch.setattr(connections["default"], "cursor", refuse)

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": False, "error": "OperationalError"}
    assert checks["redis"]["ok"] is True
    assert "db.internal" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.urls("tests.ops.urls")
@pytest.mark.parametrize("path", ["/healthz", "/readyz"])
def test_probes_need_no_login_even_when_login_is_required_everywhere(client, settings, path):
    heartbeat_record()
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    settings.LOGIN_URL = "/login"  # the test URLconf has no allauth routes to reverse

    response = client.get(path)

    assert response.status_code == 200
    # control: the middleware is active, a view without the exemption redirects to login
    assert client.get("/private").status_code == 302


@pytest.mark.django_db
def test_readyz_answers_head_for_load_balancers(client):
    heartbeat_record()

    assert client.head("/readyz").status_code == 200
    assert client.post("/readyz").status_code == 405
