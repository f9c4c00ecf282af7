"""The export: list -> details -> recordings -> store, day by day, resumable, exactly once."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import attrs

from .._download import file_name_from_url
from .._errors import ValidationError
from .._fanout import FailedCall, FanOut
from .._records.calls import CallDetails
from .._session import PbxSession
from ._formats import FORMATS, render, require_parquet
from ._plan import Chunk, plan
from ._progress import Progress
from ._sink import Account, Sink
from ._sqlite import SqliteSink

BATCH = 500
DETAILS_BATCH = 50  # calls' events a transaction: a kill loses at most these, fetched again on rerun


@attrs.frozen
class ExportSpec:
    """What to export and where.

        ExportSpec(date(2026, 8, 1), date(2026, 10, 31), out=Path("calls.sqlite"), details=True)

    ``filters`` are ``iter_calls`` keywords. ``recordings`` is a folder, or
    None for no recordings. The store (the output itself for ``sqlite``,
    ``OUT.export.sqlite`` beside it otherwise) is the checkpoint a rerun
    resumes from.
    """

    first: date
    last: date
    out: Path
    format: str = "sqlite"
    details: bool = False
    recordings: Path | None = None
    utc_offset: int = 0
    filters: dict[str, Any] = attrs.field(factory=dict)
    concurrency: int | None = None

    def __attrs_post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.first > self.last:
            raise ValidationError(f"--from ({self.first}) is after --to ({self.last})")
        if self.format == "parquet":
            try:
                require_parquet()
            except ImportError as exc:
                raise ValidationError(str(exc)) from None

    @property
    def store_path(self) -> Path:
        return self.out if self.format == "sqlite" else self.out.with_name(self.out.name + ".export.sqlite")

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
    """What an export left: counts from the store, failures of this run, the files written."""

    calls: int
    events: int
    recordings: int
    failures: int
    files: tuple[Path, ...]
    summary: dict[str, Any]


async def run_export(
    session: PbxSession, spec: ExportSpec, progress: Progress | None = None, *, now: datetime | None = None
) -> ExportResult:
    """Run (or resume) an export; safe to interrupt at any point and run again."""
    progress = progress or Progress()
    spec.out.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteSink(spec.store_path)
    try:
        recorded = store.meta("spec")
        if recorded is not None and recorded != spec.fingerprint():
            raise ValidationError(
                f"{spec.store_path} holds a different export ({recorded}); "
                "delete it, or choose another --out, to start a new one"
            )
        store.set_meta("spec", spec.fingerprint())
        chunks = list(plan(spec.first, spec.last, spec.utc_offset, now or datetime.now(UTC)))
        progress.begin(len(chunks), spec.details, spec.recordings is not None)
        failures = 0
        for chunk in chunks:
            if chunk.closed and store.chunk_done(chunk.key):
                progress.on_chunk(_label(chunk) + " (already done)")
                continue
            failed = await _run_chunk(session, spec, store, chunk, progress)
            failures += failed
            if chunk.closed and not failed:
                store.mark_chunk(chunk.key, chunk.end.isoformat())
            progress.on_chunk(_label(chunk))
        for chunk in chunks:  # the window still open: calls arrived while we worked
            if not chunk.closed:
                failures += await _run_chunk(session, spec, store, chunk, progress)
        files = [spec.out] if spec.format == "sqlite" else render(store, spec.format, spec.out, details=spec.details)
        counts = store.counts()
        return ExportResult(
            calls=counts["calls"],
            events=counts["events"],
            recordings=counts["recordings"],
            failures=failures,
            files=tuple(files),
            summary=summarize(store, progress, failures),
        )
    finally:
        progress.end()
        await store.close()


def _label(chunk: Chunk) -> str:
    return chunk.start.date().isoformat() + ("" if chunk.closed else " (open)")


async def _run_chunk(session: PbxSession, spec: ExportSpec, store: SqliteSink, chunk: Chunk, progress: Progress) -> int:
    work = Work(spec.details, spec.recordings, spec.concurrency, spec.utc_offset, spec.filters)
    account = Account(session.container_id, session.tenant_id)
    return await export_window(session, store, account, chunk.start, chunk.end, work, progress)


@attrs.frozen
class Work:
    """What a window's export fetches besides the calls themselves, and how."""

    details: bool = False
    recordings: Path | None = None
    concurrency: int | None = None
    utc_offset: int = 0
    filters: dict[str, Any] = attrs.field(factory=dict)


