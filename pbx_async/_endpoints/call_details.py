"""Call Details: the event timeline of one call (paged too), and of many at once.

details = await session.get_call_details(call)
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import Literal, overload

from .. import _validation as check
from .._errors import CallNotFoundError, ResponseFormatError
from .._fanout import FailedCall, FanOut, OnError
from .._pagination import read_event_pages
from .._records.calls import CallDetails, CallSummary
from .._records.events import Event
from .._session_core import Concurrency, SessionCore
from .._wire import params as wire
from .._wire import replies


class CallDetailsCalls(SessionCore):
    """``get_call_details`` and ``iter_call_details``."""

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

        summary, events = await read_event_pages(fetch, window=self._page_window)
        if summary is None:
            raise CallNotFoundError(f"Call Details: the server returned no call for UUID {call_uuid!r}")
        if summary.uuid != call_uuid:  # a server that answers for another call would file its events under it
            raise ResponseFormatError(
                f"Call Details: asked for call {call_uuid!r}, the server returned call {summary.uuid!r}"
            )
        return CallDetails(call=summary, events=events)

    async def _call_summary(self, call_uuid: str) -> CallSummary:
        """A call's summary alone: the first page of its details."""
        params = self._params(wire.call_details(call_uuid, self.utc_offset, 1))
        summary, _ = await self._http.get("Call Details", self.paths.call_details, params, replies.details_page)
        if summary is None:
            raise CallNotFoundError(f"Call Details: the server returned no call for UUID {call_uuid!r}")
        return summary

    @overload
    def iter_call_details(
        self,
        calls: Iterable[str | CallSummary] | AsyncIterable[str | CallSummary],
        *,
        concurrency: Concurrency | None = None,
        ordered: bool = False,
        on_error: Literal["raise"] = "raise",
    ) -> FanOut[str | CallSummary, CallDetails]: ...

    @overload
    def iter_call_details(
        self,
        calls: Iterable[str | CallSummary] | AsyncIterable[str | CallSummary],
        *,
        concurrency: Concurrency | None = None,
        ordered: bool = False,
        on_error: Literal["return"],
    ) -> FanOut[str | CallSummary, CallDetails | FailedCall]: ...

    def iter_call_details(
        self,
        calls: Iterable[str | CallSummary] | AsyncIterable[str | CallSummary],
        *,
        concurrency: Concurrency | None = None,
        ordered: bool = False,
        on_error: OnError = "raise",
    ) -> FanOut[str | CallSummary, CallDetails] | FanOut[str | CallSummary, CallDetails | FailedCall]:
        """Details of many calls, fetched ``concurrency`` at a time (default: ``max_concurrency``).

            async with session.iter_call_details(session.iter_calls(from_date=day)) as results:
                async for details in results:
                    print(details.call.uuid, len(details.events))

        ``calls`` is any iterable or async iterable of UUIDs or ``CallSummary``
        records. Within ``async with``, requests run in a sliding window and
        results come as they finish (in input order with ``ordered=True``); at
        most ``concurrency`` requests are in flight and as many finished results
        wait for a slow consumer, which pauses the rest. Leaving the block
        cancels what is still running. A bare ``async for`` also works: each
        step runs a sliding batch, results come in input order, and nothing
        runs between steps. With
        ``on_error="return"`` a failed call yields a ``FailedCall`` instead of
        raising. ``concurrency`` may exceed the session's ``max_concurrency``
        for this call; ``"auto"`` lets the limit find the server's (see
        ``PbxSession``).
        """
        return self._fan_out(calls, self.get_call_details, concurrency, ordered, on_error)
