"""Container health probe: ``python -m ops.probe [PATH]`` exits 0 when PATH (/healthz) answers 200.

The image has no curl, and a plain request to 127.0.0.1 would be refused by Django's host
check, so the probe sends a Host header taken from ALLOWED_HOSTS. Standard library only: it
runs every few seconds and must not pay for a Django start-up.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def host_header(allowed_hosts: str) -> str:
    """A host Django accepts: the first concrete ALLOWED_HOSTS entry.

    ".example.org" (any subdomain) becomes "example.org"; "*" is skipped.
    """
    for entry in allowed_hosts.split(","):
        host = entry.strip().lstrip(".")
        if host and host != "*":
            return host
    return "localhost"


def probe(url: str, *, host: str, timeout: float = 3.0) -> bool:
    request = urllib.request.Request(url, headers={"Host": host})  # noqa: S310 (URL built below from our own bind address)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main(argv: list[str]) -> int:
    path = argv[0] if argv else "/healthz"
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rpartition(":")[2]
    host = host_header(os.environ.get("ALLOWED_HOSTS", ""))
    return 0 if probe(f"http://127.0.0.1:{port}{path}", host=host) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
