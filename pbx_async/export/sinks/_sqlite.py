"""The SQLite sink: output for ``--format sqlite``, staging and checkpoint for the other formats.

Every write is an upsert keyed by UUID; a call's events and its
``details_done`` flag share a transaction, so a rerun after any interruption
converges on each call, event and recording exactly once. Tables, rows and
statements are ``_schema``'s and ``_statements``'; this module adapts them to
``sqlite3`` (times as ISO 8601 text in UTC, so text order is time order; flags
as 0/1). Several processes may write one file: writers wait for each other
(``busy_timeout``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..._records.calls import CallDetails, CallSummary
from ..._records.recordings import RecordingFile
from .._lock import OutputLock
from . import _schema
from . import _statements as sql
from ._protocol import Account, SyncState, Upserted


def utc_text(moment: datetime) -> str:
    """How SQLite stores a time: ISO 8601 in UTC, so comparing text compares instants."""
    return moment.astimezone(UTC).isoformat()


def _plain(row: Iterable[Any]) -> tuple[Any, ...]:
    """SQLite's spelling: times as ISO 8601 text in UTC, flags as 0/1."""
    return tuple(utc_text(v) if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v for v in row)


class SqliteSink:
    """One SQLite file, created or migrated on open; WAL mode, so a crash never leaves half a transaction.

    sink = SqliteSink(Path("calls.sqlite"))
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None, timeout=60)  # transactions are explicit
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        try:
            self._migrate()
        except BaseException:
            self.db.close()
            raise

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

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.db.execute(query, (name,)).fetchone() is not None

    async def version(self) -> int:
        return int(self.db.execute(_schema.VERSION_QUERY).fetchone()[0])

    async def close(self) -> None:
        self.db.close()

    # -- a single export's checkpoint: its request, and its finished days ---------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM export_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO export_meta (key, value) VALUES (?, ?)", (key, value))

    def accounts(self) -> list[Account]:
        """The accounts whose calls the file holds."""
        query = "SELECT DISTINCT container_id, tenant_id FROM calls WHERE container_id IS NOT NULL"
        return [Account(c, int(t)) for c, t in self.db.execute(query)]

    def day_done(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM export_chunks WHERE start = ?", (key,)).fetchone() is not None

    def mark_day(self, key: str, end: datetime) -> None:
        self.db.execute("INSERT OR REPLACE INTO export_chunks (start, end_) VALUES (?, ?)", (key, end.isoformat()))

    # -- the Sink protocol -----------------------------------------------------------------------------

    async def upsert_calls(
        self, account: Account, calls: Sequence[CallSummary], *, seen: datetime | None = None
    ) -> Upserted:
        uuids = list(dict.fromkeys(c.uuid for c in calls))
        with self._transaction():
            stored = [row for part in sql.batches(uuids) for row in self._among(sql.stored_calls, part)]
            rows, upserted = sql.calls_to_write(account, calls, stored, seen or datetime.now(UTC))
            self.db.executemany(sql.UPSERT_CALL, [_plain(r) for r in rows])
        return upserted

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        with self._transaction():
            for details in batch:
                rows = [_plain(sql.event_row(details.call.uuid, e)) for e in details.events]
                self.db.executemany(sql.UPSERT_EVENT, rows)
                self.db.execute(sql.DETAILS_DONE, (details.call.uuid,))

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        self.db.execute(sql.UPSERT_RECORDING, _plain(sql.recording_row(call_uuid, rec)))

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        return [r[0] for r in self.db.execute(sql.NEEDING_DETAILS, _plain(sql.window(account, start, end)))]

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        rows = self.db.execute(sql.NEEDING_RECORDINGS, _plain(sql.window(account, start, end)))
        return [(r[0], r[1]) for r in rows]

    async def details_missing(self, uuids: Sequence[str]) -> list[str]:
        return [r[0] for part in sql.batches(uuids) for r in self._among(sql.details_among, part)]

    async def recordings_missing(self, uuids: Sequence[str]) -> list[tuple[str, str]]:
        return [(r[0], r[1]) for part in sql.batches(uuids) for r in self._among(sql.recordings_among, part)]

    def _among(self, statement: Any, uuids: Sequence[str]) -> list[tuple[Any, ...]]:
        return list(self.db.execute(statement(len(uuids)), tuple(uuids))) if uuids else []

    async def shard_done(self, key: str) -> bool:
        return self.db.execute(sql.SHARD_DONE, (key,)).fetchone() is not None

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        self.db.execute(sql.UPSERT_SHARD, _plain(sql.shard_row(key, account, start, end)))

    async def sync_state(self, account: Account) -> SyncState | None:
        row = self.db.execute(sql.SYNC_STATE, (sql.sync_key(account),)).fetchone()
        if row is None:
            return None
        spec, base_url, watermark, holder = row
        return SyncState(spec, base_url, None if watermark is None else datetime.fromisoformat(watermark), holder)

    async def save_sync_state(self, account: Account, state: SyncState) -> None:
        row = sql.sync_row(account, state.base_url, state.spec, state.watermark, state.holder or "")
        self.db.execute(sql.UPSERT_SYNC, _plain(row))

    @asynccontextmanager
    async def hold(self, account: Account, holder: str) -> AsyncIterator[None]:
        """A lock file beside the database, one per account: syncs of other accounts run beside it."""
        name = f"{self.path.name}.{account.container_id}-{account.tenant_id}.lock"
        with OutputLock(self.path.with_name(name), f"{self.path} for account {sql.sync_key(account)}"):
            yield

    # -- reading back --------------------------------------------------------------------------------

    async def counts(self) -> _schema.Counts:
        return _schema.Counts.from_row(self.db.execute(_schema.COUNTS_QUERY).fetchone())

    def rows(self, query: str, params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
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
