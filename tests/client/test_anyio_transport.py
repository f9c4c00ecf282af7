"""The lean HTTP/1.1 client on anyio (the JSON path on Trio), and the width of a call on either loop."""

from __future__ import annotations

import gzip
import json
import shutil
import socketserver
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from pbx_async import NetworkError, PbxSession, RetryPolicy
from pbx_async._transports.anyio_http import AnyioTransport

from ..conftest import CONTAINER, KEY, details_reply, event_row
from ..fakes import read_request, serving

pytestmark = pytest.mark.anyio
TIMEOUT = httpx.Timeout(5.0)


class Served:
    """What the server saw: requests, connections, and the most requests it held at once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[bytes] = []
        self.connections = self.now = self.peak = self.hold = 0


@contextmanager
def server(
    answer: Callable[[bytes, bytes], bytes | None], hold: int = 0, tls: ssl.SSLContext | None = None
) -> Iterator[tuple[str, Served]]:
    """A threaded HTTP/1.1 server: ``answer(head, body)`` gives the raw reply (None: close without one).

    With ``hold``, each request waits until ``hold`` are in flight (or a second has passed), so the
    most it sees at once is what the client allows, however the threads are scheduled.
    """
    served = Served()
    served.hold = hold
    crowd = threading.Condition(served.lock)

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            with served.lock:
                served.connections += 1
            while (request := read_request(self.rfile)) is not None:
                head, body = request
                with crowd:
                    served.requests.append(head + body)
                    served.now += 1
                    served.peak = max(served.peak, served.now)
                    crowd.notify_all()
                    crowd.wait_for(lambda: served.now >= served.hold, timeout=1.0)
                    time.sleep(0.01)  # all of the crowd is counted before any leaves
                with crowd:
                    served.now -= 1
                reply = answer(head, body)
                if reply is None:
                    return
                self.wfile.write(reply)
                if b"connection: close" in reply.lower():
                    return

    with serving(Handler, tls=tls) as base_url:
        yield base_url, served


def reply(body: bytes, *headers: str, status: str = "200 OK", length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", *([f"Content-Length: {len(body)}"] if length else []), *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def chunked(body: bytes) -> bytes:
    pieces = [body[i : i + 7] for i in range(0, len(body), 7)]
    framed = b"".join(f"{len(p):x};ext=1\r\n".encode() + p + b"\r\n" for p in pieces) + b"0\r\nTrailer: x\r\n\r\n"
    return reply(framed, "Transfer-Encoding: chunked", length=False)


async def exchange(transport: AnyioTransport, url: str, **options: Any) -> tuple[int, Any, bytes]:
    method = options.pop("method", "GET")
    return await transport.exchange(
        method, url, options.get("params"), options.get("form"), {"User-Agent": "t"}, TIMEOUT, 10**6, "test"
    )


async def test_a_call_may_run_wider_than_the_session_on_either_loop() -> None:
    body = json.dumps(details_reply("c1", [event_row("e1", 1, "2026-11-02 09:15:03")])).encode()

    def answer(head: bytes, _: bytes) -> bytes:  # details of the call asked for: another call's are refused
        asked = head.split(b"callUUID=")[1].split(b"&")[0].split(b" ")[0]
        return reply(body.replace(b'"c1"', b'"' + asked + b'"'))

    with server(answer, hold=12) as (base_url, served):
        async with PbxSession(KEY, CONTAINER, base_url=base_url, max_concurrency=2) as session:
            async with session.iter_call_details([f"c{i}" for i in range(36)], concurrency=12) as results:
                assert len([d async for d in results]) == 36
            assert served.peak == 12  # the call's width, past the session's 2
            served.peak, served.hold = 0, 2
            async with session.iter_call_details([f"c{i}" for i in range(6)]) as results:
                assert len([d async for d in results]) == 6
            assert served.peak == 2  # and back to the session's own


async def test_the_lean_client_reads_every_framing_and_keeps_its_connection() -> None:
    text = b'{"a": "' + b"x" * 100 + b'"}'
    replies = {
        b"/length": reply(text),
        b"/chunked": chunked(text),
        b"/gzip": reply(gzip.compress(text), "Content-Encoding: gzip"),
        b"/interim": b"HTTP/1.1 100 Continue\r\n\r\n" + reply(text),
        b"/empty": reply(b"", status="204 No Content"),
    }

    def answer(head: bytes, _: bytes) -> bytes | None:
        return replies[head.split(b" ")[1].split(b"?")[0]]

    transport = AnyioTransport()
    with server(answer) as (base_url, served):
        for path in ("length", "chunked", "gzip", "interim", "length"):
            status, _, content = await exchange(transport, base_url + path, params={"k": "a b&c"})
            assert (status, content) == (200, text)
        assert (await exchange(transport, base_url + "empty"))[::2] == (204, b"")
        assert served.connections == 1  # one connection, kept alive throughout
        assert served.requests[0].startswith(b"GET /length?k=a+b%26c HTTP/1.1\r\n")
        assert b"\r\nHost: 127.0.0.1:" in served.requests[0]
    await transport.aclose()


async def test_a_body_read_to_the_close_and_a_closed_idle_connection() -> None:
    text = b'{"read": "to the end"}'
    calls = {"n": 0}

    def answer(head: bytes, _: bytes) -> bytes | None:
        calls["n"] += 1
        if b"/close" in head:
            return reply(text, "Connection: close", length=False)
        return reply(text, "Connection: close")  # answers, then closes: the idle connection goes stale

    transport = AnyioTransport()
    with server(answer) as (base_url, served):
        assert (await exchange(transport, base_url + "close"))[2] == text
        for _ in range(3):
            assert (await exchange(transport, base_url + "again"))[2] == text
        assert served.connections == 4  # nothing sent on a connection the server had closed
    await transport.aclose()


async def test_a_form_post_is_sent_whole() -> None:
    with server(lambda head, body: reply(body)) as (base_url, served):
        transport = AnyioTransport()
        _, _, content = await exchange(transport, base_url + "notes", method="POST", form={"n": "é & +"})
        await transport.aclose()
    assert content == b"n=%C3%A9+%26+%2B"
    assert b"Content-Type: application/x-www-form-urlencoded" in served.requests[0]


@pytest.mark.parametrize(
    "bad",
    [b"garbage\r\n\r\n", reply(b"{}").replace(b"Content-Length: 2", b"Content-Length: x"), None],
    ids=["not-http", "bad-length", "no-reply"],
)
async def test_a_broken_reply_is_an_httpx_protocol_error(bad: bytes | None) -> None:
    transport = AnyioTransport()
    with server(lambda head, _: bad) as (base_url, served):
        with pytest.raises(httpx.RemoteProtocolError):
            await exchange(transport, base_url + "x")
    await transport.aclose()
    assert len(served.requests) == 1  # a fresh connection that failed is not tried again here


async def test_a_refused_connection_is_never_sent() -> None:
    transport = AnyioTransport()
    with pytest.raises(httpx.ConnectError):
        await exchange(transport, "http://127.0.0.1:1/x")
    await transport.aclose()


async def test_session_errors_on_either_loop_are_network_errors() -> None:
    with server(lambda head, _: b"garbage\r\n\r\n") as (base_url, served):
        policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01)
        async with PbxSession(KEY, CONTAINER, base_url=base_url, retry=policy) as session:
            with pytest.raises(NetworkError):
                await session.get_call_details("c1")
    assert len(served.requests) >= 2  # retried


@contextmanager
def trickling_server() -> Iterator[tuple[str, list[float]]]:
    """Announces a 1,000-byte reply, then sends a byte every 50 ms: each read is quick, the whole never is."""
    started: list[float] = []

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            while self.rfile.readline() not in (b"\r\n", b""):
                pass
            started.append(time.monotonic())
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
                for _ in range(200):
                    time.sleep(0.05)
                    self.wfile.write(b" ")
            except OSError:  # the client gave up: what the test wants
                return

    with serving(Handler) as base_url:
        yield base_url, started


async def test_a_trickling_reply_ends_within_timeout_times_attempts_on_either_loop() -> None:
    # The session's own transports keep the one deadline over a whole exchange (aiohttp's total
    # timeout on asyncio, a cancel scope on Trio): per-read timeouts alone would wait ten seconds.
    with trickling_server() as (base_url, started):
        policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01)
        async with PbxSession(KEY, CONTAINER, base_url=base_url, timeout=0.5, retry=policy) as session:
            begun = time.monotonic()
            with pytest.raises(NetworkError, match=r"no complete reply within 0\.5 s"):
                await session.get_call_details("c1")
            took = time.monotonic() - begun
    assert len(started) == 2  # tried again once, as the policy allows
    assert took < 2 * 0.5 + 1.0  # two attempts of half a second each, plus a generous margin
    assert started[1] - started[0] >= 0.45  # the first attempt ran to its deadline, no further than needed


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 (made with the openssl command) and its key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command")
    try:
        subprocess.run(
            [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
             "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
            check=True, capture_output=True,
        )  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("the openssl command could not make a certificate")
    return cert, key


async def test_tls_is_verified_and_spoken(certificate: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    cert, key = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    with server(lambda head, _: reply(b'{"tls": 1}'), tls=context) as (base_url, served):
        untrusting = AnyioTransport()
        with pytest.raises(httpx.ConnectError):  # an unknown issuer is refused, before anything is sent
            await exchange(untrusting, base_url + "x")
        await untrusting.aclose()
        assert not served.requests
        monkeypatch.setenv("SSL_CERT_FILE", cert)  # as httpx's own transport, the environment may name a CA
        transport = AnyioTransport()
        for _ in range(2):
            assert (await exchange(transport, base_url + "x"))[::2] == (200, b'{"tls": 1}')
        await transport.aclose()
    assert (len(served.requests), served.connections) == (2, 1)  # one TLS connection, kept alive
