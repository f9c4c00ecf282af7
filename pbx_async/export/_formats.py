"""Rendering the finished store as JSON lines, CSV or Parquet, streamed and written atomically.

Every call carries its account (``container_id``, ``tenant_id``) and when it
was first seen and last changed; times are written in the run's UTC offset
(the store keeps them in UTC). With details, each call's journey goes to a
file beside the output (``journeys_path``): list-shaped fields as JSON
objects in JSON lines, as JSON text in CSV and Parquet.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .._errors import ValidationError
from .sinks._schema import (
    ACCOUNT_COLUMNS,
    CALL_COLUMNS,
    EVENT_COLUMNS,
    FLAG_COLUMNS,
    JOURNEY_NAMES,
    SEEN_COLUMNS,
    kind_of,
)
from .sinks._sqlite import SqliteSink

FORMATS = ("sqlite", "jsonl", "csv", "parquet")
RECORDING_COLUMNS = ("recording_path", "recording_size", "recording_sha256")
ROW_COLUMNS = (*CALL_COLUMNS, *ACCOUNT_COLUMNS, *SEEN_COLUMNS)  # a call's columns in every file format
_TIMES = tuple(c for c in ROW_COLUMNS if kind_of("calls", c) == "time")
_CALLS_QUERY = (
    f"SELECT {', '.join('c.' + c for c in ROW_COLUMNS)}, r.path AS recording_path, "  # noqa: S608 - fixed names
    "r.size AS recording_size, r.sha256 AS recording_sha256 "
    "FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid ORDER BY c.date, c.uuid"
)
_EVENTS_QUERY = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events ORDER BY call_uuid, date, uuid"  # noqa: S608
_JOURNEYS_QUERY = f"SELECT {', '.join(JOURNEY_NAMES)} FROM journeys ORDER BY start, call_uuid"  # noqa: S608
_JOURNEY_KINDS = {name: kind_of("journeys", name) for name in JOURNEY_NAMES}


def events_path(out: Path) -> Path:
    """Where the second file (events) of a CSV or Parquet export goes: ``calls.csv`` -> ``calls-events.csv``."""
    return out.with_name(f"{out.stem}-events{out.suffix}")


def journeys_path(out: Path) -> Path:
    """Where the journeys of a file export go: ``calls.jsonl`` -> ``calls-journeys.jsonl``."""
    return out.with_name(f"{out.stem}-journeys{out.suffix}")


def _in(tz: timezone, text: str | None) -> str | None:
    """A stored (UTC) time, written in the run's offset."""
    return None if text is None else datetime.fromisoformat(text).astimezone(tz).isoformat()


def _calls(store: SqliteSink, tz: timezone) -> Iterator[dict[str, Any]]:
    for row in store.rows(_CALLS_QUERY):
        call = dict(row)
        for flag in FLAG_COLUMNS:
            call[flag] = bool(call[flag])
        for name in _TIMES:
            call[name] = _in(tz, call[name])
        yield call


def _events(store: SqliteSink, tz: timezone) -> Iterator[dict[str, Any]]:
    for row in store.rows(_EVENTS_QUERY):
        yield {**row, "date": _in(tz, row["date"])}


def _journeys(store: SqliteSink, tz: timezone, *, objects: bool) -> Iterator[dict[str, Any]]:
    """Journey rows: start in the run's offset, flags as bools, JSON columns parsed when ``objects``."""
    for row in store.rows(_JOURNEYS_QUERY):
        journey = dict(row)
        for name, kind in _JOURNEY_KINDS.items():
            value = journey[name]
            if value is None:
                continue
            if kind == "time":
                journey[name] = _in(tz, value)
            elif kind == "bool":
                journey[name] = bool(value)
            elif kind == "json" and objects:
                journey[name] = json.loads(value)
        yield journey


def _events_of(store: SqliteSink, call_uuid: str, tz: timezone) -> list[dict[str, Any]]:
    query = f"SELECT {', '.join(EVENT_COLUMNS)} FROM events WHERE call_uuid = ? ORDER BY date, uuid"  # noqa: S608
    events = []
    for row in store.rows(query, (call_uuid,)):
        event = dict(row)
        event.pop("call_uuid")
        event["date"] = _in(tz, event["date"])
        event["fields"] = json.loads(event["fields"])
        events.append(event)
    return events


