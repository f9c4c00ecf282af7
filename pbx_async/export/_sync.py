"""Keeping an output current: each run lists from the output's watermark minus a lookback, up to now.

    async with PbxSession.from_env() as session:
        result = await run_sync(session, SyncSpec(out="calls.sqlite", since=date(2026, 8, 1), details=True))
    print(result.new_calls, result.changed_calls)

A run first fetches what stored calls of the account still lack (events,
recordings: an earlier run's failures), then lists ``[watermark - lookback,
now)`` a day at a time (the first run from ``since``): new calls are added,
stored ones whose notes, flag, severity, transcription or recording changed
are updated and counted once, each keeping when it was first seen and last
changed; then events and recordings are fetched for the new ones. The
watermark moves on as each window is listed, so a run killed at any point
resumes where it stopped. Into an output file (``out``: one account, one run
at a time, its lock) or a database (``sink``: many accounts, one sync of an
account at a time), where the state is the table ``export_syncs``.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs

from .. import _validation as check
from .._errors import ValidationError
from .._recordings_folder import check_folder
from .._session import PbxSession
from ._formats import check_format, render
from ._lock import OutputLock
from ._output import claim, lock_path, not_a_link, store_path
from ._pipeline import run_windows
from ._progress import Progress
from ._single import summarise
from ._window import Window, WindowResult, Work, still_missing
from .sinks import Account, Sink, SyncState, open_sink
from .sinks._postgres import redact_url
from .sinks._sqlite import SqliteSink

LOOKBACK = timedelta(hours=48)
_ALL = Window(datetime(1970, 1, 1, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC))  # every stored call


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def _lookback(value: timedelta | float) -> timedelta:
    """Hours, or a ``timedelta``: finite, 0 to ten years."""
    return check.lookback("--lookback", value, zero=True)


@attrs.frozen
class SyncSpec:
    """What to keep current, and where: an output file (``out``) or a database (``sink`` URL).

        SyncSpec(out="calls.sqlite", since=date(2026, 8, 1), details=True, lookback=48)

    ``since`` is where the first run starts (later runs continue from the
    output's watermark); ``lookback`` (hours, default 48) is how far back each
    run lists again. The rest as in ``ExportSpec``. Only the filters must
    stay the same between runs: asking for events or recordings later fetches
    them for every stored call.
    """

    out: Path | None = attrs.field(default=None, converter=_optional_path)
    sink: str | None = None
    since: date | None = None
    lookback: timedelta = attrs.field(default=LOOKBACK, converter=_lookback)
    format: str = "sqlite"
    details: bool = False
    recordings: Path | None = attrs.field(default=None, converter=_optional_path)
    utc_offset: int = 0
    filters: dict[str, Any] = attrs.field(factory=dict)
    concurrency: int | None = None

    def __attrs_post_init__(self) -> None:
        if (self.out is None) == (self.sink is None):
            raise ValidationError("a sync writes into either an output file (--out) or a database (--sink)")
        check_format(self.format)
        if self.since is not None:
            check.day_in_range("--since", self.since)

    @property
    def store_path(self) -> Path | None:
        """The state of a sync into ``out``: the file itself for SQLite, ``OUT.export.sqlite`` beside it otherwise."""
        return None if self.out is None else store_path(self.out, self.format)

    @property
    def work(self) -> Work:
        return Work(self.details, self.recordings, self.concurrency, self.utc_offset, self.filters)

    def fingerprint(self) -> str:
        """What must match between runs: which calls (the filters)."""
        filters = {k: v if isinstance(v, str | int | bool) else str(v) for k, v in sorted(self.filters.items())}
        return json.dumps({"filters": filters}, sort_keys=True)


@attrs.frozen
class SyncResult:
    """What a sync run did and left: counts from the output, new and changed calls, failures,
    calls still lacking events or recordings, the watermark, the files written.

        result = await run_sync(session, spec); print(result.new_calls, result.changed_calls)
    """

    calls: int
    events: int
    recordings: int
    new_calls: int
    changed_calls: int
    failures: int
    incomplete: int
    watermark: datetime | None
    files: tuple[Path, ...]
    summary: dict[str, Any]


def spans(start: datetime, now: datetime, utc_offset: int) -> Iterator[Window]:
    """Windows from ``start`` to the second before ``now``, cut at each midnight in the offset."""
    tz = timezone(timedelta(minutes=utc_offset))
    start, end = start.astimezone(tz).replace(microsecond=0), now.astimezone(tz) - timedelta(seconds=1)
    while start <= end:
        stop = min(end, datetime.combine(start.date() + timedelta(days=1), time(0), tz) - timedelta(seconds=1))
        yield Window(start, stop)
        start = stop + timedelta(seconds=1)


async def run_sync(
    session: PbxSession, spec: SyncSpec, progress: Progress | None = None, *, now: datetime | None = None
) -> SyncResult:
    """One sync run; safe to interrupt at any point and run again.

    result = await run_sync(session, SyncSpec(out="calls.jsonl", since=date(2026, 11, 1)))
    """
    check_folder(spec.recordings)  # a link or a file: refused, not a failure for every recording
    progress = progress or Progress()
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    account = Account(session.container_id, session.tenant_id)
    holder = f"process {os.getpid()} on {socket.gethostname()}"
    if spec.out is not None:
        not_a_link(spec.out, spec.format)
        if spec.since is None and not store_path(spec.out, spec.format).exists():
            raise ValidationError(f"the first sync into {spec.out} needs --since DATE: where its calls start")
        spec.out.parent.mkdir(parents=True, exist_ok=True)
        with OutputLock(lock_path(spec.out), str(spec.out)):
            store = await SqliteSink.open(store_path(spec.out, spec.format))
            try:
                await claim(store, spec.out, "sync", account, session.base_url)
                result = await _run(session, store, spec, account, holder, progress, now, str(spec.out))
                if spec.format != "sqlite":
                    out, fmt, details, offset = spec.out, spec.format, spec.details, spec.utc_offset
                    written = await store.run(lambda: render(store, fmt, out, details=details, utc_offset=offset))
                    result = attrs.evolve(result, files=tuple(written))
                return result
            finally:
                progress.end()
                await store.close()
    assert spec.sink is not None
    sink = await open_sink(spec.sink)
    try:
        async with sink.hold(account, holder):
            return await _run(session, sink, spec, account, holder, progress, now, redact_url(spec.sink))
    finally:
        progress.end()
        await sink.close()


async def _run(
    session: PbxSession,
    sink: Sink,
    spec: SyncSpec,
    account: Account,
    holder: str,
    progress: Progress,
    now: datetime,
    where: str,
) -> SyncResult:
    work = spec.work
    if spec.sink is not None and work.recordings is not None:  # a shared database: a folder per account
        work = attrs.evolve(work, recordings=work.recordings / f"{account.container_id}-{account.tenant_id}")
        check_folder(work.recordings)  # the account's folder in it, too
    state = await sink.sync_state(account)
    if state is not None and state.spec != spec.fingerprint():
        raise ValidationError(
            f"{where} is kept current with other filters ({state.spec}); use the same filters, or another output"
        )
    if state is not None and state.base_url != session.base_url:
        raise ValidationError(f"{where} holds this account's calls from {state.base_url}, not {session.base_url}")
    watermark = state.watermark if state is not None else None
    if watermark is None and spec.since is None:
        raise ValidationError(f"the first sync into {where} needs --since DATE: where its calls start")
    if watermark is not None:  # never before the first day a query may name
        start = max(watermark - spec.lookback, datetime.combine(check.FIRST_DAY, time(0), watermark.tzinfo))
    else:
        assert spec.since is not None
        start = datetime.combine(spec.since, time(0), timezone(timedelta(minutes=spec.utc_offset)))
    await sink.save_sync_state(account, SyncState(spec.fingerprint(), session.base_url, watermark, holder))
    windows = list(spans(start, now, spec.utc_offset))
    progress.begin(len(windows), spec.details, spec.recordings is not None)
    new, changed = 0, 0
    finished: set[int] = set()
    marked = 0  # windows before this one are all finished: the watermark may pass them

    async def done(index: int, result: WindowResult) -> None:
        nonlocal new, changed, marked, watermark
        new, changed = new + len(result.new), changed + len(result.changed)
        finished.add(index)
        advanced = False
        while marked in finished:  # in order: a window finished early waits for those before it
            finished.discard(marked)
            mark = windows[marked].end + timedelta(seconds=1)
            if watermark is None or mark > watermark:
                watermark, advanced = mark, True
            marked += 1
        if advanced:
            await sink.save_sync_state(account, SyncState(spec.fingerprint(), session.base_url, watermark, holder))
        progress.on_window(windows[index].start.date().isoformat())

    # What earlier runs left undone (a failure, a kill) goes first: then a failure of this run is counted once.
    failures = await run_windows(session, sink, account, windows, work, progress, seen=now, on_done=done, backlog=_ALL)
    incomplete = len(await still_missing(sink, account, _ALL, (), work))
    counts = await sink.counts()
    summary = summarise(counts, progress, failures) | {
        "new_calls": new,
        "changed_calls": changed,
        "incomplete_calls": incomplete,
        "watermark": None if watermark is None else watermark.astimezone(UTC).isoformat(),
    }
    return SyncResult(
        calls=counts.calls,
        events=counts.events,
        recordings=counts.recordings,
        new_calls=new,
        changed_calls=changed,
        failures=failures,
        incomplete=incomplete,
        watermark=watermark,
        files=(spec.out,) if spec.out is not None else (),
        summary=summary,
    )
