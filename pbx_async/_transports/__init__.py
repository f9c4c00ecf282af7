"""HTTP transports behind the session's ``httpx.AsyncClient``, and the choice between them.

httpx stays the interface (injectable clients, respx in tests); what moves the
bytes is picked for speed: on asyncio, aiohttp, whose connection pool costs the
same per request at 8 or 128 connections; on Trio, where aiohttp cannot run,
httpx's own transport.
"""

from __future__ import annotations

import httpx
import sniffio


def default_transport(max_concurrency: int) -> httpx.AsyncBaseTransport:
    """The fastest transport that runs under the current async library."""
    if sniffio.current_async_library() == "asyncio":
        try:
            from .aiohttp import AiohttpTransport
        except ImportError:  # pragma: no cover - aiohttp is a dependency, but keep working without it
            pass
        else:
            return AiohttpTransport()
    return httpx.AsyncHTTPTransport(
        limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency)
    )
