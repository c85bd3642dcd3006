"""Browser tests: Playwright drives Debian's chromium against Django's live server.

Playwright cannot download its own browser here, so the launch points at the system
chromium (CHROMIUM_PATH overrides). Without it these tests skip locally and fail under CI.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import unavailable

# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made by
# the test itself (reading the outbox, checking rows) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _chromium() -> str | None:
    return (
        os.environ.get("CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    executable = _chromium()
    if executable is None:
        unavailable("chromium is not installed (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": executable,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
