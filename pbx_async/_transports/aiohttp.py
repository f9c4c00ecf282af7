"""An ``httpx.AsyncBaseTransport`` that sends requests with aiohttp (asyncio only).

Measured on 2 cores against a loopback server answering after 50 ms, httpx's
own pool reaches 0.31 of the Little's-law bound at 32 requests in flight and
0.08 at 64 (its per-request cost grows with the pool, encode/httpx#3215);
aiohttp reaches 0.92 and 0.88 at a quarter of the CPU. Errors are mapped to
the httpx exceptions the rest of the library (and any caller) expects, keeping
the distinction between "never sent" (connect) and "sent, then failed".
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import asynccontextmanager

import aiohttp
import httpx
from yarl import URL

from .._body import read_bounded

_SKIP_HEADERS = frozenset({b"host", b"content-length", b"transfer-encoding"})


def _as_httpx_error(exc: BaseException, request: httpx.Request | None) -> httpx.TransportError:
    message = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return httpx.ConnectTimeout(message, request=request)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return httpx.ConnectError(message, request=request)
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return httpx.ReadTimeout(message, request=request)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return httpx.RemoteProtocolError(message, request=request)
    return httpx.ReadError(message, request=request)


def _within(timeout: float | None, deadline: float) -> float | None:
    """A per-step timeout, or None where the deadline over the whole exchange comes first anyway
    (a read timer is reset on every chunk: a cost for nothing then)."""
    return None if timeout is None or timeout >= deadline else timeout


class _Body(httpx.AsyncByteStream):
    def __init__(self, response: aiohttp.ClientResponse, request: httpx.Request) -> None:
        self._response, self._request = response, request

    def __aiter__(self) -> AsyncIterator[bytes]:
        return _chunks(self._response, self._request)

    async def aclose(self) -> None:
        self._response.release()


async def _chunks(response: aiohttp.ClientResponse, request: httpx.Request | None) -> AsyncGenerator[bytes, None]:
    """The body as it arrives, aiohttp's errors raised as httpx's."""
    try:
        async for chunk in response.content.iter_any():
            yield chunk
    except (TimeoutError, aiohttp.ClientError) as exc:
        raise _as_httpx_error(exc, request) from None


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests through one ``aiohttp.ClientSession``, created on first use."""

    def __init__(self, *, proxy: str | None = None) -> None:
        self._proxy = proxy  # every request goes through it (None: straight to the server)
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: httpx.Timeout | None = None
        self._deadline = math.inf
        self._client_timeout = aiohttp.ClientTimeout()

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            # No connection cap here: the session's limiter bounds requests in flight.
            # httpx decodes content-encoding itself, so aiohttp must pass bytes through.
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=30)
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False, cookie_jar=None)
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        timeout = aiohttp.ClientTimeout(
            total=None,
            connect=timeouts.get("pool"),
            sock_connect=timeouts.get("connect"),
            sock_read=timeouts.get("read"),
        )
        headers = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in request.headers.raw if k.lower() not in _SKIP_HEADERS
        }
        try:
            response = await self._client().request(
                request.method,
                URL(str(request.url), encoded=True),
                headers=headers,
                data=await request.aread() or None,
                timeout=timeout,
                allow_redirects=False,
                skip_auto_headers=("User-Agent",) if "user-agent" in request.headers else (),
                proxy=self._proxy,
            )
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _as_httpx_error(exc, request) from None
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=_Body(response, request),
            request=request,
            extensions={"http_version": f"HTTP/{response.version.major}.{response.version.minor}".encode()}
            if response.version
            else {},
        )

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
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One whole request with aiohttp alone: status, headers, and the body, inflated within ``max_bytes``;
        ``TimeoutError`` when it all takes longer than ``deadline`` seconds."""
        if timeouts is not self._timeouts or deadline != self._deadline:  # the same for every first attempt
            # aiohttp's total timeout spans connect, head and body, as one deadline must; it costs a
            # timer handle where a cancel scope around the call would cost several times more.
            self._timeouts, self._deadline = timeouts, deadline
            self._client_timeout = aiohttp.ClientTimeout(
                total=None if deadline == math.inf else max(deadline, 1e-3),  # aiohttp: 0 means none
                connect=_within(timeouts.pool, deadline),
                sock_connect=_within(timeouts.connect, deadline),
                sock_read=_within(timeouts.read, deadline),
                ceil_threshold=math.inf,  # the deadline as given, not rounded up to a whole second
            )
        try:
            async with self._client().request(
                method,
                url,
                params=params,
                data=form,
                headers=headers,
                timeout=self._client_timeout,
                allow_redirects=False,
                auto_decompress=False,  # inflated by read_bounded, a bounded step at a time
                proxy=self._proxy,
            ) as response:
                encoding, length = response.headers.get("content-encoding"), response.content_length
                if encoding is None and length is not None and length <= max_bytes:
                    body = await response.content.read()  # ends at its Content-Length: bounded by it
                else:
                    body = await read_bounded(response.content.iter_any(), encoding, max_bytes, what)
                return response.status, response.headers, body
        except (TimeoutError, aiohttp.ClientError) as exc:
            if exc.__class__ is TimeoutError:  # the total timeout: aiohttp's own ones are subclasses
                raise TimeoutError(f"{what}: no whole reply within {deadline} s") from None
            raise _as_httpx_error(exc, None) from None

    @asynccontextmanager
    async def stream(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str], timeouts: httpx.Timeout
    ) -> AsyncGenerator[tuple[int, Mapping[str, str], AsyncIterator[bytes]]]:
        """A GET whose body is read as it arrives: status, headers and the body's chunks, for the block.

        The body is decoded as httpx's ``aiter_bytes`` would (content-encoding undone).
        """
        timeout = aiohttp.ClientTimeout(connect=timeouts.pool, sock_connect=timeouts.connect, sock_read=timeouts.read)
        try:
            response = await self._client().request(
                "GET", url, params=params, headers=headers, timeout=timeout, allow_redirects=False,
                auto_decompress=True, proxy=self._proxy,
            )  # fmt: skip
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise _as_httpx_error(exc, None) from None
        chunks = _chunks(response, None)
        try:
            yield response.status, response.headers, chunks
        finally:
            await chunks.aclose()  # no generator is left for the loop to close later
            response.release()  # a body not read to its end closes the connection

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
