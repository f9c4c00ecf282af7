"""The SQLite sink: output for ``--format sqlite``, staging and checkpoint for the other formats.

Every write is an upsert keyed by UUID; a call's events and its
``details_done`` flag share a transaction, so a rerun after any interruption
converges on each call, event and recording exactly once. Tables, rows and
statements are ``_schema``'s and ``_statements``'; this module adapts them to
``sqlite3`` (times as ISO 8601 text in UTC, so text order is time order; flags
as 0/1). Several processes may write one file: writers wait for each other
(``busy_timeout``), in a worker thread, so the event loop never waits on a
lock: every statement runs through ``anyio.to_thread.run_sync`` with a
limiter of one per sink, so the connection is used by one thread at a time.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncGenerator, Callable, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import anyio
import anyio.lowlevel
import anyio.to_thread

from ..._records.calls import CallDetails, CallSummary
from ..._records.recordings import RecordingFile
from .._lock import OutputLock
from . import _schema
from . import _statements as sql
from ._protocol import Account, SyncState, Upserted

_T = TypeVar("_T")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOURS: dict[int, str] = {}  # "YYYY-MM-DDTHH:" by hours since the epoch, the hours met lately
_MINUTES_SECONDS = tuple(f"{m:02d}:{s:02d}" for m in range(60) for s in range(60))  # "MM:SS" by second of the hour


def utc_text(moment: datetime) -> str:
    """How SQLite stores a time: ISO 8601 in UTC, so comparing text compares instants.

    ``moment.astimezone(UTC).isoformat()``, put together from the hour's text (kept)
    and the second's: every event and journey has a time, and ``isoformat`` with its
    offset cost more than the rest of an event's row.
    """
    try:
        since = moment - _EPOCH  # the offset applied, as astimezone applies it
    except TypeError:  # naive: astimezone reads it as local time
        return moment.astimezone(UTC).isoformat()
    seconds = since.seconds
    hour = since.days * 24 + seconds // 3600
    head = _HOURS.get(hour)
    if head is None:
        if len(_HOURS) >= 4096:
            _HOURS.clear()
        head = _HOURS[hour] = (_EPOCH + timedelta(hours=hour)).isoformat()[:14]
    micro = since.microseconds
    if micro:
        return f"{head}{_MINUTES_SECONDS[seconds % 3600]}.{micro:06d}+00:00"
    return f"{head}{_MINUTES_SECONDS[seconds % 3600]}+00:00"


def _plain(row: Iterable[Any]) -> tuple[Any, ...]:
    """SQLite's spelling: times as ISO 8601 text in UTC, flags as 0/1."""
    return tuple(utc_text(v) if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v for v in row)


_DetailsRows = tuple[str, list[tuple[Any, ...]], tuple[Any, ...]]  # a call's UUID, its events' rows, its journey's
# The journey's columns a row spells for SQLite (``_plain``): its times and its flags; the rest are plain already.
_JOURNEY_TIMES = tuple(i for i, n in enumerate(_schema.JOURNEY_NAMES) if _schema.kind_of("journeys", n) == "time")
_JOURNEY_FLAGS = tuple(i for i, n in enumerate(_schema.JOURNEY_NAMES) if _schema.kind_of("journeys", n) == "bool")


def _details_rows(details: CallDetails) -> _DetailsRows:
    """A call's rows for ``_save_details``: ``_plain``'s spelling, made knowing which columns are times or flags.

    A generic ``_plain`` looks at every value of every row; an event's only time is its
    date, a journey's are few (``_JOURNEY_TIMES``, ``_JOURNEY_FLAGS``).
    """
    uuid = details.call.uuid
    journey = list(sql.journey_values(details))  # refreshed with its events
    for i in _JOURNEY_TIMES:
        if isinstance(journey[i], datetime):
            journey[i] = utc_text(journey[i])
    for i in _JOURNEY_FLAGS:
        if isinstance(journey[i], bool):
            journey[i] = int(journey[i])
    return uuid, sql.event_rows(uuid, details.events, utc_text), tuple(journey)


_BUSY_SECONDS = 60  # how long a statement waits for another connection's lock on the file
_ROWS_A_TURN = 16  # calls' rows made between two turns of the event loop (2-4 ms here)


