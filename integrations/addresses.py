"""Where webhooks may go: https (in production) to hosts with public addresses only.

A webhook URL is chosen by the client, so without a check our workers would POST wherever it
points: the cloud metadata service (169.254.169.254), the database, the admin of a router on
the internal network (server-side request forgery). The host is resolved and every address it
resolves to must be a public one. This runs at registration, and again at every delivery
inside the connection itself, which connects only to an address it has just checked
(integrations/transport.py). settings.WEBHOOKS_ALLOWED_HOSTS exempts named hosts.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

from kvisa.errors import ValidationFailed


class UnsafeUrl(ValidationFailed):
    code = "webhook_url_refused"


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def _forbidden(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        # and what none of those names: shared address space (100.64.0.0/10) and the like
        or not address.is_global
    )


def webhook_url_check(url: str) -> None:
    """Refuse (UnsafeUrl, a 422) a URL our workers must not call."""
    parts = urlsplit(url)
    schemes = {"https", "http"} if settings.WEBHOOKS_ALLOW_HTTP else {"https"}
    if parts.scheme not in schemes:
        raise UnsafeUrl(_("A webhook URL must use https."))
    if parts.username or parts.password:
        raise UnsafeUrl(_("A webhook URL must not contain a user name or password."))
    host = (parts.hostname or "").lower()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeUrl(_("The webhook URL has an invalid port.")) from exc
    if not host:
        raise UnsafeUrl(_("A webhook URL needs a host."))
    if host in settings.WEBHOOKS_ALLOWED_HOSTS:
        return
    public_addresses(host, port)


def public_addresses(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, when all are public; UnsafeUrl otherwise.

    The delivery connection (integrations/transport.py) calls this at connect time and then
    connects to one of the addresses returned, so what is checked is what is connected to: a
    name that resolves to a public address for the check and to 127.0.0.1 a moment later (DNS
    rebinding) gains nothing.
    """
    try:
        resolved = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrl(
            _("The webhook host %(host)s cannot be resolved.") % {"host": host}
        ) from exc
    addresses = []
    for *_rest, sockaddr in resolved:
        # An IPv6 scope ("fe80::1%eth0") is not part of the address.
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if _forbidden(address):
            raise UnsafeUrl(
                _("The webhook host %(host)s resolves to an address that is not public.")
                % {"host": host}
            )
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise UnsafeUrl(_("The webhook host %(host)s cannot be resolved.") % {"host": host})
    return addresses
