"""docker-compose.yml, read as data (no Docker engine here): services, health, environment."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.ops.production_env import REQUIRED_IN_PRODUCTION, ROOT

COMPOSE_PATH = ROOT / "docker-compose.yml"
APP_SERVICES = ("web", "worker", "beat")
SECRET_NAME = re.compile(r"(SECRET|PASSWORD|TOKEN|_KEY|_KEYS)$")
REQUIRED_REFERENCE = re.compile(r"^\$\{[A-Z_]+:\?[^}]*\}$")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_PATH.read_text(encoding="utf-8"))


def _environments(compose: dict) -> dict[str, dict[str, str]]:
    return {name: service.get("environment") or {} for name, service in compose["services"].items()}


def test_the_stack_has_every_service(compose):
    assert {"postgres", "redis", "minio", "migrate", "web", "worker", "beat"} <= set(
        compose["services"]
    )


@pytest.mark.parametrize(
    ("service", "probe"),
    [
        ("postgres", "pg_isready"),
        ("redis", "redis-cli ping"),
        ("minio", "mc ready"),
        ("web", "/healthz"),
    ],
)
def test_services_others_wait_for_have_healthchecks(compose, service, probe):
    test = compose["services"][service]["healthcheck"]["test"]
    assert probe in " ".join(test[1:]), test


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_processes_get_every_required_production_variable(compose, service):
    environment = compose["services"][service]["environment"]

    assert environment["KVISA_ENV"] == "production"
    missing = set(REQUIRED_IN_PRODUCTION) - set(environment)
    assert not missing, f"{service} lacks {missing}"
    assert environment["AWS_STORAGE_BUCKET_NAME"]
    assert environment["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"


@pytest.mark.parametrize("service", APP_SERVICES)
def test_app_processes_start_only_after_migrations_and_healthy_services(compose, service):
    depends_on = compose["services"][service]["depends_on"]

    assert depends_on["postgres"]["condition"] == "service_healthy"
    assert depends_on["redis"]["condition"] == "service_healthy"
    assert depends_on["migrate"]["condition"] == "service_completed_successfully"


def test_web_worker_and_beat_run_the_right_processes(compose):
    services = compose["services"]
    assert services["web"]["command"][:3] == ["gunicorn", "-c", "kvisa/gunicorn.conf.py"]
    assert "8000" in services["web"]["ports"][0]
    assert services["worker"]["command"][:4] == ["celery", "-A", "kvisa", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "kvisa", "beat"]


def test_secrets_are_required_from_the_environment_never_written_in_the_file(compose):
    secrets_seen = 0
    for service, environment in _environments(compose).items():
        for name, value in environment.items():
            if SECRET_NAME.search(name):
                secrets_seen += 1
                assert REQUIRED_REFERENCE.match(str(value)), f"{service}.{name} = {value!r}"
    assert secrets_seen >= 4  # the check above really looked at something

    # Comment lines hold placeholders (smtp+tls://user:password@...), not values.
    lines = COMPOSE_PATH.read_text(encoding="utf-8").splitlines()
    text = "\n".join(line for line in lines if not line.lstrip().startswith("#"))
    for password in re.findall(r"://[^:/@\s\"]+:([^@\s\"]+)@", text):
        assert REQUIRED_REFERENCE.match(password), f"literal password in a URL: {password!r}"
    # No key-like literal (a Fernet key, token_urlsafe output) anywhere outside ${...}.
    outside_references = re.sub(r"\$\{[^}]*\}", "", text)
    assert not re.findall(r"[A-Za-z0-9_\-]{32,}={0,2}", outside_references)


def test_third_party_images_are_pinned(compose):
    for name, service in compose["services"].items():
        image = service.get("image", "")
        if "build" in service or not image:
            continue
        assert ":" in image, f"{name}: {image}"
        assert not image.endswith(":latest"), f"{name}: {image}"
