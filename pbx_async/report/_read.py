"""Reading an export's output back as ``CallDetails``: the SQLite file, JSON lines, CSV or Parquet.

Only the columns every export writes are read (the calls' summary columns and
the events' ``uuid``, ``call_uuid``, ``date``, ``type_id``, ``data1``-``data4``),
so a newer export with more tables or columns reads the same.
"""

from __future__ import annotations

import csv
import itertools
import json
import operator
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from .._errors import ValidationError
from .._records.calls import CallDetails, CallDirection, CallSummary
from .._records.event_types import EVENT_TYPES
from .._records.events import Event, UnknownEvent

SUMMARY_COLUMNS = (
    "uuid",
    "date",
    "direction",
    "cid_name",
    "cid_num",
    "num_dialed",
    "duration",
    "recorded",
    "recording_url",
    "did_description",
    "cid_prefix",
    "last_event",
    "flagged",
    "severity",
    "notes",
    "went_to_voicemail",
    "spoke_to_person",
    "did_group",
    "transcription",
)
_FLAGS = ("recorded", "flagged", "went_to_voicemail", "spoke_to_person")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_IN_A_FOLDER = ("calls.sqlite", "calls.jsonl", "calls.csv", "calls.parquet")


@attrs.frozen
class ExportCall:
    """One call of an export: its details and whether its recording file was downloaded (None: not known)."""

    details: CallDetails
    downloaded: bool | None


_DIRECTIONS = {d.name.lower(): d for d in CallDirection}
_first = operator.itemgetter(0)


def flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "t")
    return bool(value)


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def summary(row: Mapping[str, Any]) -> CallSummary:
    """A ``calls`` row (any export format's spelling) as a ``CallSummary``."""
    return CallSummary(
        uuid=str(row["uuid"]),
        date=datetime.fromisoformat(str(row["date"])),
        direction=CallDirection[str(row["direction"]).upper()],
        cid_name=text(row.get("cid_name")),
        cid_num=text(row.get("cid_num")),
        num_dialed=text(row.get("num_dialed")),
        duration=_int(row.get("duration")),
        recorded=flag(row.get("recorded")),
        recording_url=text(row.get("recording_url")),
        did_description=text(row.get("did_description")),
        cid_prefix=text(row.get("cid_prefix")),
        last_event=text(row.get("last_event")),
        flagged=flag(row.get("flagged")),
        severity=_int(row.get("severity")),
        notes=text(row.get("notes")),
        went_to_voicemail=flag(row.get("went_to_voicemail")),
        spoke_to_person=flag(row.get("spoke_to_person")),
        did_group=text(row.get("did_group")),
        transcription=text(row.get("transcription")),
    )


def event(uuid: str, date: str | datetime, type_id: int | str, d1: Any, d2: Any, d3: Any, d4: Any) -> Event:
    """An ``events`` row as its event class; empty data fields are None, as the client gives them."""
    kind = int(type_id)
    when = date if isinstance(date, datetime) else datetime.fromisoformat(date)
    return EVENT_TYPES.get(kind, UnknownEvent)(uuid, when, kind, d1 or None, d2 or None, d3 or None, d4 or None)


def locate(source: Path) -> tuple[Path, str]:
    """The export file and its format; a folder holding one (``calls.sqlite`` first) will do."""
    if source.is_dir():
        found = next((source / name for name in _IN_A_FOLDER if (source / name).is_file()), None)
        if found is None:
            raise ValidationError(f"{source} holds no export ({', '.join(_IN_A_FOLDER)})")
        source = found
    if not source.is_file():
        raise ValidationError(f"no export at {source}")
    with source.open("rb") as fh:
        if fh.read(len(_SQLITE_MAGIC)) == _SQLITE_MAGIC:
            return source, "sqlite"
    kind = {".jsonl": "jsonl", ".json": "jsonl", ".csv": "csv", ".parquet": "parquet"}.get(source.suffix.lower())
    if kind is None:
        raise ValidationError(f"{source} is not an export: expected SQLite, .jsonl, .csv or .parquet")
    return source, kind


