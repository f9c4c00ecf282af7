"""CSV and Parquet exports counted from their journeys: ``calls.csv``, ``calls-events.csv``, ``calls-journeys.csv``.

The journeys file holds ``journey_row``'s columns (in CSV every value as
text, an empty field for None; in Parquet typed), the list-shaped ones as JSON
text, as in SQLite. The events file is only counted (each call's events and
event types); the few sample calls are read whole from it afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from .._journey import call_journey
from .._records.calls import CallDetails, CallDirection
from .._records.events import Event
from ._facts import Call, Facts
from ._read import ExportCall, columns, event, flag, rows, summary, text
from ._stats import Sample, Stats
from ._stored import STORED_COLUMNS, stored_facts

_SCALARS = len(STORED_COLUMNS) - 7  # the columns before the lists


def _facts(row: tuple[Any, ...]) -> Facts:
    """A journeys file's row (call_uuid, then ``STORED_COLUMNS``) as ``Facts``: CSV's empty fields are None."""
    values = [None if v is None or v == "" else v for v in row[1 : 1 + _SCALARS]]
    return stored_facts((*values, *row[1 + _SCALARS :]))


def stored_tables(path: Path, kind: str) -> Stats | None:
    """The figures of a CSV or Parquet export from its ``-journeys`` file; None when there is none."""
    journeys_file = path.with_name(f"{path.stem}-journeys{path.suffix}")
    events_file = path.with_name(f"{path.stem}-events{path.suffix}")
    if not journeys_file.is_file():
        return None
    stored = {str(r[0]): _facts(r) for r in columns(journeys_file, kind, ("call_uuid", *STORED_COLUMNS))}
    calls = {str(r["uuid"]): r for r in rows(path, kind)}
    types: dict[str, list[Any]] = {}  # call -> the type ids of its events
    if events_file.is_file():
        for call_uuid, type_id in columns(events_file, kind, ("call_uuid", "type_id")):
            types.setdefault(str(call_uuid), []).append(type_id)
    stats, add = Stats(), Stats.add
    for uuid, row in calls.items():
        found_types = types.get(uuid, ())
        n, distinct = len(found_types), len(set(map(int, found_types)))
        found = stored.get(uuid) if n else None
        if n and found is None:
            return None  # events the export stored no journey for: every call is read from its events
        call = Call(
            uuid, datetime.fromisoformat(str(row["date"])), CallDirection[str(row["direction"]).upper()].name.lower(),
            text(row.get("num_dialed")), text(row.get("did_description")), flag(row.get("recorded")),
            None if "recording_path" not in row else bool(row.get("recording_path")), n, distinct,
        )  # fmt: skip
        add(stats, call, found)
    _samples(stats, calls, events_file, kind)
    return stats


def _samples(stats: Stats, calls: Mapping[str, Mapping[str, Any]], events_file: Path, kind: str) -> None:
    """The best sample calls read whole, their events in the file's order."""
    wanted = {uuid for _, uuid in stats.best.values()}
    events: dict[str, list[Event]] = {uuid: [] for uuid in wanted}
    if wanted:
        for e in rows(events_file, kind, where=("call_uuid", wanted)):
            data = (e.get("data1"), e.get("data2"), e.get("data3"), e.get("data4"))
            events[str(e["call_uuid"])].append(event(str(e["uuid"]), e["date"], e["type_id"], *data))
    for sample_kind, (types, uuid) in stats.best.items():
        row = calls[uuid]
        downloaded = None if "recording_path" not in row else bool(row.get("recording_path"))
        item = ExportCall(CallDetails(summary(row), tuple(events[uuid])), downloaded)
        stats.samples[sample_kind] = Sample(sample_kind, (types, uuid), item, call_journey(item.details))
