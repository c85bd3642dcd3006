"""Webhook URLs: https in production, and never a host that resolves into our own network."""

from __future__ import annotations

import pytest

from integrations.addresses import UnsafeUrl, webhook_url_check

PRIVATE = [
    "10.0.0.5",  # private network
    "192.168.1.20",
    "127.0.0.1",  # loopback
    "169.254.169.254",  # link-local: the cloud metadata service
    "::1",
    "fd00::7",  # unique local
    "::ffff:10.0.0.5",  # an IPv4-mapped private address
    "0.0.0.0",  # noqa: S104 (unspecified: an address to refuse, not to bind)
    "224.0.0.251",  # multicast
    "240.0.0.1",  # reserved
    "100.64.0.1",  # shared address space (carrier-grade NAT)
]


@pytest.mark.parametrize("address", PRIVATE)
def test_a_host_resolving_to_an_internal_address_is_refused(resolver, address):
    resolver.set("hooks.example.org", address)
    with pytest.raises(UnsafeUrl, match="not public"):
        webhook_url_check("https://hooks.example.org/kvisa")


def test_one_internal_address_among_public_ones_is_enough_to_refuse(resolver):
    resolver.set("hooks.example.org", "93.184.216.34", "10.0.0.5")
    with pytest.raises(UnsafeUrl):
        webhook_url_check("https://hooks.example.org/kvisa")


@pytest.mark.parametrize("url", ["https://10.0.0.5/hook", "https://[::1]:8443/hook"])
def test_a_literal_internal_address_is_refused(url):
    with pytest.raises(UnsafeUrl):
        webhook_url_check(url)


def test_a_public_host_is_accepted(resolver):
    resolver.set("hooks.example.org", "93.184.216.34", "2606:2800:220:1::248")
    webhook_url_check("https://hooks.example.org:8443/kvisa")


def test_a_host_that_does_not_resolve_is_refused(resolver):
    resolver.set("nowhere.example.org")
    with pytest.raises(UnsafeUrl, match="cannot be resolved"):
        webhook_url_check("https://nowhere.example.org/")


def test_an_allowed_host_skips_the_address_check(resolver, settings):
    resolver.set("receiver.internal", "10.1.2.3")
    settings.WEBHOOKS_ALLOWED_HOSTS = ["receiver.internal"]
    webhook_url_check("https://receiver.internal/kvisa")


def test_http_is_refused_when_not_allowed_as_in_production(resolver, settings):
    resolver.set("hooks.example.org", "93.184.216.34")
    settings.WEBHOOKS_ALLOW_HTTP = True
    webhook_url_check("http://hooks.example.org/kvisa")
    settings.WEBHOOKS_ALLOW_HTTP = False
    with pytest.raises(UnsafeUrl, match="https"):
        webhook_url_check("http://hooks.example.org/kvisa")


@pytest.mark.parametrize(
    "url",
    ["ftp://hooks.example.org/", "https://user:pw@hooks.example.org/", "https:///path"],
)
def test_other_schemes_credentials_and_missing_hosts_are_refused(url):
    with pytest.raises(UnsafeUrl):
        webhook_url_check(url)


def test_production_allows_only_https_unless_told_otherwise(tmp_path):
    import subprocess
    import sys

    from tests.ops.production_env import ROOT, production_env

    code = "from django.conf import settings; print(settings.WEBHOOKS_ALLOW_HTTP)"
    env = production_env(tmp_path / "absent.env")
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
