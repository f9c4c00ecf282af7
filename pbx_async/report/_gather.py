"""Counting an export for the report: from the journeys the export stored, else from every call's events.

An export made with details stores each call's journey (``journey_row`` of
``call_journey``) with its events: a SQLite export in its ``journeys`` table,
written in the same transaction, a file export in ``OUT-journeys.jsonl`` (.csv,
.parquet).
Reading those is several times faster than reading every event and reading
the journeys again, and gives the same figures: the report counts the same
``Facts`` either way, and the events are only counted. CSV and Parquet
exports have an ``OUT-journeys`` file too (``_tables``). One call with events
but no stored journey, or no stored journeys at all: the export is read event
by event. The sample calls are read whole
either way, their journeys read from their events.
"""

from __future__ import annotations

import csv
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from .._errors import ValidationError
from .._journey import call_journey
from .._records.calls import CallDirection
from ._facts import Call, Facts, call_of, facts
from ._read import flag, jsonl_call, open_sqlite, read_calls, read_sqlite, sqlite_tables, text
from ._stats import Sample, Stats
from ._stored import STORED_COLUMNS, jsonl_facts, jsonl_journey, stored_facts
from ._tables import stored_tables

_fromisoformat = datetime.fromisoformat


def gather(path: Path, kind: str, *, stored: bool = True) -> Stats:
    """The report's figures for the export at ``path`` (``locate``'s format ``kind``); ``stored=False`` ignores
    stored journeys (every journey read from its events)."""
    if stored:
        try:
            stats = _STORED[kind](path, kind)
        except ValidationError:
            raise
        except (sqlite3.DatabaseError, msgspec.MsgspecError, csv.Error, KeyError, ValueError) as exc:
            raise ValidationError(f"{path} is not a readable export: {exc}") from None
        if stats is not None:
            return stats
    stats = Stats()
    for item in read_calls(path, kind):
        if not item.details.events:
            stats.add(call_of(item), None)
            continue
        journey = call_journey(item.details)
        stats.add(call_of(item), facts(journey), (item, journey))
    return stats


# The calls with their stored journeys; the events are counted apart, in a stream in the same (UUID) order.
_CALLS = (
    "SELECT c.uuid, c.date, c.direction, c.num_dialed, c.did_description, c.recorded, j.call_uuid IS NOT NULL, "  # noqa: S608
    f"{', '.join(f'j.{name}' for name in STORED_COLUMNS)} "
    "FROM calls c LEFT JOIN journeys j ON j.call_uuid = c.uuid ORDER BY c.uuid"
)
_COUNTS = "SELECT call_uuid, count(*) FROM events GROUP BY call_uuid ORDER BY call_uuid"
_TYPES = "SELECT call_uuid, count(DISTINCT type_id) FROM events WHERE call_uuid IN ({}) GROUP BY call_uuid"
_CHUNK = 200


def _stored(path: Path, kind: str) -> Stats | None:
    """The figures from the stored journeys; None when the export has none stored."""
    db = open_sqlite(path)
    try:
        tables = sqlite_tables(db)
        if "journeys" not in tables or db.execute("SELECT 1 FROM journeys LIMIT 1").fetchone() is None:
            return None
        recordings = {r[0] for r in db.execute("SELECT call_uuid FROM recordings")} if "recordings" in tables else None
        counts = db.cursor().execute(_COUNTS)
        stats, add, pending = Stats(), Stats.add, next(counts, None)
        for row in db.execute(_CALLS):
            uuid, date, direction, num_dialed, did_description, recorded, stored = row[:7]
            while pending is not None and pending[0] < uuid:  # events of a call the calls table lacks
                pending = next(counts, None)
            n = 0
            if pending is not None and pending[0] == uuid:
                n = pending[1]
                if not stored:
                    return None  # events the export stored no journey for: every call is read from its events
            call = Call(
                uuid, _fromisoformat(date), direction, num_dialed, did_description, bool(recorded),
                None if recordings is None else uuid in recordings, n, None,
            )  # fmt: skip
            add(stats, call, stored_facts(row[7:]) if n else None)
        for kind, candidates in stats.unscored.items():
            stats.best[kind] = _best(db, candidates)
    finally:
        db.close()
    for item in read_sqlite(path, sorted({uuid for _, uuid in stats.best.values()})):
        journey = call_journey(item.details)
        for kind, (types, uuid) in stats.best.items():
            if uuid == item.details.call.uuid:
                stats.samples[kind] = Sample(kind, (types, uuid), item, journey)
    return stats


def _best(db: sqlite3.Connection, candidates: list[tuple[int, str]]) -> tuple[int, str]:
    """The highest (distinct event types, UUID) of the candidates (events, UUID).

    A call has no more types than events, so the candidates are taken most
    events first and the search stops where none left can have as many types.
    """
    candidates.sort(reverse=True)
    best = (0, "")
    for start in range(0, len(candidates), _CHUNK):
        if candidates[start][0] < best[0]:
            break
        chunk = [uuid for _, uuid in candidates[start : start + _CHUNK]]
        for uuid, types in db.execute(_TYPES.format(", ".join("?" * len(chunk))), chunk):
            best = max(best, (types, uuid))
    return best


class _Type(msgspec.Struct):
    type_id: Any


class _JsonlCall(msgspec.Struct):
    """The fields of a JSON lines call the report counts (its events: their types only)."""

    uuid: Any
    date: Any
    direction: Any
    num_dialed: Any = None
    did_description: Any = None
    recorded: Any = None
    recording: Any = msgspec.UNSET
    events: list[_Type] | None = None


_jsonl_call = msgspec.json.Decoder(_JsonlCall).decode


def _stored_jsonl(path: Path, kind: str) -> Stats | None:
    """The figures of a JSON lines export from its ``-journeys`` file; None when there is none."""
    journeys_file = path.with_name(f"{path.stem}-journeys{path.suffix}")
    if not journeys_file.is_file():
        return None
    stored: dict[str, Facts] = {}
    with journeys_file.open("rb") as fh:
        for line in fh:
            if line.strip():
                journey = jsonl_journey(line)
                stored[journey.call_uuid] = jsonl_facts(journey)
    stats, add, offset = Stats(), Stats.add, 0
    offsets: dict[str, int] = {}  # where each call's line starts, to read the sample calls again
    with path.open("rb") as fh:
        for line in fh:
            at, offset = offset, offset + len(line)
            if not line.strip():
                continue
            row = _jsonl_call(line)
            uuid, events = str(row.uuid), row.events or ()
            found = stored.get(uuid) if events else None
            if events and found is None:
                return None  # events the export stored no journey for: every call is read from its events
            recording = row.recording
            call = Call(
                uuid, _fromisoformat(str(row.date)), CallDirection[str(row.direction).upper()].name.lower(),
                text(row.num_dialed), text(row.did_description), flag(row.recorded),
                None if recording is msgspec.UNSET else recording is not None,
                len(events), len({int(e.type_id) for e in events}),
            )  # fmt: skip
            offsets[uuid] = at
            add(stats, call, found)
        for kind, (types, uuid) in stats.best.items():
            fh.seek(offsets[uuid])
            item = jsonl_call(fh.readline())
            stats.samples[kind] = Sample(kind, (types, uuid), item, call_journey(item.details))
    return stats


_STORED: dict[str, Callable[[Path, str], Stats | None]] = {
    "sqlite": _stored,
    "jsonl": _stored_jsonl,
    "csv": stored_tables,
    "parquet": stored_tables,
}