def _replace(tmp: Path, out: Path) -> None:
    with tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, out)


def render(store: SqliteSink, fmt: str, out: Path, *, details: bool, utc_offset: int = 0) -> list[Path]:
    """Write the store's content to ``out`` (and, with details, files for events and journeys); returns the paths."""
    tz = timezone(timedelta(minutes=utc_offset))
    written = _render(store, fmt, out, details, tz)
    if details:
        journeys = journeys_path(out)
        if fmt == "jsonl":
            tmp = journeys.with_name(journeys.name + ".tmp")
            with tmp.open("w", encoding="utf-8") as fh:
                for journey in _journeys(store, tz, objects=True):
                    fh.write(json.dumps(journey, ensure_ascii=False) + "\n")
            _replace(tmp, journeys)
        elif fmt == "csv":
            _write_csv(journeys, JOURNEY_NAMES, _journeys(store, tz, objects=False))
        else:
            _write_parquet(journeys, _journeys(store, tz, objects=False), _JOURNEY_KINDS)
        written.append(journeys)
    return written


def _render(store: SqliteSink, fmt: str, out: Path, details: bool, tz: timezone) -> list[Path]:
    if fmt == "jsonl":
        tmp = out.with_name(out.name + ".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            for call in _calls(store, tz):
                recording = {k.removeprefix("recording_"): call.pop(k) for k in RECORDING_COLUMNS}
                call["recording"] = recording if recording["path"] else None
                if details:
                    call["events"] = _events_of(store, call["uuid"], tz)
                fh.write(json.dumps(call, ensure_ascii=False) + "\n")
        _replace(tmp, out)
        return [out]
    if fmt == "csv":
        written = [_write_csv(out, (*ROW_COLUMNS, *RECORDING_COLUMNS), _calls(store, tz))]
        if details:
            written.append(_write_csv(events_path(out), EVENT_COLUMNS, _events(store, tz)))
        return written
    if fmt == "parquet":
        kinds = {name: kind_of("calls", name) for name in ROW_COLUMNS}
        kinds |= {name: kind_of("recordings", name.removeprefix("recording_")) for name in RECORDING_COLUMNS}
        written = [_write_parquet(out, _calls(store, tz), kinds)]
        if details:
            events = {name: kind_of("events", name) for name in EVENT_COLUMNS}
            written.append(_write_parquet(events_path(out), _events(store, tz), events))
        return written
    raise ValueError(f"unknown format {fmt!r}")


def _write_csv(out: Path, columns: tuple[str, ...], rows: Iterator[dict[str, Any]]) -> Path:
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    _replace(tmp, out)
    return out


def check_format(name: str) -> None:
    """Refuse an output format this export cannot write, before any work (pyarrow missing for Parquet)."""
    if name not in FORMATS:
        raise ValidationError(f"format must be one of {', '.join(FORMATS)}, got {name!r}")
    if name == "parquet":
        try:
            require_parquet()
        except ImportError as exc:
            raise ValidationError(str(exc)) from None


def require_parquet() -> None:
    """Fail early, before any work, when pyarrow is missing."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ImportError("Parquet output needs pyarrow: pip install 'pbx-async[parquet]'") from None


def _write_parquet(out: Path, rows: Iterator[dict[str, Any]], kinds: Mapping[str, str], batch: int = 10_000) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    # The rest (text, times, JSON) as text.
    arrow = {"int": pa.int64(), "bigint": pa.int64(), "bool": pa.bool_(), "real": pa.float64()}
    types = {name: arrow.get(kind, pa.string()) for name, kind in kinds.items()}
    schema = pa.schema(list(types.items()))
    tmp = out.with_name(out.name + ".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:  # row groups of `batch` rows: memory stays flat
        group: list[dict[str, Any]] = []
        for row in rows:
            group.append(row)
            if len(group) == batch:
                writer.write_table(pa.Table.from_pylist(group, schema=schema))
                group = []
        if group:
            writer.write_table(pa.Table.from_pylist(group, schema=schema))
    _replace(tmp, out)
    return out
