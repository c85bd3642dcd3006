"""The clamd client against a fake clamd on a loopback socket that speaks real INSTREAM."""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from django.core.files.base import ContentFile

from applications.scanning import (
    ClamdScanner,
    NullScanner,
    ScanError,
    ScannerUnavailable,
    ScanResult,
    get_scanner,
)

# Assembled at run time so this source file does not itself trip a virus scanner.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@dataclass
class FakeClamd:
    host: str
    port: int
    received: list[bytes] = field(default_factory=list)
    chunk_sizes: list[int] = field(default_factory=list)
    stream_max_length: int = 1024 * 1024
    silent: bool = False


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        more = sock.recv(count - len(data))
        if not more:
            raise ConnectionError("client closed mid-frame")
        data += more
    return data


def _serve_instream(sock: socket.socket, fake: FakeClamd) -> None:
    command = b""
    while not command.endswith(b"\0"):
        command += _read_exactly(sock, 1)
    if command != b"zINSTREAM\0":
        sock.sendall(b"UNKNOWN COMMAND\0")
        return
    payload = b""
    while True:
        (length,) = struct.unpack(">I", _read_exactly(sock, 4))
        if length == 0:
            break
        fake.chunk_sizes.append(length)
        payload += _read_exactly(sock, length)
        if len(payload) > fake.stream_max_length:
            sock.sendall(b"INSTREAM size limit exceeded. ERROR\0")
            # Read what the client still sends, so closing cannot reset the reply away.
            sock.settimeout(2)
            while sock.recv(65536):
                pass
            return
    fake.received.append(payload)
    if fake.silent:
        threading.Event().wait(2)  # never answer within the client's timeout
        return
    if EICAR in payload:
        sock.sendall(b"stream: Eicar-Test-Signature FOUND\0")
    else:
        sock.sendall(b"stream: OK\0")


@pytest.fixture
def clamd() -> Iterator[FakeClamd]:
    fake: FakeClamd

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            _serve_instream(self.request, fake)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    host, port = server.server_address[:2]
    fake = FakeClamd(host=host, port=port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake
    server.shutdown()
    server.server_close()


def scanner_for(fake: FakeClamd, **options: float) -> ClamdScanner:
    return ClamdScanner(host=fake.host, port=fake.port, **options)


def test_clamd_scanner_reports_a_clean_file(clamd):
    result = scanner_for(clamd).scan(ContentFile(b"%PDF-1.7 harmless", name="a.pdf"))
    assert result == ScanResult(clean=True, signature="", scanner="clamd")
    assert clamd.received == [b"%PDF-1.7 harmless"]


def test_clamd_scanner_reports_the_signature_of_an_infected_file(clamd):
    result = scanner_for(clamd).scan(ContentFile(b"prefix " + EICAR, name="a.pdf"))
    assert result == ScanResult(clean=False, signature="Eicar-Test-Signature", scanner="clamd")


def test_clamd_scanner_streams_the_file_in_length_prefixed_chunks(clamd):
    content = b"0123456789" * 100 + EICAR  # the signature straddles chunk boundaries
    result = ClamdScanner(host=clamd.host, port=clamd.port, chunk_size=64).scan(
        ContentFile(content, name="a.pdf")
    )
    assert not result.clean
    assert clamd.received == [content]
    assert max(clamd.chunk_sizes) == 64
    assert len(clamd.chunk_sizes) == -(-len(content) // 64)


def test_clamd_scanner_raises_scan_error_when_clamd_refuses_the_stream(clamd):
    clamd.stream_max_length = 100
    with pytest.raises(ScanError, match="size limit exceeded"):
        scanner_for(clamd).scan(ContentFile(b"x" * 5000, name="a.pdf"))


def test_clamd_scanner_raises_unavailable_when_nothing_listens():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ScannerUnavailable):
        ClamdScanner(host="127.0.0.1", port=port, timeout=2).scan(ContentFile(b"x", name="a"))


def test_clamd_scanner_raises_unavailable_when_clamd_does_not_answer_in_time(clamd):
    clamd.silent = True
    with pytest.raises(ScannerUnavailable):
        scanner_for(clamd, timeout=0.3).scan(ContentFile(b"x", name="a.pdf"))


def test_null_scanner_passes_everything_and_says_it_did_not_scan():
    assert NullScanner().scan(ContentFile(EICAR, name="a")) == ScanResult(
        clean=True, signature="", scanner="none"
    )


def test_get_scanner_follows_the_setting(settings):
    settings.VIRUS_SCANNER = "none"
    assert isinstance(get_scanner(), NullScanner)

    settings.VIRUS_SCANNER = "clamd"
    settings.CLAMD_HOST, settings.CLAMD_PORT = "clamav.internal", 3311
    scanner = get_scanner()
    assert isinstance(scanner, ClamdScanner)
    assert (scanner.host, scanner.port) == ("clamav.internal", 3311)
