"""Test overrides: fast hashing, in-memory email, an isolated cache namespace."""

import os
import tempfile
from pathlib import Path

os.environ.setdefault("KVISA_ENV", "test")
os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret")
# Fixed data-protection keys (set before the import, so no run writes generated ones to .env).
os.environ.setdefault("FIELD_ENCRYPTION_KEYS", "a3Zpc2EtdGVzdC1maWVsZC1lbmNyeXB0aW9uLWtleSE=")
os.environ.setdefault("IDENTIFIER_HASH_KEY", "test-only-identifier-hash-key-not-secret")

from kvisa.settings import *  # noqa: F403
from kvisa.settings import CACHES, DATABASES, INSTALLED_APPS, REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Each xdist worker gets its own Redis key prefix so rate limits and heartbeats don't collide.
CACHES["default"]["KEY_PREFIX"] = f"kvisa-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
CELERY_BROKER_URL = REDIS_URL
LOG_FORMAT = "console"
# Tests publish to their own queue, so a worker started by an integration test never picks up
# messages left by another run sharing the same Redis.
CELERY_TASK_DEFAULT_QUEUE = f"kvisa-test-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
# A model for testing reusable model fields (applications.crypto) against the real database.
INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
# Concurrent test runs against one server (two checkouts, a developer beside CI) need their
# own test database: KVISA_TEST_DB_NAME names it (pytest-django adds the xdist suffix).
if os.environ.get("KVISA_TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["KVISA_TEST_DB_NAME"]}
# Uploads made by tests never land in the development media folder.
MEDIA_ROOT = (
    Path(tempfile.gettempdir())
    / f"kvisa-test-media-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
)
