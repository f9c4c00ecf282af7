"""``to_dict()``: every public record as JSON-ready data, in the documented form."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

import pbx_async
from pbx_async import (
    CallDetails,
    CallPage,
    CallSummary,
    FailedCall,
    NetworkError,
    RecordingFile,
    RecordingRef,
    UnknownEvent,
    event_class,
)
from pbx_async.testing import Simulator

WHEN = datetime(2026, 11, 2, 9, 15, 3, tzinfo=UTC)


def round_trips(record: object) -> dict[str, object]:
    data = record.to_dict()  # type: ignore[attr-defined]
    assert json.loads(json.dumps(data)) == data  # JSON-ready all the way down
    return data  # type: ignore[no-any-return]


def test_a_call_its_details_and_a_page_round_trip_through_json() -> None:
    sim = Simulator(calls=50, seed=4)
    for call in sim.truth_calls()[:10]:
        details = sim.truth_details(call.uuid)
        data = round_trips(details)
        assert data["call"]["uuid"] == call.uuid  # type: ignore[index]
        assert data["call"]["date"] == call.date.isoformat()  # type: ignore[index]
        assert data["call"]["direction"] == call.direction.name  # type: ignore[index]
        assert len(data["events"]) == len(details.events)  # type: ignore[arg-type]
    page = CallPage(page=1, max_pages=1, total=1, utc_offset=-300, calls=(sim.truth_calls()[0],))
    assert round_trips(page)["calls"][0]["uuid"] == page.calls[0].uuid  # type: ignore[index]


@pytest.mark.parametrize("type_id", [*range(1, 121), 999])
def test_every_event_type_gives_its_named_fields(type_id: int) -> None:
    cls = event_class(type_id)
    event = cls(uuid="e1", date=WHEN, type_id=type_id, data1="101", data2="Alice", data3="3", data4="4")
    data = round_trips(event)
    assert data["uuid"] == "e1" and data["date"] == "2026-11-02T09:15:03+00:00"
    assert (data["data1"], data["data4"]) == ("101", "4")  # the raw fields are always there
    named = [n for n in vars(cls) if isinstance(vars(cls)[n], property)]
    assert all(data[n] == getattr(event, n) for n in named)
    if cls is UnknownEvent:
        assert named == []


def test_recordings_and_failures_round_trip() -> None:
    assert round_trips(RecordingFile("c1", Path("recs/c1.wav"), 10, "ab" * 32))["path"] == "recs/c1.wav"
    assert round_trips(RecordingRef("c1", "c1.wav")) == {"call_uuid": "c1", "file_name": "c1.wav"}
    failed = round_trips(FailedCall("c1", NetworkError("Call Details: the request failed")))
    assert failed == {
        "call_uuid": "c1",
        "error": {"type": "NetworkError", "message": "Call Details: the request failed"},
    }


def test_every_public_record_class_has_to_dict() -> None:
    records = [CallSummary, CallPage, CallDetails, RecordingFile, RecordingRef, FailedCall, pbx_async.Event]
    assert all(callable(getattr(cls, "to_dict", None)) for cls in records)
