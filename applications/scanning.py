"""Virus scanning of uploaded documents: clamd in production, nothing in development.

The clamd client is written by hand (the INSTREAM protocol is a few lines) so there is no
extra dependency: send ``zINSTREAM\\0``, then the file as chunks each prefixed with its length
as a 4-byte big-endian integer, then a zero length; clamd answers ``stream: OK\\0``,
``stream: <signature> FOUND\\0`` or ``<reason> ERROR\\0``.

Scanning talks to another service, so it belongs in a Celery task with retries rather than in
the upload request; ``ScannerUnavailable`` is the error worth retrying.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File


@dataclass(frozen=True, slots=True)
class ScanResult:
    clean: bool
    # Name of the detected signature when not clean, e.g. "Eicar-Test-Signature".
    signature: str
    # Which scanner judged: worth storing, since files passed by "none" were never scanned
    # and can be found and rescanned later.
    scanner: str


class ScannerUnavailable(Exception):
    """clamd could not be reached or did not answer in time: transient, retry later."""


class ScanError(Exception):
    """clamd answered with an error (e.g. the file exceeds its StreamMaxLength): retrying the
    same file will not help."""


class Scanner(Protocol):
    def scan(self, file: File) -> ScanResult: ...


class NullScanner:
    """Passes everything. The default outside production, where no clamd runs."""

    name = "none"

    def scan(self, file: File) -> ScanResult:
        return ScanResult(clean=True, signature="", scanner=self.name)


class ClamdScanner:
    name = "clamd"
    _MAX_REPLY_BYTES = 4096

    def __init__(
        self, *, host: str, port: int, timeout: float = 30.0, chunk_size: int = 64 * 1024
    ) -> None:
        self.host = host
        self.port = port
        self.timeout = timeout
        self.chunk_size = chunk_size

    def scan(self, file: File) -> ScanResult:
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as sock:
                try:
                    sock.sendall(b"zINSTREAM\0")
                    for chunk in file.chunks(self.chunk_size):
                        if chunk:  # an empty chunk would end the stream early
                            sock.sendall(struct.pack(">I", len(chunk)) + chunk)
                    sock.sendall(struct.pack(">I", 0))
                except (BrokenPipeError, ConnectionResetError):
                    pass  # clamd stops reading past StreamMaxLength; its reply says so
                reply = self._read_reply(sock)
        except OSError as exc:  # refused, reset, timed out
            raise ScannerUnavailable(f"clamd at {self.host}:{self.port}: {exc}") from exc
        return self._parse(reply)

    def _read_reply(self, sock: socket.socket) -> str:
        reply = b""
        while b"\0" not in reply and len(reply) < self._MAX_REPLY_BYTES:
            data = sock.recv(1024)
            if not data:
                break
            reply += data
        if not reply:
            raise ScannerUnavailable(f"clamd at {self.host}:{self.port} closed without a reply")
        return reply.split(b"\0", 1)[0].decode("utf-8", "replace").strip()

    def _parse(self, reply: str) -> ScanResult:
        verdict = reply.removeprefix("stream:").strip()
        if verdict == "OK":
            return ScanResult(clean=True, signature="", scanner=self.name)
        if verdict.endswith(" FOUND"):
            signature = verdict.removesuffix(" FOUND").strip()
            return ScanResult(clean=False, signature=signature, scanner=self.name)
        raise ScanError(f"clamd: {reply}")


def get_scanner() -> Scanner:
    """The scanner chosen by settings.VIRUS_SCANNER ("clamd" or "none")."""
    if settings.VIRUS_SCANNER == "clamd":
        return ClamdScanner(host=settings.CLAMD_HOST, port=settings.CLAMD_PORT)
    if settings.VIRUS_SCANNER == "none":
        return NullScanner()
    raise ImproperlyConfigured(f"unknown VIRUS_SCANNER {settings.VIRUS_SCANNER!r}")
