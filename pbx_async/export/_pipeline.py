"""The streaming pipeline: one run of an export, a sync or a shard, with its stages overlapped.

    failures = await run_windows(session, sink, account, windows, work, progress, seen=now, on_done=checkpoint)

One task lists the windows in order, storing each batch of calls as it comes
and queueing what those calls lack (events, recordings) the moment they are
stored; the next window's listing starts while this one's timelines are in
flight. Timelines and recordings are two fan-outs over those queues that
share the session's limit, so a free permit is taken by whichever has work;
a few windows are listed at once (``LISTING_AHEAD``). One writer stores
results as they arrive, in batches of what is ready (``WRITE_BATCH``). A window is done when its listing is over
and every call it queued has finished, whatever order they finished in; then
a count from the store (``still_missing``) says whether anything is missing,
and ``on_done`` decides what to checkpoint. At most ``UNFINISHED`` calls are
listed and not yet finished: past that the listing waits (backpressure from
the store to the listing), so memory does not grow with the range.

``export_window`` in ``_window`` is the same work phase by phase, one window
at a time: the reference the tests compare this with and the benchmark's
"today's shape".
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import anyio
import attrs
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._concurrency import first_leaf
from .._fanout import FailedCall
from .._records.calls import CallDetails, CallSummary
from .._records.recordings import RecordingFile, RecordingRef
from .._session import PbxSession
from ._progress import Flow, Progress
from ._window import Window, WindowResult, Work, list_calls, still_missing
from .sinks import Account, Sink

LISTING_AHEAD = 4  # windows listed at once
UNFINISHED = 2_000  # calls listed and not yet finished, at most: four pages ahead of a full limit of 256
WRITE_BATCH = 200  # results a transaction, at most: each costs a hop to the store's thread
COALESCE = 0.2  # seconds the writer waits for more results to store together (a kill loses at most these)
FLOW_EVERY = 0.5  # seconds between progress reports of the stages and the requests in flight

OnDone = Callable[[int, WindowResult], Awaitable[None]]
_Key = tuple[str, str]  # ("details" or "recording", call UUID)
_Result = tuple[str, CallDetails | RecordingFile | FailedCall]  # what came back, from which stage


@attrs.define(eq=False)
class _Open:
    """A window while the pipeline works on it."""

    index: int  # its place in ``windows``; -1 for the backlog
    window: Window
    listed: dict[str, None] = attrs.field(factory=dict[str, None])
    new: set[str] = attrs.field(factory=set[str])
    changed: set[str] = attrs.field(factory=set[str])
    failures: int = 0
    outstanding: int = 0  # items queued for it and not yet finished
    listing_done: bool = False
    finished: bool = False


async def run_windows(
    session: PbxSession,
    sink: Sink,
    account: Account,
    windows: Sequence[Window],
    work: Work,
    progress: Progress,
    *,
    seen: datetime,
    on_done: OnDone,
    backlog: Window | None = None,
) -> int:
    """List ``windows`` into ``sink`` and fetch what their calls lack, all stages at once; returns the failures.

    ``on_done(index, result)`` runs once a window's calls are all finished (its
    ``result.missing`` is a count from the store). ``backlog``: a span whose
    stored incomplete calls are fetched first, without listing it (what earlier
    runs left undone); its failures count, ``on_done`` is not called for it.
    """
    return await _Pipeline(session, sink, account, work, progress, seen, on_done).run(windows, backlog)


class _Pipeline:
    def __init__(
        self,
        session: PbxSession,
        sink: Sink,
        account: Account,
        work: Work,
        progress: Progress,
        seen: datetime,
        on_done: OnDone,
    ) -> None:
        self.session, self.sink, self.account, self.work = session, sink, account, work
        self.progress, self.seen, self.on_done = progress, seen, on_done
        self.unfinished = anyio.Semaphore(UNFINISHED, fast_acquire=True)  # no loop turn per queued call
        self.done_lock = anyio.Lock()  # one window's completion (count, then on_done) at a time
        self.waiting: dict[_Key, list[_Open]] = {}  # queued or running, with the windows waiting for each
        self.failed: set[_Key] = set()  # failed in this run: not queued again (a rerun retries them)
        self.failures = 0
        self.listing = ""  # the window being listed, for progress
        # Unbounded streams, bounded by ``unfinished``: queueing never blocks, so a full timeline queue
        # does not hold back the recordings behind it, nor the next window's listing.
        self.details_send, self.details_receive = anyio.create_memory_object_stream[str](math.inf)
        self.recordings_send, self.recordings_receive = anyio.create_memory_object_stream[RecordingRef](math.inf)

    async def run(self, windows: Sequence[Window], backlog: Window | None) -> int:
        try:
            with self.details_receive, self.recordings_receive:
                await self._run(windows, backlog)
        except BaseExceptionGroup as group:  # the caller sees the error, as from a plain call
            raise first_leaf(group) from None
        return self.failures

    async def _run(self, windows: Sequence[Window], backlog: Window | None) -> None:
        results_send, results_receive = anyio.create_memory_object_stream[_Result](math.inf)
        async with anyio.create_task_group() as outer:
            outer.start_soon(self._report_flow)
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._list, windows, backlog)
                if self.work.details:
                    tg.start_soon(self._fetch_details, results_send.clone())
                if self.work.recordings is not None:
                    tg.start_soon(self._fetch_recordings, results_send.clone())
                results_send.close()
                tg.start_soon(self._write, results_receive)
            outer.cancel_scope.cancel()  # every stage has ended: stop reporting

    # -- listing -----------------------------------------------------------------------------------

    async def _list(self, windows: Sequence[Window], backlog: Window | None) -> None:
        with self.details_send, self.recordings_send:
            if backlog is not None:
                await self._queue_stored(_Open(-1, backlog))
            # A few windows are listed at once, started in order: a day's list page is one request
            # among its hundreds, and listing one after the other would leave the fetchers waiting.
            ahead = anyio.Semaphore(LISTING_AHEAD)
            listed: dict[Window, anyio.Event] = {}
            async with anyio.create_task_group() as tg:
                for index, window in enumerate(windows):
                    await ahead.acquire()
                    before = listed.get(window)  # the same window again (today's open part): after the first
                    listed[window] = anyio.Event()
                    self.listing = window.start.isoformat()
                    tg.start_soon(self._list_one, _Open(index, window), before, listed[window], ahead)
            self.listing = ""

    async def _list_one(
        self, open_: _Open, before: anyio.Event | None, listed: anyio.Event, ahead: anyio.Semaphore
    ) -> None:
        try:
            if before is not None:
                await before.wait()
            await self._list_window(open_)
        finally:
            listed.set()
            ahead.release()

    async def _list_window(self, open_: _Open) -> None:
        await list_calls(self.session, open_.window, self.work, self.progress, lambda batch: self._store(open_, batch))
        await self._queue_stored(open_)

    async def _store(self, open_: _Open, batch: list[CallSummary]) -> None:
        """Store a batch of listed calls, then queue what they lack: their timelines start now."""
        uuids = [c.uuid for c in batch]
        upserted = await self.sink.upsert_calls(self.account, batch, seen=self.seen)
        details = await self.sink.details_missing(uuids) if self.work.details else []
        recordings = await self.sink.recordings_missing(uuids) if self.work.recordings is not None else []
        open_.new.update(upserted.new)
        open_.changed.update(upserted.changed)
        open_.listed.update(dict.fromkeys(uuids))
        self.progress.on_listed(len(batch))
        await self._queue_all(open_, details, recordings)

    async def _queue_stored(self, open_: _Open) -> None:
        """Queue the window's stored calls that lack something (earlier runs' leftovers), then close its listing."""
        window, sink, account = open_.window, self.sink, self.account
        details = await sink.calls_needing_details(account, window.start, window.end) if self.work.details else []
        recordings = (
            await sink.calls_needing_recordings(account, window.start, window.end)
            if self.work.recordings is not None
            else []
        )
        await self._queue_all(open_, details, recordings)
        open_.listing_done = True
        await self._maybe_done(open_)

    async def _queue_all(self, open_: _Open, details: list[str], recordings: list[tuple[str, str]]) -> None:
        for uuid in details:
            await self._queue(open_, ("details", uuid))
        for uuid, url in recordings:
            await self._queue(open_, ("recording", uuid), url)

    async def _queue(self, open_: _Open, key: _Key, url: str = "") -> None:
        if key in self.failed:
            return
        waiting = self.waiting.get(key)
        if waiting is not None:  # already queued (by another window too): wait for that one
            if open_ not in waiting:
                waiting.append(open_)
                open_.outstanding += 1
            return
        await self.unfinished.acquire()  # backpressure: the listing waits while too much is unfinished
        self.waiting[key] = [open_]
        open_.outstanding += 1
        if key[0] == "details":
            self.details_send.send_nowait(key[1])
        else:
            self.recordings_send.send_nowait(RecordingRef.from_url(key[1], url))

    # -- fetching and storing ------------------------------------------------------------------------

    async def _fetch_details(self, results: MemoryObjectSendStream[_Result]) -> None:
        # The writer leaves only when the run fails or is cancelled: then the results have nowhere to go.
        with results, contextlib.suppress(anyio.BrokenResourceError):
            session, concurrency = self.session, self.work.concurrency
            fetched = session.iter_call_details(self.details_receive, concurrency=concurrency, on_error="return")
            async with fetched:
                async for item in fetched:
                    results.send_nowait(("details", item))

    async def _fetch_recordings(self, results: MemoryObjectSendStream[_Result]) -> None:
        assert self.work.recordings is not None
        with results, contextlib.suppress(anyio.BrokenResourceError):
            downloads = self.session.download_recordings(
                self.recordings_receive, self.work.recordings, concurrency=self.work.concurrency
            )
            async with downloads:
                async for item in downloads:
                    results.send_nowait(("recording", item))

    async def _write(self, results: MemoryObjectReceiveStream[_Result]) -> None:
        with results:
            async for first in results:
                ready = [first]
                # What else arrives soon goes in the same transaction: a commit a result would cost
                # more CPU than the requests themselves.
                with anyio.move_on_after(COALESCE), contextlib.suppress(anyio.EndOfStream):
                    while len(ready) < WRITE_BATCH:
                        ready.append(await results.receive())
                await self._save(ready)

    async def _save(self, ready: list[_Result]) -> None:
        details = [item for _, item in ready if isinstance(item, CallDetails)]
        if details:
            await self.sink.save_details(details)
        recordings = [item for _, item in ready if isinstance(item, RecordingFile)]
        if recordings:
            await self.sink.save_recordings(recordings)
        done: list[tuple[_Key, bool]] = [(("details", d.call.uuid), False) for d in details]
        for rec in recordings:
            self.progress.on_recorded(rec.size)
            done.append((("recording", rec.call_uuid), False))
        for what, item in ready:
            if isinstance(item, FailedCall):
                self.progress.on_failed(what, item.call_uuid, item.error)
                done.append(((what, item.call_uuid), True))
        for _ in details:
            self.progress.on_detailed()
        for key, failed in done:
            await self._finish(key, failed)

    async def _finish(self, key: _Key, failed: bool) -> None:
        windows = self.waiting.pop(key)
        self.unfinished.release()
        if failed:
            self.failed.add(key)
            self.failures += 1
        for open_ in windows:
            open_.failures += failed
            open_.outstanding -= 1
            await self._maybe_done(open_)

    async def _maybe_done(self, open_: _Open) -> None:
        if open_.finished or not open_.listing_done or open_.outstanding:
            return
        open_.finished = True
        if open_.index < 0:
            return
        async with self.done_lock:
            missing = await still_missing(self.sink, self.account, open_.window, tuple(open_.listed), self.work)
            result = WindowResult(
                tuple(open_.listed), frozenset(open_.new), frozenset(open_.changed - open_.new), open_.failures,
                len(missing),
            )  # fmt: skip
            await self.on_done(open_.index, result)

    # -- progress ------------------------------------------------------------------------------------

    async def _report_flow(self) -> None:
        while True:
            await anyio.sleep(FLOW_EVERY)
            stats = self.session.concurrency_stats()
            details = sum(1 for kind, _ in self.waiting if kind == "details")
            self.progress.on_flow(
                Flow(self.listing, details, len(self.waiting) - details, stats.in_flight, stats.limit)
            )