class SqliteSink:
    """One SQLite file, created or migrated on open; WAL mode, so a crash never leaves half a transaction.

    sink = await SqliteSink.open(Path("calls.sqlite"))

    The constructor connects and migrates on the calling thread (it may wait
    for another writer's lock): in async code, ``open``. Every async method
    runs on a worker thread.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._limiter: anyio.CapacityLimiter | None = None
        # Used from worker threads, one at a time (the limiter); transactions are explicit.
        self.db = sqlite3.connect(path, isolation_level=None, timeout=_BUSY_SECONDS, check_same_thread=False)
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._use_wal()
            self._migrate()
        except BaseException:
            self.db.close()
            raise

    def _use_wal(self) -> None:
        """WAL mode, set once for the file (it stays set), waiting out other connections' locks.

        Changing the journal mode answers "database is locked" at once, without the
        busy timeout, while another connection (a shard or sync beside this one) holds
        a lock on the file: so the mode is read first and the change tried again.
        """
        deadline = time.monotonic() + _BUSY_SECONDS
        while True:
            try:
                if str(self.db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    @classmethod
    async def open(cls, path: Path) -> SqliteSink:
        """Connect and migrate on a worker thread; cancelled meanwhile, the connection is closed."""
        opened: list[SqliteSink] = []

        def connect() -> SqliteSink:
            opened.append(cls(path))
            return opened[0]

        try:
            return await anyio.to_thread.run_sync(connect)
        except BaseException:
            for sink in opened:  # the thread finished, then the cancellation came: nobody else holds it
                sink.db.close()
            raise

    async def run(self, function: Callable[..., _T], *args: Any) -> _T:
        """``function(*args)`` on a worker thread, the only one using the connection meanwhile."""
        if self._limiter is None:  # made here: a limiter belongs to the running event loop
            self._limiter = anyio.CapacityLimiter(1)
        return await anyio.to_thread.run_sync(function, *args, limiter=self._limiter)

    def _execute(self, statement: str, params: Sequence[Any]) -> None:
        # The cursor is closed here, on the worker thread: one handed back to the event loop would be
        # finalised there when dropped, while another thread uses the connection (SQLITE_MISUSE).
        self.db.execute(statement, params).close()

    def __repr__(self) -> str:
        return f"SqliteSink({str(self.path)!r})"

    def _migrate(self) -> None:
        with self._transaction():
            self.db.execute(_schema.VERSION_TABLE)
            version = self.db.execute(_schema.VERSION_QUERY).fetchone()[0] or 0
            if version == 0 and self._has_table("calls"):
                version = 1  # written before the schema was versioned
            for statement in _schema.upgrade(int(version), "sqlite", str(self.path)):
                self.db.execute(statement)
            if 0 < int(version) < _schema.JOURNEYS_SINCE:
                self._backfill_journeys()

    def _backfill_journeys(self) -> None:
        """Each call with details gets its journey, read from its stored events (in the migration's transaction)."""
        for call in self.db.execute(sql.STORED_CALLS).fetchall():
            details = sql.stored_details(call, self.db.execute(sql.STORED_EVENTS, (call[0],)).fetchall())
            self.db.execute(sql.UPSERT_JOURNEY, _plain(sql.journey_values(details)))

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.db.execute(query, (name,)).fetchone() is not None

    async def version(self) -> int:
        return await self.run(lambda: int(self.db.execute(_schema.VERSION_QUERY).fetchone()[0]))

    async def close(self) -> None:
        with anyio.CancelScope(shield=True):  # closing is cleanup: it runs in a cancelled scope too
            await self.run(self.db.close)

    # -- a single export's checkpoint: its request, and its finished days ---------------------------

    async def meta(self, key: str) -> str | None:
        query = "SELECT value FROM export_meta WHERE key = ?"
        row = await self.run(lambda: self.db.execute(query, (key,)).fetchone())
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        statement = "INSERT OR REPLACE INTO export_meta (key, value) VALUES (?, ?)"
        await self.run(self._execute, statement, (key, value))

    async def accounts(self) -> list[Account]:
        """The accounts whose calls the file holds."""
        query = "SELECT DISTINCT container_id, tenant_id FROM calls WHERE container_id IS NOT NULL"
        return await self.run(lambda: [Account(c, int(t)) for c, t in self.db.execute(query)])

    async def day_done(self, key: str) -> bool:
        query = "SELECT 1 FROM export_chunks WHERE start = ?"
        return await self.run(lambda: self.db.execute(query, (key,)).fetchone() is not None)

    async def mark_day(self, key: str, end: datetime) -> None:
        statement = "INSERT OR REPLACE INTO export_chunks (start, end_) VALUES (?, ?)"
        await self.run(self._execute, statement, (key, end.isoformat()))

    # -- the Sink protocol -----------------------------------------------------------------------------

    async def upsert_calls(
        self, account: Account, calls: Sequence[CallSummary], *, seen: datetime | None = None
    ) -> Upserted:
        return await self.run(self._upsert_calls, account, calls, seen or datetime.now(UTC))

    def _upsert_calls(self, account: Account, calls: Sequence[CallSummary], seen: datetime) -> Upserted:
        uuids = list(dict.fromkeys(c.uuid for c in calls))
        with self._transaction():
            stored = [row for part in sql.batches(uuids) for row in self._among(sql.stored_calls, part)]
            rows, upserted = sql.calls_to_write(account, calls, stored, seen)
            self.db.executemany(sql.UPSERT_CALL, [_plain(r) for r in rows])
        return upserted

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        # The rows are made here, on the event loop: made on the worker thread, that Python work
        # held the GIL for long runs while the loop waited for it after each of its system calls.
        # A few calls at a time, with a loop turn between, so replies are not kept waiting meanwhile.
        rows: list[_DetailsRows] = []
        for start in range(0, len(batch), _ROWS_A_TURN):
            if start:
                await anyio.lowlevel.checkpoint()
            rows += [_details_rows(details) for details in batch[start : start + _ROWS_A_TURN]]
        await self.run(self._save_details, rows)

    def _save_details(self, rows: Sequence[_DetailsRows]) -> None:
        # A statement each for the batch, not three a call: each table gets its rows in the same order.
        with self._transaction():
            self.db.executemany(sql.UPSERT_EVENT, [event for _, events, _ in rows for event in events])
            self.db.executemany(sql.UPSERT_JOURNEY, [journey for _, _, journey in rows])
            self.db.executemany(sql.DETAILS_DONE, [(uuid,) for uuid, _, _ in rows])

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        await self.run(self._execute, sql.UPSERT_RECORDING, _plain(sql.recording_row(call_uuid, rec)))

    async def save_recordings(self, batch: Sequence[RecordingFile]) -> None:
        rows = [_plain(sql.recording_row(rec.call_uuid, rec)) for rec in batch]

        def write() -> None:
            with self._transaction():
                self.db.executemany(sql.UPSERT_RECORDING, rows)

        await self.run(write)

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        params = _plain(sql.window(account, start, end))
        return await self.run(lambda: [r[0] for r in self.db.execute(sql.NEEDING_DETAILS, params)])

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        params = _plain(sql.window(account, start, end))
        return await self.run(lambda: [(r[0], r[1]) for r in self.db.execute(sql.NEEDING_RECORDINGS, params)])

    async def details_missing(self, uuids: Sequence[str]) -> list[str]:
        return await self.run(lambda: [r[0] for p in sql.batches(uuids) for r in self._among(sql.details_among, p)])

    async def recordings_missing(self, uuids: Sequence[str]) -> list[tuple[str, str]]:
        parts = sql.batches(uuids)
        return await self.run(lambda: [(r[0], r[1]) for p in parts for r in self._among(sql.recordings_among, p)])

    def _among(self, statement: Any, uuids: Sequence[str | None]) -> list[tuple[Any, ...]]:
        return list(self.db.execute(statement(len(uuids)), tuple(uuids))) if uuids else []

    async def shard_done(self, key: str) -> bool:
        return await self.run(lambda: self.db.execute(sql.SHARD_DONE, (key,)).fetchone() is not None)

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        await self.run(self._execute, sql.UPSERT_SHARD, _plain(sql.shard_row(key, account, start, end)))

    async def sync_state(self, account: Account) -> SyncState | None:
        key = sql.sync_key(account)
        row = await self.run(lambda: self.db.execute(sql.SYNC_STATE, (key,)).fetchone())
        if row is None:
            return None
        spec, base_url, watermark, holder = row
        return SyncState(spec, base_url, None if watermark is None else datetime.fromisoformat(watermark), holder)

    async def save_sync_state(self, account: Account, state: SyncState) -> None:
        row = sql.sync_row(account, state.base_url, state.spec, state.watermark, state.holder or "")
        await self.run(self._execute, sql.UPSERT_SYNC, _plain(row))

    @asynccontextmanager
    async def hold(self, account: Account, holder: str) -> AsyncGenerator[None, None]:
        """A lock file beside the database, one per account: syncs of other accounts run beside it."""
        name = f"{self.path.name}.{account.container_id}-{account.tenant_id}.lock"
        with OutputLock(self.path.with_name(name), f"{self.path} for account {sql.sync_key(account)}"):
            yield

    # -- reading back --------------------------------------------------------------------------------

    async def counts(self) -> _schema.Counts:
        return _schema.Counts.from_row(await self.run(lambda: self.db.execute(_schema.COUNTS_QUERY).fetchone()))

    def rows(self, query: str, params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        """Rows of a query as they come; on the thread of ``run`` (``await sink.run(render, sink, ...)``)."""
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        yield from cursor.execute(query, params)

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock now: no deadlock between two writers

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
