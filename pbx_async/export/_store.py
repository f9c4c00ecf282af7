"""The export's SQLite store: output for ``--format sqlite``, staging and checkpoint for the rest.

Every write is an upsert keyed by UUID inside one transaction per call, so a
rerun after any interruption converges on each call, event and recording
exactly once. Schema (documented in the README):

- ``calls``: one row per call; the summary fields, ``details_done`` (0/1).
- ``events``: one row per event; ``call_uuid``, ``date`` (ISO 8601 with
  offset), ``type_id``, ``type_name`` (the table's purpose), raw ``data1``..
  ``data4`` and ``fields``, the named typed fields as JSON.
- ``recordings``: one row per downloaded recording: ``path``, ``size``, ``sha256``.
- ``export_meta`` and ``export_chunks``: what was asked, and which time
  windows are finished.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from .._records.calls import CallDetails, CallSummary
from .._records.events import Event
from .._records.recordings import RecordingFile

SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    uuid TEXT PRIMARY KEY,
    date TEXT NOT NULL,
    direction TEXT NOT NULL,
    cid_name TEXT, cid_num TEXT, num_dialed TEXT,
    duration INTEGER,
    recorded INTEGER NOT NULL,
    recording_url TEXT, did_description TEXT, cid_prefix TEXT, last_event TEXT,
    flagged INTEGER NOT NULL,
    severity INTEGER,
    notes TEXT,
    went_to_voicemail INTEGER NOT NULL,
    spoke_to_person INTEGER NOT NULL,
    did_group TEXT, transcription TEXT,
    details_done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_by_date ON calls (date);
CREATE TABLE IF NOT EXISTS events (
    uuid TEXT PRIMARY KEY,
    call_uuid TEXT NOT NULL REFERENCES calls (uuid),
    date TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    type_name TEXT NOT NULL,
    data1 TEXT, data2 TEXT, data3 TEXT, data4 TEXT,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_call ON events (call_uuid, date);
CREATE TABLE IF NOT EXISTS recordings (
    call_uuid TEXT PRIMARY KEY REFERENCES calls (uuid),
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS export_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS export_chunks (start TEXT PRIMARY KEY, end_ TEXT NOT NULL);
"""

CALL_COLUMNS = (
    "uuid", "date", "direction", "cid_name", "cid_num", "num_dialed", "duration", "recorded", "recording_url",
    "did_description", "cid_prefix", "last_event", "flagged", "severity", "notes", "went_to_voicemail",
    "spoke_to_person", "did_group", "transcription",
)  # fmt: skip
EVENT_COLUMNS = ("uuid", "call_uuid", "date", "type_id", "type_name", "data1", "data2", "data3", "data4", "fields")


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
    return (
        call.uuid, call.date.isoformat(), call.direction.name.lower(), call.cid_name, call.cid_num, call.num_dialed,
        call.duration, int(call.recorded), call.recording_url, call.did_description, call.cid_prefix,
        call.last_event, int(call.flagged), call.severity, call.notes, int(call.went_to_voicemail),
        int(call.spoke_to_person), call.did_group, call.transcription,
    )  # fmt: skip


def _event_row(call_uuid: str, e: Event) -> tuple[Any, ...]:
    fields = json.dumps(named_fields(e))
    return (e.uuid, call_uuid, e.date.isoformat(), e.type_id, e.PURPOSE, e.data1, e.data2, e.data3, e.data4, fields)


class Store:
    """One SQLite file; opened in WAL mode so a crash never leaves a half-written transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(path, isolation_level=None)  # transactions are explicit
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    # -- what was asked ---------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM export_meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO export_meta (key, value) VALUES (?, ?)", (key, value))

    def chunk_done(self, start: str) -> bool:
        return self.db.execute("SELECT 1 FROM export_chunks WHERE start = ?", (start,)).fetchone() is not None

    def mark_chunk(self, start: str, end: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO export_chunks (start, end_) VALUES (?, ?)", (start, end))

    # -- data ---------------------------------------------------------------------------------------

    def upsert_calls(self, calls: Sequence[CallSummary]) -> None:
        placeholders = ", ".join("?" * len(CALL_COLUMNS))
        updates = ", ".join(f"{c} = excluded.{c}" for c in CALL_COLUMNS[1:])
        with self._transaction():
            self.db.executemany(
                f"INSERT INTO calls ({', '.join(CALL_COLUMNS)}) VALUES ({placeholders}) "  # noqa: S608 - fixed names
                f"ON CONFLICT (uuid) DO UPDATE SET {updates}",
                [call_row(c) for c in calls],
            )

    def save_details(self, details: CallDetails) -> None:
        call_uuid = details.call.uuid
        rows = [_event_row(call_uuid, e) for e in details.events]
        with self._transaction():
            self.db.executemany(
                f"INSERT OR REPLACE INTO events ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join('?' * 10)})",  # noqa: S608
                rows,
            )
            self.db.execute("UPDATE calls SET details_done = 1 WHERE uuid = ?", (details.call.uuid,))

    def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO recordings (call_uuid, path, size, sha256) VALUES (?, ?, ?, ?)",
            (call_uuid, str(rec.path), rec.size, rec.sha256),
        )

    def calls_needing_details(self, start: str, end: str) -> list[str]:
        query = "SELECT uuid FROM calls WHERE details_done = 0 AND date >= ? AND date <= ? ORDER BY date"
        return [r[0] for r in self.db.execute(query, (start, end))]

    def calls_needing_recordings(self, start: str, end: str) -> list[tuple[str, str]]:
        query = (
            "SELECT c.uuid, c.recording_url FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid "
            "WHERE c.recorded = 1 AND c.recording_url IS NOT NULL AND r.call_uuid IS NULL "
            "AND c.date >= ? AND c.date <= ? ORDER BY c.date"
        )
        return [(r[0], r[1]) for r in self.db.execute(query, (start, end))]

    def counts(self) -> dict[str, int]:
        return {
            table: int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - fixed names
            for table in ("calls", "events", "recordings")
        }

    def rows(self, query: str, params: Sequence[Any] = ()) -> Iterator[sqlite3.Row]:
        cursor = self.db.cursor()
        cursor.row_factory = sqlite3.Row
        yield from cursor.execute(query, params)

    def _transaction(self) -> Any:
        return _Transaction(self.db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> None:
        self.db.execute("BEGIN")

    def __exit__(self, exc_type: type[BaseException] | None, *rest: object) -> None:
        self.db.execute("ROLLBACK" if exc_type else "COMMIT")