async def export_window(
    session: PbxSession, sink: Sink, account: Account, start: datetime, end: datetime, work: Work, progress: Progress
) -> int:
    """One window: list its calls, then fetch what the sink lacks. Returns how many calls failed."""
    batch = []
    calls = session.iter_calls(from_date=start, to_date=end, utc_offset=work.utc_offset, **work.filters)
    async with calls:
        async for call in calls:
            batch.append(call)
            if len(batch) == BATCH:
                await sink.upsert_calls(account, batch)
                progress.on_listed(len(batch))
                batch = []
    if batch:
        await sink.upsert_calls(account, batch)
        progress.on_listed(len(batch))
    failures = 0
    if work.details:
        failures += await _details(session, sink, await sink.calls_needing_details(account, start, end), work, progress)
    if work.recordings is not None:
        pending = await sink.calls_needing_recordings(account, start, end)
        failures += await _recordings(session, sink, pending, work.recordings, work.concurrency, progress)
    return failures


async def _details(session: PbxSession, sink: Sink, pending: list[str], work: Work, progress: Progress) -> int:
    failures = 0
    done: list[CallDetails] = []

    async def flush() -> None:
        await sink.save_details(done)
        for _ in done:
            progress.on_detailed()
        done.clear()

    async with session.iter_call_details(pending, concurrency=work.concurrency, on_error="return") as results:
        async for item in results:
            if isinstance(item, FailedCall):
                failures += 1
                progress.on_failed("details", item.call_uuid, item.error)
            else:
                assert isinstance(item, CallDetails)
                done.append(item)
                if len(done) == DETAILS_BATCH:
                    await flush()
    if done:
        await flush()
    return failures


async def _recordings(
    session: PbxSession,
    sink: Sink,
    pending: list[tuple[str, str]],
    folder: Path,
    concurrency: int | None,
    progress: Progress,
) -> int:
    failures = 0

    async def fetch(item: tuple[str, str]) -> tuple[str, Any]:
        uuid, url = item
        return uuid, await session.download_recording(file_name_from_url(url, f"{uuid}.wav"), folder)

    downloads = FanOut(
        pending,
        fetch,
        width=concurrency or session.max_concurrency,
        ordered=False,
        on_error="return",
        name_of=lambda item: item[0],
    )
    async with downloads:
        async for done in downloads:
            if isinstance(done, FailedCall):
                failures += 1
                progress.on_failed("recording", done.call_uuid, done.error)
            else:
                uuid, rec = done
                await sink.save_recording(uuid, rec)
                progress.on_recorded(rec.size)
    return failures


def summarize(store: SqliteSink, progress: Progress, failures: int) -> dict[str, Any]:
    """The final report: counts by direction, answered, voicemail, failures, elapsed time."""
    one = store.db.execute
    by_direction = dict(one("SELECT direction, count(*) FROM calls GROUP BY direction").fetchall())
    return {
        "calls": int(one("SELECT count(*) FROM calls").fetchone()[0]),
        "by_direction": {d: int(by_direction.get(d, 0)) for d in ("inbound", "outbound", "internal")},
        "answered": int(one("SELECT count(*) FROM calls WHERE spoke_to_person = 1").fetchone()[0]),
        "voicemail": int(one("SELECT count(*) FROM calls WHERE went_to_voicemail = 1").fetchone()[0]),
        "events": int(one("SELECT count(*) FROM events").fetchone()[0]),
        "recordings": int(one("SELECT count(*) FROM recordings").fetchone()[0]),
        "recording_bytes": int(one("SELECT coalesce(sum(size), 0) FROM recordings").fetchone()[0]),
        "failures": failures,
        "fetched_this_run": {
            "calls_listed": progress.listed,
            "details": progress.detailed,
            "recordings": progress.recorded,
        },
        "elapsed_seconds": round(progress.elapsed, 2),
    }
