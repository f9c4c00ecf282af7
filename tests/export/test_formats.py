"""Rendering a store as JSON lines, CSV and Parquet, in-process: columns, types, the events file, atomic writes."""

from __future__ import annotations

import csv
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pbx_async import RecordingFile
from pbx_async.export import Account
from pbx_async.export._formats import events_path, render
from pbx_async.export.sinks._schema import CALL_COLUMNS, EVENT_COLUMNS
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator

ROW_COLUMNS = [*CALL_COLUMNS, "container_id", "tenant_id", "first_seen", "last_changed"]  # every call knows its account
pytestmark = pytest.mark.anyio
SIM = Simulator(calls=30, days=1, seed=7)
RECORDING_COLUMNS = ["recording_path", "recording_size", "recording_sha256"]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteSink]:
    """A store holding the simulator's calls, their events, and one downloaded recording."""
    sink = SqliteSink(tmp_path / "store.sqlite")
    calls = SIM.truth_calls()
    await sink.upsert_calls(Account(SIM.container_id), calls)
    await sink.save_details([SIM.truth_details(c.uuid) for c in calls])
    recorded = next(c for c in calls if c.recorded)
    await sink.save_recording(recorded.uuid, RecordingFile(recorded.uuid, tmp_path / "a.wav", 1234, "ab" * 32))
    yield sink
    await sink.close()


def _events() -> int:
    return sum(len(SIM.truth_details(c.uuid).events) for c in SIM.truth_calls())


async def test_json_lines_hold_each_call_once_with_typed_values_and_its_events(
    store: SqliteSink, tmp_path: Path
) -> None:
    out = tmp_path / "calls.jsonl"
    assert render(store, "jsonl", out, details=True) == [out, tmp_path / "calls-journeys.jsonl"]
    calls = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    truth = {c.uuid: c for c in SIM.truth_calls()}
    assert sorted(c["uuid"] for c in calls) == sorted(truth)
    assert [c["date"] for c in calls] == sorted(c["date"] for c in calls)  # in time order
    for call in calls:
        assert set(call) == {*ROW_COLUMNS, "recording", "events"}
        assert (call["container_id"], call["tenant_id"]) == (SIM.container_id, 0)
        expected = truth[call["uuid"]]
        assert (call["recorded"], call["spoke_to_person"], call["duration"]) == (
            expected.recorded, expected.spoke_to_person, expected.duration,
        )  # fmt: skip
        events = sorted(SIM.truth_details(call["uuid"]).events, key=lambda e: (e.date, e.uuid))
        assert [e["uuid"] for e in call["events"]] == [e.uuid for e in events]  # in time order
        assert all(isinstance(e["fields"], dict) and "call_uuid" not in e for e in call["events"])
    saved = [c["recording"] for c in calls if c["recording"]]
    assert saved == [{"path": str(tmp_path / "a.wav"), "size": 1234, "sha256": "ab" * 32}]
    assert not list(tmp_path.glob("*.tmp"))


async def test_json_lines_without_details_have_no_events(store: SqliteSink, tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    render(store, "jsonl", out, details=False)
    assert all("events" not in json.loads(line) for line in out.read_text(encoding="utf-8").splitlines())


async def test_csv_is_a_file_of_calls_one_of_events_and_one_of_journeys_with_headers(
    store: SqliteSink, tmp_path: Path
) -> None:
    out = tmp_path / "calls.csv"
    out.write_text("an older export\n")  # replaced whole
    assert render(store, "csv", out, details=True) == [
        out,
        tmp_path / "calls-events.csv",
        tmp_path / "calls-journeys.csv",
    ]
    with out.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == [*ROW_COLUMNS, *RECORDING_COLUMNS]
        rows = list(reader)
    assert len(rows) == len(SIM)
    assert {r["recorded"] for r in rows} == {"True", "False"}
    with events_path(out).open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(EVENT_COLUMNS)
        assert len(list(reader)) == _events()
    assert not list(tmp_path.glob("*.tmp"))


async def test_parquet_columns_are_typed_from_the_schema(store: SqliteSink, tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    out = tmp_path / "calls.parquet"
    render(store, "parquet", out, details=True)
    calls, events = pq.read_table(out), pq.read_table(events_path(out))
    assert calls.num_rows == len(SIM) and events.num_rows == _events()
    assert calls.column_names == [*ROW_COLUMNS, *RECORDING_COLUMNS]
    types = dict(zip(calls.column_names, calls.schema.types, strict=True))
    assert types["duration"] == types["severity"] == types["recording_size"] == pa.int64()
    assert types["recorded"] == types["went_to_voicemail"] == pa.bool_()
    assert types["date"] == types["uuid"] == pa.string()
    assert events.schema.field("type_id").type == pa.int64()
    assert events.schema.field("fields").type == pa.string()


async def test_an_unknown_format_is_refused(store: SqliteSink, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="xls"):
        render(store, "xls", tmp_path / "calls.xls", details=False)
