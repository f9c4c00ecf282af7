"""``PbxSession``: the async client for the PBX call-history API."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar, Unpack

import httpx

from . import _config as config
from . import _validation as check
from ._concurrency import Limiter
from ._config import DEFAULT_BASE_URL, ApiPaths, settings_from_env
from ._download import check_download, download, recording_ref
from ._errors import CallNotFoundError, ValidationError
from ._fanout import SKIPPED, FanOut, OnError, Skipped
from ._http import Requester
from ._pagination import CallIterator, PageIterator, read_event_pages
from ._query import CallFilters, CallQuery, build_query
from ._records.calls import CallDetails, CallPage, CallSummary
from ._records.events import Event
from ._records.recordings import RecordingFile, RecordingRef
from ._redact import Secret, install_log_filter
from ._retry import RetryPolicy
from ._transports import default_client
from ._wire import params as wire
from ._wire import replies

DateLike = date | datetime
StrPath = str | os.PathLike[str]
K = TypeVar("K", bound="str | CallSummary | RecordingRef")
R = TypeVar("R")


class PbxSession:
    """An open connection to one container of the PBX.

        async with PbxSession(os.environ["PBX_AUTH"], "123456") as session:
            async for call in session.iter_calls(from_date=date(2026, 11, 2)):
                print(call.uuid, call.direction.name, call.duration)

    ``max_concurrency`` bounds the requests in flight across everything the
    session does (page prefetch, details, downloads). A JSON reply over
    ``max_reply_bytes`` (on the wire or inflated) raises ``ResponseTooLargeError``;
    each attempt must complete within ``timeout`` seconds, whole. ``http_client`` takes your
    own ``httpx.AsyncClient`` (a custom transport, proxies, respx in tests);
    the session uses it as given and leaves closing it to you.
    """

    def __init__(
        self,
        auth: str,
        container_id: str | int,
        *,
        tenant_id: int = 0,
        base_url: str = DEFAULT_BASE_URL,
        utc_offset: int = 0,
        timeout: float | httpx.Timeout = 30.0,
        max_concurrency: int = 8,
        max_reply_bytes: int = config.MAX_REPLY_BYTES,
        retry: RetryPolicy | None = None,
        paths: ApiPaths | None = None,
        http_client: httpx.AsyncClient | None = None,
        proxy: str | None = None,
        user_agent: str | None = None,
    ) -> None:
        if not isinstance(auth, str) or not auth.strip():
            raise ValidationError("auth must be the API key (a non-empty string); see PBX_AUTH")
        self._auth = Secret(auth)
        self.container_id = check.container_id(container_id)
        self.tenant_id = check.tenant_id(tenant_id)
        self.base_url = check.base_url(base_url)
        self.utc_offset = check.utc_offset(utc_offset)
        self.max_concurrency = check.positive_int("max_concurrency", max_concurrency, maximum=config.MAX_CONCURRENCY)
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

    async def __aenter__(self) -> Self:
        if self._requester is not None:
            raise RuntimeError("this PbxSession is already open")
        install_log_filter()
        client, direct = self._given_client, None
        if client is None:
            client, direct = default_client(self.max_concurrency, base_url=self.base_url, proxy=self._proxy)
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
        )
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client the session made (never one passed in as ``http_client``)."""
        self._requester = None
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()

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

    def _scan(
        self,
        from_date: DateLike | None,
        to_date: DateLike | None,
        utc_offset: int | None,
        strict: bool,
        filters: Mapping[str, Any],
    ) -> PageIterator:
        # Checked here, when the iterator is made, so bad input fails at the call site.
        offset = self.utc_offset if utc_offset is None else utc_offset
        query = build_query(from_date=from_date, to_date=to_date, utc_offset=offset, filters=filters)
        check.flag("strict", strict)
        self._http  # noqa: B018 - a closed session fails now too
        return PageIterator(lambda page: self._call_page(query, page), window=self.max_concurrency, strict=strict)

    async def _call_page(self, query: CallQuery, page: int) -> CallPage:
        params = self._params(wire.call_list(query, page))
        return await self._http.get("Call Summary", self.paths.call_list, params, replies.call_page)

    # -- Call Summary --------------------------------------------------------------------------

    def iter_call_pages(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        utc_offset: int | None = None,
        strict: bool = False,
        **filters: Unpack[CallFilters],
    ) -> PageIterator:
        """Page through the Call Summary list, 500 calls a page.

            async for page in session.iter_call_pages(from_date=date(2026, 11, 1)):
                print(page.page, "/", page.max_pages, len(page.calls))

        ``from_date``/``to_date`` take a ``date`` (the whole day) or a
        ``datetime``: an aware one is converted to the request's offset, a
        naive one is taken as already in it. Without dates the server lists
        "today". ``utc_offset`` (minutes) defaults to the session's; the
        records' dates come back in it. Filters are keywords of
        ``CallFilters``. Each call is yielded once even when the list shifts
        while it is paged; ``strict=True`` raises ``PaginationDriftError`` on
        any shift instead. Arguments are checked here, before any request.
        """
        return self._scan(from_date, to_date, utc_offset, strict, filters)

    def iter_calls(
        self,
        *,
        from_date: DateLike | None = None,
        to_date: DateLike | None = None,
        utc_offset: int | None = None,
        strict: bool = False,
        **filters: Unpack[CallFilters],
    ) -> CallIterator:
        """Every call matching the query, as ``CallSummary`` records (see ``iter_call_pages``).

        async for call in session.iter_calls(from_date=date(2026, 11, 2), show_internal=False):
            print(call.date, call.cid_num, "->", call.num_dialed)
        """
        return CallIterator(self._scan(from_date, to_date, utc_offset, strict, filters))

    # -- Call Details ----------------------------------------------------------------------------

    async def get_call_details(self, call: str | CallSummary, *, utc_offset: int | None = None) -> CallDetails:
        """The call's summary and every event of its timeline, in time order.

        details = await session.get_call_details("3f1c…")   # or a CallSummary
        """
        call_uuid = check.call_uuid(call)
        offset = check.utc_offset(self.utc_offset if utc_offset is None else utc_offset)
        path = self.paths.call_details

        async def fetch(page: int) -> tuple[CallSummary | None, tuple[Event, ...], int, int]:
            params = self._params(wire.call_details(call_uuid, offset, page))
            summary, events = await self._http.get("Call Details", path, params, replies.details_page)
            return summary, events.events, events.max_pages, events.total

        summary, events = await read_event_pages(fetch, window=self.max_concurrency)
        if summary is None:
            raise CallNotFoundError(f"Call Details: the server returned no call for UUID {call_uuid!r}")
        return CallDetails(call=summary, events=events)

    async def _call_summary(self, call_uuid: str) -> CallSummary:
        """A call's summary alone: the first page of its details."""
        params = self._params(wire.call_details(call_uuid, self.utc_offset, 1))
        summary, _ = await self._http.get("Call Details", self.paths.call_details, params, replies.details_page)
        if summary is None:
            raise CallNotFoundError(f"Call Details: the server returned no call for UUID {call_uuid!r}")
        return summary

    def iter_call_details(
        self,
        calls: Iterable[str | CallSummary] | AsyncIterable[str | CallSummary],
        *,
        concurrency: int | None = None,
        ordered: bool = False,
        on_error: OnError = "raise",
    ) -> FanOut[str | CallSummary, CallDetails]:
        """Details of many calls, fetched ``concurrency`` at a time (default: ``max_concurrency``).

            async with session.iter_call_details(session.iter_calls(from_date=day)) as results:
                async for details in results:
                    print(details.call.uuid, len(details.events))

        ``calls`` is any iterable or async iterable of UUIDs or ``CallSummary``
        records. Within ``async with``, requests run in a sliding window and
        results come as they finish (in input order with ``ordered=True``); at
        most ``concurrency`` requests are in flight and as many finished results
        wait for a slow consumer, which pauses the rest. Leaving the block
        cancels what is still running. A bare ``async for`` also works, one
        window at a time, with nothing running between steps. With
        ``on_error="return"`` a failed call yields a ``FailedCall`` instead of
        raising. ``concurrency`` may exceed the session's ``max_concurrency``
        for this call.
        """
        return self._fan_out(calls, self.get_call_details, concurrency, ordered, on_error)

    def _fan_out(
        self,
        calls: Iterable[K] | AsyncIterable[K],
        work: Callable[[K], Awaitable[R | Skipped]],
        concurrency: int | None,
        ordered: bool,
        on_error: OnError,
    ) -> FanOut[K, R]:
        return FanOut(
            calls,
            work,
            width=check.fan_out(concurrency, ordered, on_error, default=self.max_concurrency),
            ordered=ordered,
            on_error=on_error,
            name_of=_name_of,
            widen=lambda w: self._http.limiter.widen(w),
        )

    # -- Recordings ------------------------------------------------------------------------------

    async def download_recording(
        self,
        call: str | CallSummary | RecordingRef,
        dest: StrPath,
        *,
        overwrite: bool = False,
        max_bytes: int = config.MAX_RECORDING_BYTES,
    ) -> RecordingFile:
        """Download a call's recording into the folder ``dest``; returns its path, size and SHA-256.

            rec = await session.download_recording(call, "recordings/")

        ``call`` is a ``CallSummary``, a call UUID (its summary is read first, one
        request) or a ``RecordingRef`` (a file name the server gave). The body
        streams to ``dest/.NAME.part`` and is renamed into place only when its
        length matches ``Content-Length``; a dropped connection resumes with an
        HTTP Range request (or starts over where the server ignores Range), and
        so does a rerun after a crash. A complete file already there is not
        fetched again unless ``overwrite``. The local name comes from the
        server's file name made safe: it never leaves ``dest``. Bodies over
        ``max_bytes`` are refused. A call without a recording raises
        ``ValidationError``.
        """
        check_download(call, overwrite, max_bytes)
        ref = await recording_ref(call, self._call_summary)
        if ref is None:
            raise ValidationError(f"call {_name_of(call)} has no recording (recorded=False or no recordingUrl)")
        return await self._download(ref, dest, overwrite, max_bytes)

    async def _download(self, ref: RecordingRef, dest: StrPath, overwrite: bool, max_bytes: int) -> RecordingFile:
        params = self._params(wire.recording(ref.file_name))
        return await download(self._http, self.paths.recording, params, ref, Path(dest), overwrite, max_bytes)

    def download_recordings(
        self,
        calls: Iterable[str | CallSummary | RecordingRef] | AsyncIterable[str | CallSummary | RecordingRef],
        dest_dir: StrPath,
        *,
        concurrency: int | None = None,
        ordered: bool = False,
        on_error: OnError = "return",
        overwrite: bool = False,
    ) -> FanOut[str | CallSummary | RecordingRef, RecordingFile]:
        """Download many recordings into ``dest_dir``, ``concurrency`` at a time.

            async with session.download_recordings(session.iter_calls(from_date=day), "recs/") as downloads:
                async for item in downloads:
                    print(item)
            print(downloads.skipped, "calls had no recording")

        Items are what ``download_recording`` takes: ``CallSummary`` records,
        call UUIDs or ``RecordingRef``. Same discipline as ``iter_call_details``;
        results are ``RecordingFile`` (or ``FailedCall``, the default
        ``on_error`` here). Calls without a recording are skipped and counted in
        ``skipped``.
        """
        check.flag("overwrite", overwrite)
        Path(os.fspath(dest_dir))  # a bad path type fails here, at the call site

        async def fetch(call: str | CallSummary | RecordingRef) -> RecordingFile | Skipped:
            check_download(call, overwrite, config.MAX_RECORDING_BYTES)
            ref = await recording_ref(call, self._call_summary)
            if ref is None:
                return SKIPPED
            return await self._download(ref, dest_dir, overwrite, config.MAX_RECORDING_BYTES)

        return self._fan_out(calls, fetch, concurrency, ordered, on_error)

    # -- Notes -----------------------------------------------------------------------------------

    async def set_call_notes(
        self,
        call: str | CallSummary,
        *,
        notes: str | None = None,
        flagged: bool | None = None,
        severity: int | None = None,
    ) -> None:
        """Attach notes, a follow-up flag and/or a severity (0-5) to a call.

            await session.set_call_notes(call, notes="Called back", flagged=False, severity=2)

        Only the fields given are sent. Notes over 255 characters and a
        severity outside 0..5 are refused before any request.
        """
        notes, flagged, severity = check.note_fields(notes, flagged, severity)
        form = self._params(wire.call_notes(check.call_uuid(call), notes=notes, flagged=flagged, severity=severity))
        await self._http.post_form("Call Notes", self.paths.call_notes, form, replies.notes_reply)


def _name_of(call: str | CallSummary | RecordingRef) -> str:
    if isinstance(call, CallSummary):
        return call.uuid
    return call.call_uuid if isinstance(call, RecordingRef) else str(call)
