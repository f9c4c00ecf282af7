"""The window job, shared by a single export (a window a day) and a shard (one window).

A ``Window`` is a span of one account's calls; ``Work`` says what to fetch
for it besides the calls themselves. ``export_window`` lists the window's
calls into the sink (new ones inserted, changed ones updated and counted),
then fetches the events and recordings the sink does not hold yet, so
running it again only fetches what is missing. Its result counts what is
still missing among the calls it listed: a caller checkpoints a window only
when that count is zero, never merely because no error was raised.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs

from .._errors import ValidationError
from .._fanout import FailedCall
from .._records.calls import CallDetails, CallSummary
from .._records.recordings import RecordingRef
from .._session import PbxSession
from ._progress import Progress
from .sinks import Account, Sink

LIST_BATCH = 500  # calls a transaction while listing
DETAILS_BATCH = 50  # calls' events a transaction: a kill loses at most these, fetched again on rerun


def _aware(_: Any, attribute: attrs.Attribute[datetime], value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"a window's {attribute.name} must be an aware datetime (with a UTC offset)")


@attrs.frozen
class Window:
    """A span of time, inclusive at both ends, in whole seconds (a call at 23:59:59.5 is inside a day).

    Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC))
    """

    start: datetime = attrs.field(validator=_aware)
    end: datetime = attrs.field(validator=_aware)

    def __attrs_post_init__(self) -> None:
        if self.start > self.end:
            raise ValidationError(f"a window's start ({self.start}) is after its end ({self.end})")

    def ended_before(self, now: datetime) -> bool:
        """Whether the window is over at ``now``: then no call can still arrive in it, and once done it stays done."""
        return self.end < now


@attrs.frozen
class Work:
    """What an export fetches for a window besides the calls themselves, and how.

        Work(details=True, recordings=Path("recordings"), concurrency=32)

    ``recordings`` is a folder (None: no recordings); ``concurrency`` is the
    requests in flight for details and for recordings (None: the session's
    ``max_concurrency``); ``filters`` are ``iter_calls`` keywords.
    """

    details: bool = False
    recordings: Path | None = None
    concurrency: int | None = None
    utc_offset: int = 0
    filters: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen
class WindowResult:
    """What a window's run did: the calls listed, which were new and which changed, failures, what is
    still missing (events or recordings asked for) among the listed calls and the window's stored ones."""

    listed: tuple[str, ...]
    new: frozenset[str]
    changed: frozenset[str]
    failures: int
    missing: int


async def export_window(
    session: PbxSession,
    sink: Sink,
    account: Account,
    window: Window,
    work: Work,
    progress: Progress,
    *,
    seen: datetime | None = None,
) -> WindowResult:
    """List the window's calls into ``sink``, then fetch what it lacks (``seen``: when they were listed)."""
    seen = seen or datetime.now(UTC)
    listed: dict[str, None] = {}
    new: set[str] = set()
    changed: set[str] = set()

    async def store(batch: list[CallSummary]) -> None:
        upserted = await sink.upsert_calls(account, batch, seen=seen)
        new.update(upserted.new)
        changed.update(upserted.changed)
        listed.update(dict.fromkeys(c.uuid for c in batch))
        progress.on_listed(len(batch))

    await list_calls(session, window, work, progress, store)
    uuids = tuple(listed)
    failures = await fetch_missing(session, sink, account, window, uuids, work, progress)
    missing = await still_missing(sink, account, window, uuids, work)
    return WindowResult(uuids, frozenset(new), frozenset(changed - new), failures, len(missing))


async def list_calls(
    session: PbxSession,
    window: Window,
    work: Work,
    progress: Progress,
    store: Callable[[list[CallSummary]], Awaitable[None]],
) -> None:
    """List the window's calls, handing them to ``store`` ``LIST_BATCH`` at a time (the last batch shorter)."""
    batch: list[CallSummary] = []
    calls = session.iter_calls(from_date=window.start, to_date=window.end, utc_offset=work.utc_offset, **work.filters)
    async with calls:
        async for call in calls:
            offset = call.date.utcoffset()
            if offset is not None and offset.total_seconds() != work.utc_offset * 60:
                progress.on_other_offset(work.utc_offset, int(offset.total_seconds()) // 60)
            batch.append(call)
            if len(batch) == LIST_BATCH:
                await store(batch)
                batch = []
    if batch:
        await store(batch)


async def fetch_missing(
    session: PbxSession,
    sink: Sink,
    account: Account,
    window: Window,
    uuids: tuple[str, ...],
    work: Work,
    progress: Progress,
) -> int:
    """Fetch the events and recordings (as ``work`` asks) that the sink lacks for ``uuids`` and for the
    account's calls stored in ``window``; returns how many calls failed."""
    failures = 0
    if work.details:
        pending = await sink.calls_needing_details(account, window.start, window.end)
        pending = list(dict.fromkeys([*pending, *await sink.details_missing(uuids)]))
        failures += await _details(session, sink, pending, work.concurrency, progress)
    if work.recordings is not None:
        missing = await sink.calls_needing_recordings(account, window.start, window.end)
        missing = list(dict.fromkeys([*missing, *await sink.recordings_missing(uuids)]))
        failures += await _recordings(session, sink, missing, work.recordings, work.concurrency, progress)
    return failures


async def still_missing(sink: Sink, account: Account, window: Window, uuids: tuple[str, ...], work: Work) -> set[str]:
    """The calls listed, or stored in the window, still lacking what ``work`` asks for: a count, not a hope."""
    missing: set[str] = set()
    if work.details:
        missing.update(await sink.calls_needing_details(account, window.start, window.end))
        missing.update(await sink.details_missing(uuids))
    if work.recordings is not None:
        missing.update(u for u, _ in await sink.calls_needing_recordings(account, window.start, window.end))
        missing.update(u for u, _ in await sink.recordings_missing(uuids))
    return missing


async def _details(
    session: PbxSession, sink: Sink, pending: list[str], concurrency: int | None, progress: Progress
) -> int:
    failures = 0
    done: list[CallDetails] = []

    async def flush() -> None:
        await sink.save_details(done)
        for _ in done:
            progress.on_detailed()
        done.clear()

    async with session.iter_call_details(pending, concurrency=concurrency, on_error="return") as results:
        async for item in results:
            if isinstance(item, FailedCall):
                failures += 1
                progress.on_failed("details", item.call_uuid, item.error)
            else:
                done.append(item)
                if len(done) == DETAILS_BATCH:
                    await flush()
    if done:
        await flush()
    return failures


async def _recordings(
    session: PbxSession,
    sink: Sink,
    missing: list[tuple[str, str]],
    folder: Path,
    concurrency: int | None,
    progress: Progress,
) -> int:
    failures = 0
    refs = [RecordingRef.from_url(uuid, url) for uuid, url in missing]
    # The session widens its limit to ``concurrency`` for these downloads, as it does for details.
    async with session.download_recordings(refs, folder, concurrency=concurrency, on_error="return") as downloads:
        async for done in downloads:
            if isinstance(done, FailedCall):
                failures += 1
                progress.on_failed("recording", done.call_uuid, done.error)
            else:
                await sink.save_recording(done.call_uuid, done)
                progress.on_recorded(done.size)
    return failures
