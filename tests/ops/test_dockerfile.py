"""The Dockerfile, read as text (no Docker engine here); its build-time settings run for real."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.ops.production_env import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _build_time_env() -> dict[str, str]:
    """The NAME=value pairs of the RUN step that collects static files."""
    step = next(run for run in DOCKERFILE.split("\nRUN ") if "collectstatic" in run)
    return dict(re.findall(r"^\s*([A-Z_]+)=(\S+) \\$", step, flags=re.MULTILINE))


def test_the_build_time_environment_satisfies_production_settings():
    env = {"PATH": "/usr/bin:/bin", **_build_time_env()}
    assert env["KVISA_ENV"] == "production"

    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr


def test_the_image_runs_gunicorn_as_a_non_root_user():
    users = re.findall(r"^USER (\S+)$", DOCKERFILE, flags=re.MULTILINE)
    assert users
    assert users[-1] not in {"root", "0"}
    assert 'CMD ["gunicorn", "-c", "kvisa/gunicorn.conf.py", "kvisa.wsgi"]' in DOCKERFILE
    assert "FROM python:3.11-slim" in DOCKERFILE


def test_the_image_has_the_system_libraries_the_app_loads():
    for package in (
        "libmagic1",
        "gettext",
        "fonts-noto-cjk",
        "libpango-1.0-0",
        "libpangoft2-1.0-0",
    ):
        assert package in DOCKERFILE


def test_local_secrets_and_dev_data_stay_out_of_the_build_context():
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".env", ".venv", ".dev", ".git"} <= set(ignored)
