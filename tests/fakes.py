"""Small fake servers on loopback for tests that must read what really crossed the wire."""

from __future__ import annotations

import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO


def read_request(rfile: BinaryIO) -> tuple[bytes, bytes] | None:
    """One request off a connection: its raw head and its body; None once the client has closed it."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = rfile.readline()
        if not line:
            return None
        head += line
    length = next((int(h.split(b":")[1]) for h in head.split(b"\r\n") if h.lower().startswith(b"content-length:")), 0)
    return head, rfile.read(length)


@contextmanager
def serving(handler: type[socketserver.BaseRequestHandler], *, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """``handler`` on a threaded loopback server (TLS with ``tls``) for the block; yields its base URL."""

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address, request_queue_size = True, 256

        def get_request(self) -> tuple[Any, Any]:
            sock, address = super().get_request()
            return (tls.wrap_socket(sock, server_side=True) if tls else sock), address

    tcp = Server(("127.0.0.1", 0), handler)
    tcp.daemon_threads = True
    threading.Thread(target=tcp.serve_forever, daemon=True).start()
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{tcp.server_address[1]}/"
    finally:
        tcp.shutdown()
        tcp.server_close()


@contextmanager
def raw_server(reply: Callable[[bytes], bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """A threaded HTTP/1.1 server on loopback: records each raw request head, answers ``reply(head)``."""
    heads: list[bytes] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while (request := read_request(self.rfile)) is not None:
                heads.append(request[0])
                self.wfile.write(reply(request[0]))

    with serving(Handler) as base_url:
        yield base_url, heads


def http_reply(status: str, body: bytes = b"", **headers: str) -> bytes:
    lines = [
        f"HTTP/1.1 {status}",
        f"Content-Length: {len(body)}",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
