"""The session's transport where aiohttp cannot run (Trio): httpx's pools, sharded, and a lean HTTP/1.1
client on anyio streams for the JSON exchanges.

Measured on 2 cores against a loopback server answering after 50 ms, 64 in
flight on Trio: httpx's own transport reached 0.10 of the Little's-law bound
at 7.9 ms of CPU per request (httpcore's pool scans every connection for each
one, several times per request); httpx over 8 httpcore pools in turn 0.36 at
2.2 ms; httpcore alone over 8 pools 0.62 at 1.2 ms; this client 0.82 at
0.37 ms, as raw aiohttp on asyncio. So JSON requests go through this client,
and what needs httpx's objects (streamed downloads, a respx-patched httpx) goes
through the sharded pools.

The client speaks just what the API needs: GET and form POST, Content-Length,
chunked or read-to-close bodies, keep-alive, TLS; no proxy (with one, the
session sends everything through httpx). Failures are httpx's exceptions, with
"never sent" (connect) kept apart from "sent, then failed".
"""

from __future__ import annotations

import itertools
import math
import socket
import ssl
import time
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import anyio
import httpx
from anyio.abc import ByteStream, SocketAttribute

from .._body import read_bounded

SHARDS = 8  # httpcore pools: each scans only its own connections
IDLE_FOR = 10.0  # seconds a kept-alive connection is reused within
_HEAD_LIMIT = 64 * 1024
_CHUNK = 65536


class ReplyHeaders:
    """A reply's headers, looked up without regard to case (repeated ones joined by ", ")."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, str]) -> None:
        self._values = values

    def get(self, key: str, default: str | None = None) -> str | None:
        return self._values.get(key.lower(), default)

    def items(self) -> list[tuple[str, str]]:
        return list(self._values.items())


class _Connection:
    __slots__ = ("buffer", "reused", "stream", "used_at")

    def __init__(self, stream: ByteStream) -> None:
        self.stream, self.buffer, self.reused, self.used_at = stream, bytearray(), False, 0.0

    def alive(self) -> bool:
        """Whether an idle connection can carry another request (the server has not closed it)."""
        if time.monotonic() - self.used_at > IDLE_FOR:
            return False
        try:
            raw = self.stream.extra(SocketAttribute.raw_socket)  # noqa: S610 - anyio's, not Django's
            if isinstance(raw, socket.socket):
                raw.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            else:  # asyncio hands out a wrapper without recv: peek through the descriptor itself
                probe = socket.socket(fileno=raw.fileno())
                try:
                    probe.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
                finally:
                    probe.detach()
        except BlockingIOError:
            return True  # nothing to read: open and quiet, as an idle connection should be
        except (OSError, anyio.TypedAttributeLookupError):
            return False
        return False  # an end of stream, or bytes nobody asked for


class _Stale(Exception):
    """A reused connection failed before a byte of the reply: the server had closed it."""


class _Body:
    """The body of a reply as it arrives (a class, not an async generator: nothing to finalise if abandoned)."""

    def __init__(self, conn: _Connection, length: int | None, chunked: bool, read: float | None) -> None:
        self._conn, self._left, self._chunked, self._read = conn, length, chunked, read
        self._chunk_left = 0
        self.complete = length == 0 and not chunked

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        if self.complete:
            raise StopAsyncIteration
        conn = self._conn
        if self._chunked:
            return await self._next_chunk()
        if not conn.buffer:
            try:
                conn.buffer += await _receive(conn, self._read)
            except anyio.EndOfStream:
                if self._left is None:  # read to the end: the end is the end of the body
                    self.complete = True
                    raise StopAsyncIteration from None
                raise httpx.RemoteProtocolError("the server closed the connection in the middle of the body") from None
        data = conn.buffer if self._left is None else conn.buffer[: self._left]
        taken = bytes(data)
        del conn.buffer[: len(taken)]
        if self._left is not None:
            self._left -= len(taken)
            self.complete = self._left == 0
        return taken

    async def _next_chunk(self) -> bytes:
        conn = self._conn
        if self._chunk_left == 0:
            line = await _line(conn, self._read)
            try:
                self._chunk_left = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError("a malformed chunk size in the reply") from None
            if self._chunk_left < 0:
                raise httpx.RemoteProtocolError("a malformed chunk size in the reply")
            if self._chunk_left == 0:
                while await _line(conn, self._read):  # trailers, up to the empty line
                    pass
                self.complete = True
                raise StopAsyncIteration
        while not conn.buffer:
            conn.buffer += await _receive_in_body(conn, self._read)
        taken = bytes(conn.buffer[: self._chunk_left])
        del conn.buffer[: len(taken)]
        self._chunk_left -= len(taken)
        if self._chunk_left == 0 and await _line(conn, self._read):  # the CRLF closing the chunk
            raise httpx.RemoteProtocolError("a chunk of the reply is longer than its size")
        return taken


async def _receive(conn: _Connection, read: float | None) -> bytes:
    try:
        if read is None:
            return await conn.stream.receive(_CHUNK)
        with anyio.fail_after(read):
            return await conn.stream.receive(_CHUNK)
    except TimeoutError:
        raise httpx.ReadTimeout("no data from the server within the read timeout") from None
    except (OSError, anyio.BrokenResourceError) as exc:  # ssl.SSLError is an OSError
        raise httpx.ReadError(f"{type(exc).__name__}: {exc}") from None


async def _receive_in_body(conn: _Connection, read: float | None) -> bytes:
    try:
        return await _receive(conn, read)
    except anyio.EndOfStream:
        raise httpx.RemoteProtocolError("the server closed the connection in the middle of the body") from None


async def _line(conn: _Connection, read: float | None) -> bytes:
    while (end := conn.buffer.find(b"\r\n")) < 0:
        if len(conn.buffer) > _HEAD_LIMIT:
            raise httpx.RemoteProtocolError("a line of the reply is too long")
        conn.buffer += await _receive_in_body(conn, read)
    line = bytes(conn.buffer[:end])
    del conn.buffer[: end + 2]
    return line


def _parse_head(head: bytes) -> tuple[int, bool, ReplyHeaders]:
    """Status, whether the connection may be kept, and the headers of a reply head."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    try:
        version, status = parts[0], int(parts[1])
    except (IndexError, ValueError):
        raise httpx.RemoteProtocolError(f"not an HTTP reply: {lines[0][:60]!r}") from None
    if not version.startswith(b"HTTP/1."):
        raise httpx.RemoteProtocolError(f"not an HTTP/1 reply: {lines[0][:60]!r}")
    values: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon:
            raise httpx.RemoteProtocolError("a malformed header line in the reply")
        key, text = name.strip().lower().decode("latin-1"), value.strip().decode("latin-1")
        values[key] = f"{values[key]}, {text}" if key in values else text
    connection = values.get("connection", "").lower()
    keep = "close" not in connection if version == b"HTTP/1.1" else "keep-alive" in connection
    return status, keep, ReplyHeaders(values)


