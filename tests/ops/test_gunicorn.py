"""The production gunicorn configuration, run for real."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.processes import ROOT, wait_until

CONFIG = "kvisa/gunicorn.conf.py"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", CONFIG, "kvisa.wsgi"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _print_config(**env: str) -> dict[str, str]:
    result = subprocess.run(
        [*GUNICORN, "--print-config"],
        cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return {
        name.strip(): value.strip()
        for name, _, value in (line.partition("=") for line in result.stdout.splitlines())
    }


def test_the_config_takes_its_sizes_and_trusted_proxies_from_the_environment(tmp_path: Path):
    config = _print_config(
        WEB_CONCURRENCY="5",
        GUNICORN_THREADS="3",
        FORWARDED_ALLOW_IPS="10.0.0.9",
        PROMETHEUS_MULTIPROC_DIR=str(tmp_path),
    )

    assert config["workers"] == "5"
    assert config["threads"] == "3"
    assert config["forwarded_allow_ips"] == "['10.0.0.9']"
    assert config["bind"] == "['0.0.0.0:8000']"
    # A worker is recycled rarely: a cold start under load costs more than any leak seen.
    assert config["max_requests"] == "50000"
    assert config["max_requests_jitter"] == "5000"
    assert (
        _print_config(GUNICORN_MAX_REQUESTS="0", PROMETHEUS_MULTIPROC_DIR=str(tmp_path))[
            "max_requests"
        ]
        == "0"
    )


def _get(url: str, **headers: str) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (a fixed local URL)
    with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310
        return response.status, dict(response.headers)


@pytest.mark.integration
def test_gunicorn_serves_and_writes_json_access_lines_with_the_request_id(tmp_path: Path):
    port = _free_port()
    metrics_dir = tmp_path / "prometheus"
    log_path = tmp_path / "gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "kvisa.settings_test",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    with log_path.open("wb") as log:
        server = subprocess.Popen(GUNICORN, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:

        def healthy() -> bool:
            try:
                return _get(f"http://127.0.0.1:{port}/healthz")[0] == 200
            except OSError:
                assert server.poll() is None, log_path.read_text()
                return False

        wait_until(healthy, timeout=30, what="gunicorn to answer /healthz")
        status, headers = _get(
            f"http://127.0.0.1:{port}/healthz", **{"X-Request-ID": "lb-0123456789"}
        )
        metrics_status, _ = _get(f"http://127.0.0.1:{port}/metrics")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    assert status == 200
    assert headers["X-Request-ID"] == "lb-0123456789"
    assert metrics_status == 200
    # Workers share metrics through files, so a scrape sees the whole server.
    assert list(metrics_dir.glob("*.db"))
    records = [
        json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")
    ]
    access = [
        r for r in records if r["event"] == "http_access" and r["request_id"] == "lb-0123456789"
    ]
    assert len(access) == 1
    assert access[0]["logger"] == "gunicorn.access"
    assert access[0] | {"method": "GET", "path": "/healthz", "status": "200"} == access[0]
    assert isinstance(access[0]["duration_ms"], int)
