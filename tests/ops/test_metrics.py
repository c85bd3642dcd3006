"""/metrics: the Prometheus exposition, for METRICS_ALLOWED_IPS only."""

from __future__ import annotations

import pytest


def test_metrics_are_served_to_an_allowed_address(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert b"django_http_requests_before_middlewares_total" in response.content


def test_metrics_are_not_found_for_other_addresses(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7")

    assert response.status_code == 404
    assert b"django_http_requests" not in response.content


def test_a_forwarded_for_header_does_not_open_metrics(client, settings):
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]

    response = client.get("/metrics", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="127.0.0.1")

    assert response.status_code == 404


@pytest.mark.parametrize(
    ("remote_addr", "status"),
    [("10.20.30.40", 200), ("11.0.0.1", 404), ("fd00::5", 200), ("not-an-ip", 404)],
)
def test_metrics_allow_whole_networks(client, settings, remote_addr, status):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8", "fd00::/8"]

    assert client.get("/metrics", REMOTE_ADDR=remote_addr).status_code == status