class _Origin:
    """Where a root URL (``scheme://host[:port]``) connects, and the Host header it sends."""

    __slots__ = ("host", "host_header", "key", "port", "tls")

    def __init__(self, root: str) -> None:
        parts = urlsplit(root)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise httpx.UnsupportedProtocol(f"cannot send to {parts.scheme}:// URLs")
        self.key, self.tls = root, parts.scheme == "https"
        self.host = parts.hostname
        self.port = parts.port or (443 if self.tls else 80)
        host = f"[{self.host}]" if ":" in self.host else self.host.encode("idna").decode("ascii")
        self.host_header = host if parts.port is None else f"{host}:{parts.port}"


class AnyioTransport(httpx.AsyncBaseTransport):
    """httpx requests over ``SHARDS`` httpcore pools; ``exchange`` over the lean client (no proxy)."""

    def __init__(self, *, proxy: str | None = None, keepalive: int = 64) -> None:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=max(8, keepalive // SHARDS))
        self._pools = [httpx.AsyncHTTPTransport(limits=limits, proxy=proxy) for _ in range(SHARDS)]
        self._turn = itertools.cycle(self._pools)
        self._idle: dict[str, list[_Connection]] = {}
        self._origins: dict[str, _Origin] = {}
        self._ssl: ssl.SSLContext | None = None
        self._keepalive = keepalive

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._turn).handle_async_request(request)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                await anyio.aclose_forcefully(conn.stream)
        for pool in self._pools:
            await pool.aclose()

    async def exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
        headers: Mapping[str, str],
        timeouts: httpx.Timeout,
        max_bytes: int,
        what: str,
        deadline: float = math.inf,
    ) -> tuple[int, ReplyHeaders, bytes]:
        """One whole request: status, headers, and the body, inflated within ``max_bytes``;
        ``TimeoutError`` past ``deadline`` seconds."""
        slash = url.find("/", url.find("//") + 2)
        root = url if slash < 0 else url[:slash]
        origin = self._origins.get(root)
        if origin is None:
            origin = self._origins[root] = _Origin(root)
        target = url[len(root) :] or "/"
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        body = urlencode(form).encode() if form is not None else b""
        lines = [f"{method} {target} HTTP/1.1", f"Host: {origin.host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if form is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        request = "\r\n".join(lines).encode("utf-8") + b"\r\n\r\n" + body
        with anyio.fail_after(None if deadline == math.inf else deadline):  # TimeoutError past it
            while True:
                conn = await self._connection(origin, timeouts)
                try:
                    return await self._send(conn, origin, method, request, timeouts, max_bytes, what)
                except _Stale:
                    if method != "GET":  # a POST may have arrived: not sent again here (the retry rules decide)
                        raise httpx.RemoteProtocolError("the server closed a kept-alive connection") from None

    async def _connection(self, origin: _Origin, timeouts: httpx.Timeout) -> _Connection:
        idle = self._idle.get(origin.key)
        while idle:
            conn = idle.pop()
            if conn.alive():
                conn.reused = True
                return conn
            await anyio.aclose_forcefully(conn.stream)
        try:
            with anyio.fail_after(timeouts.connect):
                if origin.tls:
                    if self._ssl is None:
                        self._ssl = httpx.create_ssl_context()  # certifi, or SSL_CERT_FILE/DIR, as httpx's transport
                    stream: ByteStream = await anyio.connect_tcp(
                        origin.host, origin.port, ssl_context=self._ssl, tls_standard_compatible=False
                    )
                else:
                    stream = await anyio.connect_tcp(origin.host, origin.port)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"no connection to {origin.key} within the connect timeout") from None
        except (OSError, anyio.BrokenResourceError) as exc:
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return _Connection(stream)

    async def _send(
        self,
        conn: _Connection,
        origin: _Origin,
        method: str,
        request: bytes,
        timeouts: httpx.Timeout,
        max_bytes: int,
        what: str,
    ) -> tuple[int, ReplyHeaders, bytes]:
        kept = False
        try:
            try:
                with anyio.fail_after(timeouts.write):
                    await conn.stream.send(request)
                status, keep, headers = await self._head(conn, timeouts.read)
            except TimeoutError:
                raise httpx.WriteTimeout("the request could not be sent within the write timeout") from None
            except (httpx.ReadError, httpx.RemoteProtocolError, anyio.BrokenResourceError, OSError) as exc:
                if conn.reused and not conn.buffer:
                    raise _Stale from None
                if isinstance(exc, httpx.TransportError):
                    raise
                raise httpx.WriteError(f"{type(exc).__name__}: {exc}") from None
            length, chunked = _framing(method, status, headers)
            body = _Body(conn, length, chunked, timeouts.read)
            content = await read_bounded(body, headers.get("content-encoding"), max_bytes, what)
            # Kept for the next request only when the body ended where its framing said.
            kept = keep and body.complete and (length is not None or chunked) and not conn.buffer
            return status, headers, content
        finally:
            pool = self._idle.setdefault(origin.key, [])
            if kept and len(pool) < self._keepalive:
                conn.used_at, conn.reused = time.monotonic(), False
                pool.append(conn)
            else:
                await anyio.aclose_forcefully(conn.stream)

    async def _head(self, conn: _Connection, read: float | None) -> tuple[int, bool, ReplyHeaders]:
        while True:
            while (end := conn.buffer.find(b"\r\n\r\n")) < 0:
                if len(conn.buffer) > _HEAD_LIMIT:
                    raise httpx.RemoteProtocolError("the reply's head is too long")
                try:
                    conn.buffer += await _receive(conn, read)
                except anyio.EndOfStream:
                    raise httpx.RemoteProtocolError("the server closed the connection without a reply") from None
            head = bytes(conn.buffer[:end])
            del conn.buffer[: end + 4]
            status, keep, headers = _parse_head(head)
            if not 100 <= status < 200:
                return status, keep, headers  # an interim 1xx reply is skipped


def _framing(method: str, status: int, headers: ReplyHeaders) -> tuple[int | None, bool]:
    """The body's length (None: to the end of the connection) and whether it is chunked."""
    if method == "HEAD" or status in (204, 304):
        return 0, False
    if "chunked" in (headers.get("transfer-encoding") or "").lower():
        return None, True
    length = headers.get("content-length")
    if length is None:
        return None, False
    if not length.strip().isdigit():
        raise httpx.RemoteProtocolError(f"the reply's Content-Length is not a length: {length[:40]!r}")
    return int(length), False
