"""HTTP transports behind the session's ``httpx.AsyncClient``, and the choice between them.

httpx stays the interface (injectable clients, respx in tests); what moves the
bytes is picked for speed: on asyncio, aiohttp, whose connection pool costs the
same per request at 8 or 128 connections; on Trio, where aiohttp cannot run,
a lean HTTP/1.1 client on anyio for JSON requests and httpx's pools, sharded,
for the rest (see anyio_http for the figures).
"""

from __future__ import annotations

import asyncio
import math
import urllib.request
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpcore
import httpx

from .anyio_http import AnyioTransport


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...
    def items(self) -> Iterable[tuple[str, str]]: ...


@runtime_checkable
class DirectTransport(Protocol):
    """A transport that can also make a whole exchange without httpx's request and response objects.

    The session uses it for its JSON requests, where httpx's per-request
    machinery would otherwise cost more CPU than the transport itself. It
    raises httpx's exceptions, like any transport.
    """

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
    ) -> tuple[int, Headers, bytes]:
        """Raises ``TimeoutError`` when the whole exchange takes longer than ``deadline`` seconds."""
        ...


@runtime_checkable
class DirectStreams(Protocol):
    """A transport that can also stream a GET's body without httpx's request and response objects.

    Recording downloads use it: httpx's per-request work (URL parsing, cookies)
    costs more CPU than the transport's own for a small recording.
    """

    def stream(
        self, url: str, params: Mapping[str, str], headers: Mapping[str, str], timeouts: httpx.Timeout
    ) -> AbstractAsyncContextManager[tuple[int, Headers, AsyncIterator[bytes]]]:
        """Status, headers and the body's chunks (content-encoding undone), for the block."""
        ...


def default_client(
    max_concurrency: int, *, base_url: str, proxy: str | None
) -> tuple[httpx.AsyncClient, DirectTransport | None]:
    """The session's own client, and its transport's leaner path when it has one.

    ``proxy`` (else ``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY``, unless ``NO_PROXY``
    covers the host) carries every request. While a mock library such as respx
    has patched httpx, requests go through httpx's own transport, where it sees them.
    """
    proxy = proxy if proxy is not None else env_proxy(base_url)
    mocked = _mocked()
    transport: httpx.AsyncBaseTransport | None = None
    direct: DirectTransport | None = None
    if _on_asyncio() and not mocked:
        try:
            from .aiohttp import AiohttpTransport  # asyncio only: not imported on Trio
        except ImportError:  # pragma: no cover - aiohttp is a dependency, but keep working without it
            pass
        else:
            transport = direct = AiohttpTransport(proxy=proxy)
    if transport is None:
        # On Trio (or while httpx is patched): httpx's pools, sharded, with no cap on connections
        # (the session's limiter bounds requests in flight, and a call may widen it past
        # max_concurrency); JSON requests over the lean client unless a proxy or a mock must see them.
        anyio_transport = AnyioTransport(proxy=proxy, keepalive=max(max_concurrency, 64))
        transport, direct = anyio_transport, anyio_transport if proxy is None and not mocked else None
    return httpx.AsyncClient(transport=transport, follow_redirects=False, trust_env=False), direct


def env_proxy(url: str) -> str | None:
    """The proxy the standard environment variables name for ``url`` (None when NO_PROXY covers it)."""
    parts = urlsplit(url)
    if parts.hostname is None or urllib.request.proxy_bypass_environment(parts.hostname):  # type: ignore[attr-defined]
        return None
    proxies = urllib.request.getproxies_environment()
    return proxies.get(parts.scheme) or proxies.get("all") or None


# What httpx and httpcore look like unpatched: a mock library replaces these methods.
_POOL_SEND = httpcore.AsyncConnectionPool.handle_async_request
_CLIENT_ROUTE = httpx.AsyncClient._transport_for_url


def _mocked() -> bool:
    """Whether respx (or the like) has patched httpx or httpcore for this moment."""
    return (
        httpcore.AsyncConnectionPool.handle_async_request is not _POOL_SEND
        or httpx.AsyncClient._transport_for_url is not _CLIENT_ROUTE
    )


def _on_asyncio() -> bool:
    """Whether the caller runs on asyncio (Trio has no asyncio loop running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
