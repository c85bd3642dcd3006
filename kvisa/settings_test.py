"""Test overrides: fast hashing, in-memory email, an isolated cache namespace."""

import os

os.environ.setdefault("KVISA_ENV", "test")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")

from kvisa.settings import *  # noqa: E402,F403
from kvisa.settings import CACHES, REDIS_URL  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each xdist worker gets its own Redis key prefix so rate limits and heartbeats don't collide.
CACHES["default"]["KEY_PREFIX"] = f"kvisa-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
CELERY_BROKER_URL = REDIS_URL
LOG_FORMAT = "console"
# Tests publish to their own queue, so a worker started by an integration test never picks up
# messages left by another run sharing the same Redis.
CELERY_TASK_DEFAULT_QUEUE = f"kvisa-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
