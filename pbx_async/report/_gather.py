"""Counting an export for the report: from the journeys a SQLite export stored, else from every call's events.

A SQLite export made with details holds a ``journeys`` table, written in the
same transaction as each call's events (``journey_row`` of ``call_journey``).
Reading it is several times faster than reading every event and reading the
journeys again, and gives the same figures: the report counts the same
``Facts`` either way. One call with events but no stored journey, no
``journeys`` table or an empty one, and the JSON lines, CSV and Parquet
outputs: the export is read event by event. The sample calls
are read whole either way, their journeys read from their events.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

import msgspec

from .._errors import ValidationError
from .._journey import call_journey
from ._facts import STORED_COLUMNS, Call, call_of, facts, stored_facts
from ._read import open_sqlite, read_calls, read_sqlite, sqlite_tables
from ._stats import Sample, Stats

_fromisoformat = datetime.fromisoformat


def gather(path: Path, kind: str, *, stored: bool = True) -> Stats:
    """The report's figures for the export at ``path`` (``locate``'s format ``kind``); ``stored=False`` ignores
    stored journeys (every journey read from its events)."""
    if stored and kind == "sqlite":
        try:
            stats = _stored(path)
        except (sqlite3.DatabaseError, msgspec.MsgspecError) as exc:
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


def _stored(path: Path) -> Stats | None:
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
