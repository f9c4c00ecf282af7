"""Auto-pagination: the Call Summary list (prefetch, dedupe, drift recovery) and a call's event pages.

The iterators are plain objects with ``__anext__``, not async generators: a
consumer that breaks out of ``async for`` leaves nothing suspended behind it
(an abandoned async generator is finalised later, outside its task, which
Trio reports as an error). Like ``FanOut`` they run two ways: a bare
``async for`` fetches a growing batch of pages through a sliding window inside
each step; under ``async with`` the pages after page 1 stream in through a
sliding window for the whole block.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType

import attrs

from ._concurrency import gather_ordered
from ._errors import PaginationDriftError, ResponseFormatError
from ._fanout import FanOut
from ._records.calls import CallPage, CallSummary
from ._records.events import Event

FetchPage = Callable[[int], Awaitable[CallPage]]
# page n -> (the call, page n's events, the page count, the event total)
FetchEvents = Callable[[int], Awaitable[tuple[CallSummary | None, tuple[Event, ...], int, int]]]
MAX_PASSES = 5
PAGE_SIZE = 500  # rows a page of either list holds
PAGE_BATCH_WINDOWS = 4  # a bare step holds at most this many windows of pages (memory: 500 rows each)
_SHIFTED = "Page a window that has ended, or drop strict=True to dedupe and re-read"


class PageIterator:
    """Every page of a scan, each call exactly once; ``async for page in scan``.

    Page 1 reveals ``maxPages``; later pages are fetched ``window`` at a time,
    concurrently, and come out in page order. Fetches run only inside
    ``__anext__``, so nothing is in flight while the consumer holds a page.

    The list of a window that includes "now" grows while it is paged, shifting
    rows between pages. Calls already yielded are dropped by UUID, and when a
    pass ends with fewer distinct calls than the server's latest total, pages
    are read again from page 1 (up to ``MAX_PASSES`` passes in all) until the
    missing calls are found. Call history only grows, so distinct calls equal
    to the total means none was skipped. With ``strict`` any sign of drift
    raises ``PaginationDriftError`` instead.
    """

    def __init__(self, fetch: FetchPage, *, window: int, strict: bool) -> None:
        self._fetch, self._window, self._strict = fetch, window, strict
        self._seen: set[str] = set()
        self._ready: deque[CallPage] = deque()
        self._expected: int | None = None  # page 1's total
        self._total = self._max_pages = 0
        self._next_page, self._passes, self._done = 1, 1, False
        self._prefetch: FanOut[int, CallPage] | None = None  # entered in __aenter__, exited in __aexit__
        self._prefetching = False  # first-pass pages still to come from it
        self._pages_read = 0  # a hard cap against a server that keeps finding more pages
        self._batch = window  # bare iteration: pages the next step fetches

    async def __aenter__(self) -> PageIterator:
        """Stream the pages of the first pass through a sliding window for the whole block."""
        first = await self._fetch(1)
        self._ready.append(first)
        self._next_page = first.max_pages + 1  # pages 2..max_pages come from the prefetch
        if first.max_pages > 1:
            self._prefetch = FanOut(
                range(2, first.max_pages + 1),
                self._fetch,
                width=self._window,
                ordered=True,
                on_error="raise",
                name_of=str,
            )
            await self._prefetch.__aenter__()
            self._prefetching = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            await prefetch.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> PageIterator:
        return self

    async def __anext__(self) -> CallPage:
        while True:
            while self._ready:
                page = self._accept(self._ready.popleft())
                if page is not None:
                    return page
            if self._done:
                raise StopAsyncIteration
            if self._prefetching and self._prefetch is not None:
                try:
                    fetched = await self._prefetch.__anext__()
                except StopAsyncIteration:
                    self._prefetching = False  # the end of the pass decides what else to read
                    continue
                self._ready.append(fetched)
            elif self._next_page <= max(self._max_pages, 1 if self._expected is None else 0):
                await self._fetch_window()
            else:
                self._end_pass()

    async def _fetch_window(self) -> None:
        # A re-read starts with one page: in a newest-first list, new calls sit up front.
        if self._expected is None or (self._passes > 1 and self._next_page == 1):
            size = 1
        else:  # a sliding batch that grows, as FanOut's bare steps do, so its tail drains rarely
            size, self._batch = self._batch, min(2 * self._batch, self._window * PAGE_BATCH_WINDOWS)
        numbers = list(range(self._next_page, min(max(self._max_pages, 1), self._next_page + size - 1) + 1))
        self._ready.extend(await gather_ordered(self._fetch, numbers, width=self._window))
        self._next_page = numbers[-1] + 1

    def _accept(self, page: CallPage) -> CallPage | None:
        check_page_count("Call Summary", page.page, page.max_pages, page.total, len(page.calls))
        self._pages_read += 1
        if self._expected is None:
            self._expected = page.total
        elif self._pages_read > MAX_PASSES * (pages_for(max(self._expected, page.total)) + 2):
            raise PaginationDriftError(
                f"read {self._pages_read - 1} pages for {page.total} calls and the server still reports more; "
                f"the list keeps changing, or its counts are wrong"
            )
        elif self._strict and page.total != self._expected:
            raise PaginationDriftError(
                f"the call list changed while it was paged: page 1 reported {self._expected} calls, "
                f"page {page.page} reports {page.total}. {_SHIFTED}"
            )
        self._total, self._max_pages = page.total, max(self._max_pages, page.max_pages)
        new: list[CallSummary] = []
        for call in page.calls:
            if call.uuid not in self._seen:
                self._seen.add(call.uuid)
                new.append(call)
            elif self._strict:
                raise PaginationDriftError(f"call {call.uuid} came back on page {page.page}. {_SHIFTED}")
        if self._passes > 1 and len(self._seen) >= self._total:
            self._done = True  # the re-read found what was missing
            self._ready.clear()
        first_pass = self._passes == 1
        if not new and not first_pass:
            return None
        return page if len(new) == len(page.calls) else attrs.evolve(page, calls=tuple(new))

    def _end_pass(self) -> None:
        if len(self._seen) >= self._total:
            self._done = True
        elif self._strict or self._passes >= MAX_PASSES:
            raise PaginationDriftError(
                f"after {self._passes} passes over the call list, {len(self._seen)} distinct calls were "
                f"found but the server reports {self._total}; the list keeps changing, or the server's "
                f"count is inconsistent"
            )
        else:
            self._passes, self._next_page = self._passes + 1, 1


class CallIterator:
    """The calls of a ``PageIterator``, one by one; ``async for call in scan`` (or under ``async with``)."""

    def __init__(self, pages: PageIterator) -> None:
        self._pages = pages
        self._calls: deque[CallSummary] = deque()

    async def __aenter__(self) -> CallIterator:
        await self._pages.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._pages.__aexit__(exc_type, exc, tb)

    def __aiter__(self) -> CallIterator:
        return self

    async def __anext__(self) -> CallSummary:
        while not self._calls:
            self._calls.extend((await self._pages.__anext__()).calls)
        return self._calls.popleft()


async def read_event_pages(fetch: FetchEvents, *, window: int) -> tuple[CallSummary | None, tuple[Event, ...]]:
    """A call's summary and every event of its timeline, in time order; ``fetch(n)`` reads page n.

    Page 1 gives the page count; the rest are read ``window`` at a time, sliding. An
    event seen on two pages (the timeline grew while it was read) is kept once.
    """
    summary, events, max_pages, total = await fetch(1)
    check_page_count("Call Details", 1, max_pages, total, len(events))
    if summary is None:
        return None, ()
    collected = list(events)
    next_page = 2
    while next_page <= max_pages:  # a sliding window over the pages known; more if the timeline grew
        numbers = list(range(next_page, min(max_pages, next_page + window * PAGE_BATCH_WINDOWS - 1) + 1))
        for number, (_, page_events, pages, page_total) in zip(
            numbers, await gather_ordered(fetch, numbers, width=window), strict=True
        ):
            check_page_count("Call Details", number, pages, page_total, len(page_events))
            # A timeline may grow while it is read (a live call), never by more than a page or two.
            if pages > pages_for(total) + 2:
                raise ResponseFormatError(
                    f"Call Details: page {number} reports {pages} pages where page 1 reported {max_pages}; "
                    f"the server's page counts are not to be trusted"
                )
            collected.extend(page_events)
            max_pages = max(max_pages, pages)
        next_page = numbers[-1] + 1
    unique = {event.uuid: event for event in collected}
    return summary, tuple(sorted(unique.values(), key=lambda e: e.date))


def pages_for(total: int) -> int:
    """How many pages ``total`` rows take (one, for none)."""
    return max(1, -(-total // PAGE_SIZE))


def check_page_count(what: str, page: int, max_pages: int, total: int, rows: int) -> None:
    """Refuse a page whose counts cannot be true: a server that lies about them would be paged forever."""
    if total < 0 or rows > PAGE_SIZE or not 0 <= max_pages <= pages_for(total) + 1:
        raise ResponseFormatError(
            f"{what}: page {page} reports {max_pages} pages for {total} rows ({rows} on this page), "
            f"but {PAGE_SIZE} rows fill a page; the server's paging is inconsistent"
        )
