"""Sign-in throttling, with allauth's counters held in Redis (shared by all web processes)."""

from __future__ import annotations

import pickle

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.urls import reverse

from tests.accounts.conftest import allauth_cache_keys
from tests.factories import DEFAULT_PASSWORD, ApplicantFactory

pytestmark = pytest.mark.django_db


def test_the_cache_that_holds_rate_limits_is_redis():
    assert isinstance(caches["default"], RedisCache)
    assert settings.CACHES["default"]["LOCATION"].startswith("redis://")


def test_repeated_failed_logins_are_throttled_and_counted_in_redis(client, redis_client):
    user = ApplicantFactory()
    allowed = int(settings.ACCOUNT_RATE_LIMITS["login_failed"].split("/")[0])  # "5/5m/key,..."

    for _ in range(allowed):
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": "not-the-password"}
        )
        assert "Too many failed login attempts" not in response.content.decode()

    # The counters are real Redis keys (read with a separate client, not through Django):
    # one per email address ("5/300.0/key:<hash>") and one per IP address.
    keys = [k.decode() for k in allauth_cache_keys(redis_client)]
    per_email = [k for k in keys if ":rl:allauth.account:login_failed:" in k and "/key:" in k]
    per_ip = [k for k in keys if ":rl:allauth.account:login_failed:" in k and "/ip:" in k]
    assert len(per_email) == 1, keys
    assert len(per_ip) == 1, keys
    attempts = pickle.loads(redis_client.get(per_email[0]))  # noqa: S301  (our cache's own value)
    assert len(attempts) == allowed
    assert redis_client.ttl(per_email[0]) > 0  # expires with the rate window

    # Even the right password is refused now, and nobody is signed in.
    response = client.post(
        reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 200
    assert "Too many failed login attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session
