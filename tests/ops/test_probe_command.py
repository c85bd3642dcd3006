"""ops.probe, the container healthcheck command."""

from __future__ import annotations

import pytest

from ops.probe import host_header, probe


@pytest.mark.parametrize(
    ("allowed_hosts", "expected"),
    [
        ("kvisa.example.org,www.kvisa.example.org", "kvisa.example.org"),
        (" .kvisa.example.org ", "kvisa.example.org"),
        ("*,kvisa.example.org", "kvisa.example.org"),
        ("*", "localhost"),
        ("", "localhost"),
    ],
)
def test_the_probe_sends_a_host_django_accepts(allowed_hosts, expected):
    assert host_header(allowed_hosts) == expected


def test_the_probe_passes_on_a_healthy_server_and_fails_on_a_rejected_host(live_server, settings):
    settings.ALLOWED_HOSTS = ["kvisa.example.org"]

    assert probe(f"{live_server.url}/healthz", host="kvisa.example.org") is True
    assert probe(f"{live_server.url}/healthz", host="other.example.org") is False


def test_the_probe_fails_when_nothing_listens():
    assert probe("http://127.0.0.1:1/healthz", host="localhost", timeout=1) is False
