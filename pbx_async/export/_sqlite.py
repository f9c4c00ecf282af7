"""The SQLite sink: output for ``--format sqlite``, staging and checkpoint for the other formats.

Every write is an upsert keyed by UUID; a call's events and its
``details_done`` flag share a transaction, so a rerun after any interruption
converges on each call, event and recording exactly once. The tables are
``_schema``'s (documented there and in the README). Several processes may
write one file: writers wait for each other (``busy_timeout``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .._records.calls import CallDetails, CallSummary
from .._records.events import Event
from .._records.recordings import RecordingFile
from . import _schema
from ._schema import ACCOUNT_COLUMNS, CALL_COLUMNS, EVENT_COLUMNS
from ._sink import Account, after

__all__ = ["CALL_COLUMNS", "EVENT_COLUMNS", "SqliteSink", "call_row", "named_fields"]


def named_fields(event: Event) -> dict[str, Any]:
    """The event's named views (``ext_num``, ``page_count``, ...), as plain values."""
    names = [
        name
        for klass in type(event).__mro__
        if klass is not Event and issubclass(klass, Event)
        for name, attribute in vars(klass).items()
        if isinstance(attribute, property)
    ]
    return {name: getattr(event, name) for name in names}


def call_row(call: CallSummary) -> tuple[Any, ...]:
    """The call's summary columns (``CALL_COLUMNS``) as Python values; times stay datetimes."""
    return (
        call.uuid, call.date, call.direction.name.lower(), call.cid_name, call.cid_num, call.num_dialed,
        call.duration, call.recorded, call.recording_url, call.did_description, call.cid_prefix,
        call.last_event, call.flagged, call.severity, call.notes, call.went_to_voicemail,
        call.spoke_to_person, call.did_group, call.transcription,
    )  # fmt: skip


def event_row(call_uuid: str, e: Event) -> tuple[Any, ...]:
    """The event's columns (``EVENT_COLUMNS``); ``fields`` as JSON text."""
    fields = json.dumps(named_fields(e))
    return (e.uuid, call_uuid, e.date, e.type_id, e.PURPOSE, e.data1, e.data2, e.data3, e.data4, fields)


def _plain(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """SQLite's spelling: times as ISO 8601 text, flags as 0/1."""
    return tuple(v.isoformat() if isinstance(v, datetime) else int(v) if isinstance(v, bool) else v for v in row)


class SqliteSink:
    """One SQLite file, created or migrated on open; WAL mode, so a crash never leaves half a transaction."""

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

    def _migrate(self) -> None:
        with self._transaction():
            self.db.execute(_schema.VERSION_TABLE)
            row = self.db.execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(row[0]) if row[0] is not None else 0
            if version == 0 and self._has_table("calls"):
                version = 1  # written before the schema was versioned
            for number, statements in _schema.pending(version, "sqlite", str(self.path)):
                for statement in statements:
                    self.db.execute(statement)
                self.db.execute("DELETE FROM schema_version")
                self.db.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))

    def _has_table(self, name: str) -> bool:
        query = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self.db.execute(query, (name,)).fetchone() is not None

    def version(self) -> int:
        return int(self.db.execute("SELECT max(version) FROM schema_version").fetchone()[0])

    async def close(self) -> None:
        self.db.close()

    # -- a single export's checkpoint -----------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM export_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO export_meta (key, value) VALUES (?, ?)", (key, value))

    def chunk_done(self, start: str) -> bool:
        return self.db.execute("SELECT 1 FROM export_chunks WHERE start = ?", (start,)).fetchone() is not None

    def mark_chunk(self, start: str, end: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO export_chunks (start, end_) VALUES (?, ?)", (start, end))

    # -- the Sink protocol -----------------------------------------------------------------------------

    async def upsert_calls(self, account: Account, calls: Sequence[CallSummary]) -> None:
        names = (*CALL_COLUMNS, *ACCOUNT_COLUMNS)
        updates = ", ".join(f"{c} = excluded.{c}" for c in names[1:])
        rows = [_plain((*call_row(c), account.container_id, account.tenant_id)) for c in calls]
        with self._transaction():
            self.db.executemany(
                f"INSERT INTO calls ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "  # noqa: S608
                f"ON CONFLICT (uuid) DO UPDATE SET {updates}",
                rows,
            )

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        with self._transaction():
            for details in batch:
                rows = [_plain(event_row(details.call.uuid, e)) for e in details.events]
                self.db.executemany(
                    f"INSERT OR REPLACE INTO events ({', '.join(EVENT_COLUMNS)}) "  # noqa: S608 - fixed names
                    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})",
                    rows,
                )
                self.db.execute("UPDATE calls SET details_done = 1 WHERE uuid = ?", (details.call.uuid,))

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO recordings (call_uuid, path, size, sha256) VALUES (?, ?, ?, ?)",
            (call_uuid, str(rec.path), rec.size, rec.sha256),
        )

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        query = (
            "SELECT uuid FROM calls WHERE details_done = 0 AND container_id = ? AND tenant_id = ? "
            "AND date >= ? AND date < ? ORDER BY date"
        )
        params = (account.container_id, account.tenant_id, start.isoformat(), after(end).isoformat())
        return [r[0] for r in self.db.execute(query, params)]

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        query = (
            "SELECT c.uuid, c.recording_url FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid "
            "WHERE c.recorded = 1 AND c.recording_url IS NOT NULL AND r.call_uuid IS NULL "
            "AND c.container_id = ? AND c.tenant_id = ? AND c.date >= ? AND c.date < ? ORDER BY c.date"
        )
        params = (account.container_id, account.tenant_id, start.isoformat(), after(end).isoformat())
        return [(r[0], r[1]) for r in self.db.execute(query, params)]

    async def shard_done(self, key: str) -> bool:
        return self.db.execute("SELECT 1 FROM export_shards WHERE key = ?", (key,)).fetchone() is not None

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO export_shards (key, container_id, tenant_id, start, end_, finished_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (key, account.container_id, account.tenant_id, start.isoformat(), end.isoformat(), _now()),
        )

    # -- reading back --------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
            for table in ("calls", "events", "recordings")
        }

    def rows(self, query: str, params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        yield from cursor.execute(query, params)

    def _transaction(self) -> _Transaction:
        return _Transaction(self.db)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN IMMEDIATE")  # take the write lock now: no deadlock between two writers

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
