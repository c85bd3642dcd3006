"""The HTTP session webhook deliveries go through: it connects only to checked addresses.

Checking a URL and then handing it to requests leaves a gap: requests resolves the name again,
and a hostile DNS server can answer with a public address for the check and 127.0.0.1 for the
connection (DNS rebinding). Here the check happens inside urllib3's connect step: the name is
resolved once, every address is checked (addresses.public_addresses), and the socket is opened
to one of those very addresses. TLS still verifies the certificate against the host name, and
the Host header is unchanged, so the receiver sees an ordinary request.

Proxies from the environment are ignored (trust_env off): a proxy would resolve the name
itself, out of reach of the check.
"""

from __future__ import annotations

import functools
import socket
from typing import Any, cast

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from integrations.addresses import public_addresses


class _CheckedConnect:
    """Mixed into urllib3's connections: _new_conn resolves, checks, then connects."""

    host: str
    port: int
    timeout: float | None
    source_address: tuple[str, int] | None
    socket_options: list[tuple[int, int, int | bytes]] | None

    def _new_conn(self) -> socket.socket:
        if self.host.lower() in settings.WEBHOOKS_ALLOWED_HOSTS:
            return super()._new_conn()  # type: ignore[misc]  # the operator vouches for it
        last_error: OSError | None = None
        for address in public_addresses(self.host, self.port):  # UnsafeUrl when not public
            try:
                return create_connection(
                    (str(address), self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                raise ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})"
                ) from exc
            except OSError as exc:
                last_error = exc
        raise NewConnectionError(
            cast(HTTPConnection, self), f"Failed to establish a new connection: {last_error}"
        )


class CheckedHTTPConnection(_CheckedConnect, HTTPConnection):
    pass


class CheckedHTTPSConnection(_CheckedConnect, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = CheckedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = CheckedHTTPSConnection


class CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


@functools.cache
def webhook_session() -> requests.Session:
    """One session a process (it keeps connections to receivers alive between deliveries)."""
    session = requests.Session()
    session.trust_env = False
    adapter = CheckedAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
