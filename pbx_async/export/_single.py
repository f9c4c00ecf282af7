"""A single export: one account, a window a day, into one SQLite file (and a rendered file), resumable.

The SQLite store is the checkpoint: it records the export's request, its
account and every day finished, so a rerun after any interruption skips those
days and fetches only what is missing. A day is finished once it ended
``SETTLE`` ago (calls are written at hangup, so a call begun before midnight
can appear after it) and a count shows every call listed in it complete; until
then every run lists it again. ``refresh`` lists the finished days again too,
updating calls whose notes, flag, severity, transcription or recording
changed. The day holding "now" is split at the minute, and its open part is
listed again at the end of every run. One run at a time: the output's lock.
"""

from __future__ import annotations

import json
import os
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
from ._window import Window, WindowResult, Work
from .sinks import Account
from .sinks._schema import Counts
from .sinks._sqlite import SqliteSink

SETTLE = timedelta(hours=48)  # a day is final (checkpointed, skipped by reruns) this long after it ended


def _path(value: str | os.PathLike[str]) -> Path:
    return Path(value)


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen
class ExportSpec:
    """What to export and where.

        ExportSpec(date(2026, 8, 1), date(2026, 10, 31), out="calls.sqlite", details=True)

    ``filters`` are ``iter_calls`` keywords. ``recordings`` is a folder, or
    None for no recordings. The store (the output itself for ``sqlite``,
    ``OUT.export.sqlite`` beside it otherwise) is the checkpoint a rerun
    resumes from. ``refresh`` lists finished days again (changed calls are
    updated, missing events and recordings fetched); it is not part of the
    request a rerun must repeat.
    """

    first: date
    last: date
    out: Path = attrs.field(converter=_path)
    format: str = "sqlite"
    details: bool = False
    recordings: Path | None = attrs.field(default=None, converter=_optional_path)
    utc_offset: int = 0
    filters: dict[str, Any] = attrs.field(factory=dict)
    concurrency: int | None = None
    refresh: bool = False

    def __attrs_post_init__(self) -> None:
        check_format(self.format)
        check.day_in_range("--from", self.first)
        check.day_in_range("--to", self.last)
        if self.first > self.last:
            raise ValidationError(f"--from ({self.first}) is after --to ({self.last})")

    @property
    def store_path(self) -> Path:
        return store_path(self.out, self.format)

    @property
    def work(self) -> Work:
        """What each day of the export fetches besides its calls."""
        return Work(self.details, self.recordings, self.concurrency, self.utc_offset, self.filters)

    def fingerprint(self) -> str:
        """What must match for a rerun to resume this export's store."""
        return json.dumps(
            {
                "from": self.first.isoformat(),
                "to": self.last.isoformat(),
                "utc_offset": self.utc_offset,
                "filters": {
                    k: v if isinstance(v, str | int | bool) else str(v) for k, v in sorted(self.filters.items())
                },
                "details": self.details,
                "recordings": str(self.recordings) if self.recordings else None,
            },
            sort_keys=True,
        )


@attrs.frozen
class ExportResult:
    """What an export left: counts from the store; failures, new and changed calls of this run; the files written."""

    calls: int
    events: int
    recordings: int
    failures: int
    files: tuple[Path, ...]
    summary: dict[str, Any]
    new_calls: int = 0
    changed_calls: int = 0


def days(first: date, last: date, utc_offset: int, now: datetime) -> Iterator[Window]:
    """A window a day from ``first`` to ``last``; the day holding ``now`` splits at the minute."""
    tz = timezone(timedelta(minutes=utc_offset))
    now = _minute(now, utc_offset)
    day = first
    while day <= last:
        start = datetime.combine(day, time(0, 0, 0), tz)
        end = datetime.combine(day, time(23, 59, 59), tz)
        if start < now <= end:
            yield Window(start, now - timedelta(seconds=1))
            yield Window(now, end)
        else:
            yield Window(start, end)
        day += timedelta(days=1)


def _minute(now: datetime, utc_offset: int) -> datetime:
    """Where ``days`` splits today: ``now`` in the export's offset, down to the minute."""
    return now.astimezone(timezone(timedelta(minutes=utc_offset))).replace(second=0, microsecond=0)


def _label(day: Window, split: datetime) -> str:
    return day.start.date().isoformat() + ("" if day.ended_before(split) else " (open)")