def read_calls(path: Path, kind: str) -> Iterator[ExportCall]:
    """Every call of the export with its events, in no promised order."""
    try:
        if kind == "sqlite":
            yield from _sqlite(path)
        elif kind == "jsonl":
            yield from _jsonl(path)
        else:
            yield from _tables(path, kind)
    except (sqlite3.DatabaseError, KeyError, ValueError, json.JSONDecodeError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise ValidationError(f"{path} is not a readable export: {exc}") from None


def _sqlite_summary(row: tuple[Any, ...]) -> CallSummary:
    """A ``calls`` row in ``SUMMARY_COLUMNS`` order, as SQLite keeps it (flags 0/1, times as text)."""
    (uuid, date, direction, cid_name, cid_num, num_dialed, duration, recorded, recording_url, did_description,
     cid_prefix, last_event, flagged, severity, notes, went_to_voicemail, spoke_to_person, did_group,
     transcription) = row  # fmt: skip
    return CallSummary(
        uuid, datetime.fromisoformat(date), _DIRECTIONS[direction], cid_name, cid_num, num_dialed, duration,
        bool(recorded), recording_url, did_description, cid_prefix, last_event, bool(flagged), severity, notes,
        bool(went_to_voicemail), bool(spoke_to_person), did_group, transcription,
    )  # fmt: skip


def open_sqlite(path: Path) -> sqlite3.Connection:
    """The export's SQLite file, read-only."""
    db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    db.execute("PRAGMA mmap_size = 1073741824")  # the events are read through an index: random pages
    return db


def sqlite_tables(db: sqlite3.Connection) -> set[str]:
    return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def read_sqlite(path: Path, uuids: Sequence[str] | None = None) -> Iterator[ExportCall]:
    """The calls of a SQLite export whole, by UUID; ``uuids`` picks a few (None: every call)."""
    try:
        yield from _sqlite(path, uuids)
    except sqlite3.DatabaseError as exc:
        raise ValidationError(f"{path} is not a readable export: {exc}") from None


def _sqlite(path: Path, uuids: Sequence[str] | None = None) -> Iterator[ExportCall]:
    db = open_sqlite(path)
    try:
        tables = sqlite_tables(db)
        downloaded = {r[0] for r in db.execute("SELECT call_uuid FROM recordings")} if "recordings" in tables else None
        picked, args = ("", ()) if uuids is None else (f" IN ({', '.join('?' * len(uuids))})", tuple(uuids))
        where = f"WHERE uuid{picked}" if picked else ""
        calls = db.execute(f"SELECT {', '.join(SUMMARY_COLUMNS)} FROM calls {where} ORDER BY uuid", args)  # noqa: S608
        events = db.cursor().execute(
            "SELECT call_uuid, uuid, date, type_id, data1, data2, data3, data4 FROM events "  # noqa: S608
            f"{f'WHERE call_uuid{picked}' if picked else ''} "
            "ORDER BY call_uuid, date, rowid",  # rowid: the order they were written, the server's, within a second
            args,
        )
        groups = itertools.groupby(events, key=_first)
        pending = next(groups, None)
        for row in calls:
            uuid = row[0]
            while pending is not None and pending[0] < uuid:  # events of a call the calls table lacks
                pending = next(groups, None)
            found: tuple[Event, ...] = ()
            if pending is not None and pending[0] == uuid:
                found = tuple(
                    EVENT_TYPES.get(t, UnknownEvent)(
                        u, datetime.fromisoformat(d), t, d1 or None, d2 or None, d3 or None, d4 or None
                    )
                    for _, u, d, t, d1, d2, d3, d4 in pending[1]
                )
                pending = next(groups, None)
            yield ExportCall(
                CallDetails(_sqlite_summary(row), found), None if downloaded is None else uuid in downloaded
            )
    finally:
        db.close()


def _jsonl(path: Path) -> Iterator[ExportCall]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield jsonl_call(line)


def jsonl_call(line: str | bytes) -> ExportCall:
    """One line of a JSON lines export."""
    row = json.loads(line)
    events = tuple(
        event(e["uuid"], e["date"], e["type_id"], e.get("data1"), e.get("data2"), e.get("data3"), e.get("data4"))
        for e in row.get("events") or ()
    )
    recording = row.get("recording")
    return ExportCall(CallDetails(summary(row), events), recording is not None if "recording" in row else None)


def rows(path: Path, kind: str, where: tuple[str, set[str]] | None = None) -> Iterator[dict[str, Any]]:
    """The rows of a CSV or Parquet file; ``where`` (column, values) keeps those with one of the values there."""
    if kind == "csv":
        with path.open(encoding="utf-8", newline="") as fh:
            if where is None:
                yield from csv.DictReader(fh)
                return
            reader = csv.reader(fh)
            header = next(reader, [])
            at, values = header.index(where[0]), where[1]
            yield from (dict(zip(header, r, strict=True)) for r in reader if r[at] in values)
        return
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ValidationError(f"reading {path} needs pyarrow: pip install 'pbx-async[parquet]'") from None
    if where is not None:
        yield from pq.read_table(path, filters=[(where[0], "in", sorted(where[1]))]).to_pylist()
        return
    for batch in pq.ParquetFile(path).iter_batches(batch_size=10_000):
        yield from batch.to_pylist()


def _tables(path: Path, kind: str) -> Iterator[ExportCall]:
    """CSV and Parquet: ``calls.csv`` beside ``calls-events.csv`` (no events file: calls without events)."""
    calls = {str(r["uuid"]): r for r in rows(path, kind)}
    events_file = path.with_name(f"{path.stem}-events{path.suffix}")
    by_call: dict[str, list[Event]] = {}
    if events_file.is_file():
        for e in rows(events_file, kind):
            by_call.setdefault(str(e["call_uuid"]), []).append(
                event(
                    str(e["uuid"]),
                    e["date"],
                    e["type_id"],
                    e.get("data1"),
                    e.get("data2"),
                    e.get("data3"),
                    e.get("data4"),
                )
            )
    for uuid, row in calls.items():
        path_value = row.get("recording_path")
        downloaded = None if "recording_path" not in row else bool(path_value)
        yield ExportCall(CallDetails(summary(row), tuple(by_call.get(uuid, ()))), downloaded)


def columns(path: Path, kind: str, names: tuple[str, ...]) -> Iterator[tuple[Any, ...]]:
    """The columns ``names`` of every row of a CSV or Parquet file, as tuples."""
    if kind == "csv":
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, [])
            pick = operator.itemgetter(*(header.index(c) for c in names))
            yield from map(tuple, map(pick, reader)) if len(names) > 1 else ((pick(r),) for r in reader)
        return
    import pyarrow.parquet as pq  # present: the calls file was read with it

    for batch in pq.ParquetFile(path).iter_batches(batch_size=50_000, columns=list(names)):
        yield from zip(*(batch.column(c).to_pylist() for c in names), strict=True)
