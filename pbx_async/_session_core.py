"""What every part of a session shares: its checked settings, its lifetime, its HTTP requester.

``PbxSession`` (``_session.py``) is this core plus one mixin per endpoint
(``_endpoints/``); the mixins reach the API only through ``_http`` and ``_params``.

    class PbxSession(CallSummaryCalls, RecordingCalls, NotesCalls): ...
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import date, datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

import anyio
import httpx

from . import _config as config
from . import _validation as check
from ._adaptive import MAXIMUM as AUTO_MAXIMUM
from ._adaptive import ConcurrencyStats
from ._concurrency import Limiter
from ._config import DEFAULT_BASE_URL, ApiPaths, settings_from_env
from ._errors import ValidationError
from ._exchange import Hooks
from ._fanout import FanOut, OnError, Skipped
from ._http import Requester
from ._records.calls import CallSummary
from ._records.recordings import RecordingRef
from ._redact import Secret, install_log_filter
from ._retry import RetryPolicy
from ._transports import default_client
from ._wire import params as wire

DateLike = date | datetime
Concurrency = int | Literal["auto"]  # requests in flight, or "auto": the limit finds the server's
StrPath = str | os.PathLike[str]
K = TypeVar("K", bound="str | CallSummary | RecordingRef")
R = TypeVar("R")


class SessionCore:
    """Settings, lifetime and requester of a ``PbxSession`` (see its docstring for the arguments)."""

    def __init__(
        self,
        auth: str,
        container_id: str | int,
        *,
        tenant_id: int = 0,
        base_url: str = DEFAULT_BASE_URL,
        utc_offset: int = 0,
        timeout: float | httpx.Timeout = 30.0,
        max_concurrency: Concurrency = 8,
        max_reply_bytes: int = config.MAX_REPLY_BYTES,
        retry: RetryPolicy | None = None,
        paths: ApiPaths | None = None,
        http_client: httpx.AsyncClient | None = None,
        proxy: str | None = None,
        user_agent: str | None = None,
        hooks: Hooks | None = None,
    ) -> None:
        if not isinstance(auth, str) or not auth.strip():
            raise ValidationError("auth must be the API key (a non-empty string); see PBX_AUTH")
        self._auth = Secret(auth)
        self.container_id = check.container_id(container_id)
        self.tenant_id = check.tenant_id(tenant_id)
        self.base_url = check.base_url(base_url)
        self.utc_offset = check.utc_offset(utc_offset)
        self.max_concurrency: Concurrency = check.concurrency(
            "max_concurrency", max_concurrency, maximum=config.MAX_CONCURRENCY
        )
        self.max_reply_bytes = check.positive_int("max_reply_bytes", max_reply_bytes, maximum=2**40)
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(check.positive_number("timeout", timeout))
        self._timeout = timeout
        self.retry = retry if retry is not None else RetryPolicy()
        self.paths = paths if paths is not None else ApiPaths()
        if not isinstance(self.retry, RetryPolicy) or not isinstance(self.paths, ApiPaths):
            raise ValidationError("retry must be a RetryPolicy and paths an ApiPaths")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ValidationError("http_client must be an httpx.AsyncClient")
        self._given_client = http_client
        self._proxy = None if proxy is None else check.proxy_url(proxy)
        self.user_agent = None if user_agent is None else check.text("user_agent", user_agent, max_length=500)
        if hooks is not None and not isinstance(hooks, Hooks):
            raise ValidationError("hooks must be a pbx_async.Hooks")
        self.hooks = hooks or Hooks()
        self._view_of: SessionCore | None = None  # set on a with_options() view
        self._client: httpx.AsyncClient | None = None
        self._requester: Requester | None = None
        self._retries: Counter[str] = Counter()

    @classmethod
    def from_env(cls, **overrides: Any) -> Self:
        """A session configured from ``PBX_AUTH``, ``PBX_CONTAINER_ID``, ``PBX_TENANT_ID``, ``PBX_BASE_URL``.

        async with PbxSession.from_env(max_concurrency=16) as session: ...

        Values are stripped of surrounding white space. Any keyword (``auth``
        and ``container_id`` included) overrides the environment.
        """
        auth, container_id, settings = settings_from_env(overrides)
        return cls(auth, container_id, **settings)

    def __repr__(self) -> str:
        return (
            f"PbxSession(auth='***', container_id={self.container_id!r}, tenant_id={self.tenant_id}, "
            f"base_url={self.base_url!r})"
        )

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | None = None,
        retry: RetryPolicy | None = None,
        hooks: Hooks | None = None,
    ) -> Self:
        """A view of this open session with another timeout, retry policy or hooks, for one call or block.

            details = await session.with_options(timeout=5, retry=RetryPolicy(max_attempts=2)).get_call_details(uuid)

        The view shares the session's connections, concurrency limit and retry
        counts; closing it (or leaving ``async with`` on it) leaves the session open.
        """
        if timeout is not None and not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(check.positive_number("timeout", timeout))
        if (retry is not None and not isinstance(retry, RetryPolicy)) or (
            hooks is not None and not isinstance(hooks, Hooks)
        ):
            raise ValidationError("retry must be a RetryPolicy and hooks a Hooks")
        view = copy.copy(self)
        view._requester = self._http.with_options(timeout=timeout, retry=retry, hooks=hooks)
        view._view_of, view._client = self, None
        view._timeout = timeout or self._timeout
        view.retry, view.hooks = retry or self.retry, hooks or self.hooks
        return view

    async def __aenter__(self) -> Self:
        if self._view_of is not None:
            return self  # a view of an open session: nothing to open
        if self._requester is not None:
            raise RuntimeError("this PbxSession is already open")
        install_log_filter()
        client, direct = self._given_client, None
        if client is None:
            client, direct = default_client(self._width, base_url=self.base_url, proxy=self._proxy)
            self._client = client
        self._requester = Requester(
            client,
            base_url=self.base_url,
            secret=self._auth,
            retry=self.retry,
            timeout=self._timeout,
            limiter=Limiter(self.max_concurrency),
            direct=direct,
            retries=self._retries,
            max_reply_bytes=self.max_reply_bytes,
            user_agent=self.user_agent or "",
            hooks=self.hooks,
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client the session made (never one passed in as ``http_client``, nor a view's)."""
        if self._view_of is not None:
            return
        self._requester = None
        client, self._client = self._client, None
        if client is not None:
            # The close must finish even when the block is left by cancellation, or sockets leak.
            with anyio.CancelScope(shield=True):
                await client.aclose()

    def concurrency_stats(self) -> ConcurrencyStats:
        """The session's limit on requests in flight now, how it moved, and the throttling it met.

            stats = session.concurrency_stats()
            print(stats.limit, stats.throttled, stats.history[-3:])

        Under ``max_concurrency="auto"`` (or a call's ``concurrency="auto"``)
        the limit starts at a few requests and finds the server's: it rises
        while throughput rises and latency holds, falls when latency rises or
        the server answers 429 or 503, and one ``Retry-After`` pauses every
        sender of the session at once. ``history`` records each change.
        """
        return self._http.limiter.stats()

    @property
    def retry_counts(self) -> dict[str, int]:
        """Retries this session has made so far, by cause (``"HTTP 503"``, ``"network: ReadTimeout"``, ...)."""
        return dict(self._retries)

    # -- internals -------------------------------------------------------------------------------

    @property
    def _http(self) -> Requester:
        if self._requester is None:
            raise RuntimeError("open the session first: `async with PbxSession(...) as session:`")
        return self._requester

    def _params(self, endpoint_params: Mapping[str, str]) -> dict[str, str]:
        return {**wire.account(self._auth.reveal(), self.container_id, self.tenant_id), **endpoint_params}

    @property
    def _width(self) -> int:
        """Requests the session may run at once: its limit, or the most an adaptive one rises to."""
        return AUTO_MAXIMUM if self.max_concurrency == "auto" else self.max_concurrency

    @property
    def _page_window(self) -> int:
        # Pages wait in memory (500 rows each) until taken: an adaptive limit reads at most 32 ahead.
        return min(32, AUTO_MAXIMUM) if self.max_concurrency == "auto" else self.max_concurrency

    def _fan_out(
        self,
        calls: Iterable[K] | AsyncIterable[K],
        work: Callable[[K], Awaitable[R | Skipped]],
        concurrency: Concurrency | None,
        ordered: bool,
        on_error: OnError,
    ) -> FanOut[K, R]:
        limit = check.fan_out(concurrency, ordered, on_error, default=self.max_concurrency)
        return FanOut(
            calls,
            work,
            width=AUTO_MAXIMUM if limit == "auto" else limit,  # workers; the limiter bounds what they send
            ordered=ordered,
            on_error=on_error,
            name_of=name_of,
            widen=lambda _: self._http.limiter.widen(limit),
        )


def name_of(call: str | CallSummary | RecordingRef) -> str:
    """The call UUID an item of a fan-out stands for."""
    if isinstance(call, CallSummary):
        return call.uuid
    return call.call_uuid if isinstance(call, RecordingRef) else str(call)