def _key(day: Window) -> str:
    """How the store names a finished day (or the finished part of today)."""
    return f"{day.start.isoformat()}/{day.end.isoformat()}"


async def run_export(
    session: PbxSession, spec: ExportSpec, progress: Progress | None = None, *, now: datetime | None = None
) -> ExportResult:
    """Run (or resume) an export; safe to interrupt at any point and run again.

    result = await run_export(session, ExportSpec(date(2026, 11, 1), date(2026, 11, 30), out="nov.sqlite"))
    """
    check_folder(spec.recordings)  # a link or a file: refused, not a failure for every recording
    not_a_link(spec.out, spec.format)
    progress = progress or Progress()
    spec.out.parent.mkdir(parents=True, exist_ok=True)
    account = Account(session.container_id, session.tenant_id)
    with OutputLock(lock_path(spec.out), str(spec.out)):
        store = await SqliteSink.open(spec.store_path)
        try:
            await claim(store, spec.out, "export", account, session.base_url)
            recorded = await store.meta("spec")
            if recorded is not None and recorded != spec.fingerprint():
                raise ValidationError(
                    f"{spec.store_path} holds a different export ({recorded}); "
                    "delete it, or choose another --out, to start a new one"
                )
            await store.set_meta("spec", spec.fingerprint())
            return await _days(session, store, spec, account, progress, now or datetime.now(UTC))
        finally:
            progress.end()
            await store.close()


async def _days(
    session: PbxSession, store: SqliteSink, spec: ExportSpec, account: Account, progress: Progress, now: datetime
) -> ExportResult:
    split = _minute(now, spec.utc_offset)
    windows = list(days(spec.first, spec.last, spec.utc_offset, split))
    progress.begin(len(windows), spec.details, spec.recordings is not None)
    todo: list[Window] = []
    for day in windows:
        if day.ended_before(split - SETTLE) and not spec.refresh and await store.day_done(_key(day)):
            progress.on_window(_label(day, split) + " (already done)")
        else:
            todo.append(day)
    first_pass = len(todo)
    todo += [day for day in windows if not day.ended_before(split)]  # last, the part of today still open:
    # calls arrived while we worked
    new, changed = 0, 0
    open_new: dict[Window, frozenset[str]] = {}  # the open part's new calls: not "changed" when listed again

    async def done(index: int, result: WindowResult) -> None:
        nonlocal new, changed
        day = todo[index]
        if index >= first_pass:
            changed += len(result.changed - open_new.get(day, frozenset()))
            new += len(result.new)
            return
        new, changed = new + len(result.new), changed + len(result.changed)
        if not day.ended_before(split):
            open_new[day] = result.new
        if day.ended_before(split - SETTLE) and not result.missing:
            await store.mark_day(_key(day), day.end)  # every call listed is complete: a count, not a hope
        progress.on_window(_label(day, split))

    failures = await run_windows(session, store, account, todo, spec.work, progress, seen=now, on_done=done)
    files = [spec.out]
    if spec.format != "sqlite":
        files = await store.run(
            lambda: render(store, spec.format, spec.out, details=spec.details, utc_offset=spec.utc_offset)
        )
    counts = await store.counts()
    summary = summarise(counts, progress, failures) | {"new_calls": new, "changed_calls": changed}
    return ExportResult(
        calls=counts.calls,
        events=counts.events,
        recordings=counts.recordings,
        failures=failures,
        files=tuple(files),
        summary=summary,
        new_calls=new,
        changed_calls=changed,
    )


def summarise(counts: Counts, progress: Progress, failures: int) -> dict[str, Any]:
    """The final report: counts by direction, answered, voicemail, failures, elapsed time."""
    return {
        "calls": counts.calls,
        "by_direction": {"inbound": counts.inbound, "outbound": counts.outbound, "internal": counts.internal},
        "answered": counts.answered,
        "voicemail": counts.voicemail,
        "events": counts.events,
        "recordings": counts.recordings,
        "recording_bytes": counts.recording_bytes,
        "failures": failures,
        "fetched_this_run": {
            "calls_listed": progress.listed,
            "details": progress.detailed,
            "recordings": progress.recorded,
        },
        "elapsed_seconds": round(progress.elapsed, 2),
    }
