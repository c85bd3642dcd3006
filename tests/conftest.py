"""Shared fixtures. Tests run against the real PostgreSQL and Redis named by DATABASE_URL and
REDIS_URL (the embedded ones under `make test`, the machine's under CI).

KVISA_STRICT=1 (set by .ci/run) turns every "service or browser unavailable" skip into a
failure, so CI can never go green by skipping.
"""

from __future__ import annotations

import os

import pytest

STRICT = os.environ.get("KVISA_STRICT") == "1"


def unavailable(reason: str) -> None:
    """Skip locally, fail under CI: a missing service or browser must never pass silently."""
    if STRICT:
        pytest.fail(f"required for this test but unavailable: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _english_by_default(settings):
    settings.LANGUAGE_CODE = "en"
