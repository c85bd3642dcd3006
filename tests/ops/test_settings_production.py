"""Settings modes, each in a fresh process with a controlled environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.production_env import REQUIRED_IN_PRODUCTION, ROOT, production_env, valid_values

_PRINT_SECRET = "from django.conf import settings; print(settings.SECRET_KEY)"


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _python(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )


def test_the_documented_production_variables_are_all_required():
    # Guards the parsing in production_env: the refusal tests below must not go vacuous.
    assert {"DJANGO_SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "EMAIL_URL"} <= set(
        REQUIRED_IN_PRODUCTION
    )


def test_every_required_variable_has_a_valid_test_value():
    missing = set(REQUIRED_IN_PRODUCTION) - set(valid_values())
    assert not missing, f"add a valid value for {missing} to tests/ops/production_env.py"


@pytest.mark.parametrize("name", REQUIRED_IN_PRODUCTION)
@pytest.mark.parametrize("value", [None, ""], ids=["unset", "empty"])
def test_production_refuses_to_start_without(tmp_path: Path, name: str, value: str | None):
    result = _manage(production_env(tmp_path / "absent.env", **{name: value}), "check")

    assert result.returncode != 0
    assert f"{name} must be set when KVISA_ENV=production" in result.stderr


def test_production_settings_pass_the_deployment_checklist(tmp_path: Path):
    result = _manage(
        production_env(tmp_path / "absent.env"), "check", "--deploy", "--fail-level", "WARNING"
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_never_writes_secrets_to_an_env_file(tmp_path: Path):
    env_file = tmp_path / ".env"

    result = _python(production_env(env_file), _PRINT_SECRET)

    assert result.returncode == 0, result.stderr
    assert not env_file.exists()


def test_development_generates_a_secret_key_once_and_keeps_it_in_env_file(tmp_path: Path):
    env_file = tmp_path / ".env"
    env = production_env(env_file, KVISA_ENV="development", DJANGO_SECRET_KEY=None)

    first = _python(env, _PRINT_SECRET)
    second = _python(env, _PRINT_SECRET)

    assert first.returncode == 0, first.stderr
    key = first.stdout.strip()
    assert len(key) >= 50
    assert f"DJANGO_SECRET_KEY={key}\n" in env_file.read_text()
    assert second.stdout.strip() == key
    assert env_file.read_text().count("DJANGO_SECRET_KEY=") == 1


def test_a_bucket_name_puts_documents_in_s3_compatible_storage(tmp_path: Path):
    env = production_env(
        tmp_path / "absent.env",
        AWS_STORAGE_BUCKET_NAME="kvisa-documents",
        AWS_S3_ENDPOINT_URL="http://minio:9000",
    )
    code = (
        "import django; django.setup()\n"
        "from django.core.files.storage import storages\ns = storages['default']\n"
        "print(type(s).__name__, s.bucket_name, s.endpoint_url, s.default_acl)"
    )

    result = _python(env, code)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["S3Storage", "kvisa-documents", "http://minio:9000", "private"]


def test_production_redirects_to_https_except_for_probes_and_metrics(tmp_path: Path):
    # The container healthcheck and the scraper speak plain HTTP to the container itself.
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='kvisa.example.org')\n"
        "print(c.get('/healthz').status_code, c.get('/metrics').status_code)\n"
        "r = c.get('/some/page')\n"
        "print(r.status_code, r['Location'])"
    )

    result = _python(production_env(tmp_path / "absent.env"), code)

    assert result.returncode == 0, result.stderr
    probes, page = result.stdout.splitlines()
    assert probes == "200 200"
    assert page == "301 https://kvisa.example.org/some/page"
