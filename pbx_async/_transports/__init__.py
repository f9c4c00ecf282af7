"""HTTP transports behind the session's ``httpx.AsyncClient``, and the choice between them.

httpx stays the interface (injectable clients, respx in tests); what moves the
bytes is picked for speed: on asyncio, aiohttp, whose connection pool costs the
same per request at 8 or 128 connections; on Trio, where aiohttp cannot run,
httpx's own transport.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

import httpx


class Headers(Protocol):
    def get(self, key: str, /) -> str | None: ...


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
        timeouts: httpx.Timeout,
        max_bytes: int,
        what: str,
    ) -> tuple[int, Headers, bytes]: ...


def default_client(max_concurrency: int) -> tuple[httpx.AsyncClient, DirectTransport | None]:
    """The session's own client, and its transport's leaner path when it has one."""
    transport = default_transport(max_concurrency)
    client = httpx.AsyncClient(transport=transport, follow_redirects=False)
    return client, transport if isinstance(transport, DirectTransport) else None


def default_transport(max_concurrency: int) -> httpx.AsyncBaseTransport:
    """The fastest transport that runs under the current async library."""
    if _on_asyncio():
        try:
            from .aiohttp import AiohttpTransport
        except ImportError:  # pragma: no cover - aiohttp is a dependency, but keep working without it
            pass
        else:
            return AiohttpTransport()
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
    )


def _on_asyncio() -> bool:
    """Whether the caller runs on asyncio (Trio has no asyncio loop running)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
