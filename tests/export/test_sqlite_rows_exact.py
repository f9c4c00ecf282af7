"""The SQLite sink stores each event and journey exactly as the reference spelling writes it, value for value.

The sink makes its rows with shortcuts (a template per event class for ``fields``,
a journey's values as a tuple, only the time and flag columns respelled, one
statement per table a batch). The reference here is the plain spelling those
shortcuts replace, kept in this test: ``json.dumps`` of the views found on the
event's class, ``json.dumps(attrs.asdict(...), ensure_ascii=False)`` of a journey's
records, ``astimezone(UTC).isoformat()`` of every time, flags as 0/1. A few rows are
also checked against text written out by hand. Each stored value must equal the
reference in type as well as in value (1 is not 1.0, "1" is not 1).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

from pbx_async import CallDetails, CallDirection, CallSummary, call_journey, event_class
from pbx_async._journey import CallJourney
from pbx_async._records.events import Event
from pbx_async.export.sinks import Account
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator

pytestmark = pytest.mark.anyio
START = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
ODD_TEXT = ('Zoë "Z" Ng\\', "Ångström\n\t\u0001", "☎ 📞", "%s %d {}")  # escapes, non-ASCII, control, format marks


def _views(event: Event) -> dict[str, Any]:
    names = [
        name
        for klass in type(event).__mro__
        if klass is not Event and issubclass(klass, Event)
        for name, attribute in vars(klass).items()
        if isinstance(attribute, property)
    ]
    return {name: getattr(event, name) for name in names}


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def reference_event(call_uuid: str, e: Event) -> tuple[Any, ...]:
    fields = json.dumps(_views(e))
    return (e.uuid, call_uuid, _time(e.date), e.type_id, e.PURPOSE, e.data1, e.data2, e.data3, e.data4, fields)


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, tuple):
        return json.dumps([attrs.asdict(v) for v in value], ensure_ascii=False)
    return json.dumps(attrs.asdict(value), ensure_ascii=False)


def reference_journey(j: CallJourney) -> tuple[Any, ...]:
    """The journeys table's columns, in order."""
    by, vm, out, visits = j.answered_by, j.voicemail, j.dial_out, j.queue_visits
    options = [s.digits or "" for s in j.ivr_path if s.kind == "option"]
    unknown = [
        {"uuid": e.uuid, "date": e.date.isoformat(), "type_id": e.type_id,
         "data1": e.data1, "data2": e.data2, "data3": e.data3, "data4": e.data4}
        for e in j.unknown_events
    ]  # fmt: skip
    return (
        j.uuid, _time(j.start), j.direction.name.lower() if j.direction is not None else None, str(j.outcome),
        j.entry_did, by.number if by else None, by.name if by else None, j.answered_at, j.talk_time,
        sum(v.wait for v in visits) if visits else None, str(visits[-1].outcome) if visits else None,
        ",".join(options) if options else None, vm.box.number if vm and vm.box else None,
        None if vm is None else int(vm.message_left), out.number if out else None,
        str(out.result) if out else None, str(out.failure) if out and out.failure else None,
        int(j.internal_app) if j.internal_app is not None else None, j.feature, str(j.ended) if j.ended else None,
        j.jitter, j.packet_loss, j.length,
        *(_json(getattr(j, name)) for name in ("ivr_path", "queue_visits", "ring_attempts", "voicemail", "parks",
                                               "conferences", "dial_out", "forward", "fax", "routing", "supervision")),
        json.dumps(unknown, ensure_ascii=False),
    )  # fmt: skip


def _typed(rows: Sequence[Sequence[Any]]) -> list[tuple[tuple[str, Any], ...]]:
    return [tuple((type(v).__name__, v) for v in row) for row in rows]


def _call(uuid: str, start: datetime, *steps: tuple[Any, ...], direction: int = 1) -> CallDetails:
    """A call whose events are (seconds, type id, data1, ...), at ``start``'s offset."""
    events = [
        event_class(type_id)(
            uuid=f"{uuid}-e{i}", date=start + timedelta(seconds=at), type_id=type_id,
            **{f"data{n + 1}": d for n, d in enumerate(data)},
        )
        for i, (at, type_id, *data) in enumerate(steps)
    ]  # fmt: skip
    return CallDetails(CallSummary(uuid, start, CallDirection(direction)), tuple(sorted(events, key=lambda e: e.date)))


def odd_calls() -> list[CallDetails]:
    """Calls the simulator does not make: every event type with odd text, none, unknown ids, same-second steps."""
    kolkata = START.astimezone(timezone(timedelta(hours=5, minutes=30)))
    odd = ODD_TEXT
    every_type = _call("every-type", kolkata, *((t * 0.25, t, *odd) for t in range(1, 100)))
    numbers = _call("numbers", START, (0, 80, "u1", "Fax", "12"), (1, 98, "101", "Ana", "25"), (2, 79, "u", "n", "x"))
    return [
        every_type,
        numbers,
        _call("no-events", START.astimezone(timezone(timedelta(hours=-8)))),
        _call("unknown", START, (0, 120, "x", None, "", "42"), (0.5, 0, "y"), (3, 5, "inf", "abc")),
        _call("same-second", kolkata, (0, 5, "1", "0"), (0, 4, "e", "101", odd[0]), (0, 3, "e", "101", odd[1]),
              (0, 1, "8005550000"), (0, 52, "ivr", "8300", odd[2], "1")),
        _call("park-conf-fax", START, (0, 56, "lot", odd[1], "7", "101"), (5, 58, "lot", odd[1], "7", "102"),
              (6, 62, "br", "900", odd[3]), (7, 64, "br", "900", odd[3], "1234"), (8, 81, "u", odd[0], "555"),
              (9, 83, "u", "n", "busy"), (10, 37, "5551234", odd[2], "555"), (11, 89)),
    ]  # fmt: skip


def simulated_calls() -> list[CallDetails]:
    """The simulator's calls with its quirks (fractions of seconds, empty text), each at another UTC offset."""
    sim = Simulator(calls=240, days=3, seed=7, quirks=True)
    offsets = (0, 330, -480, 840, -45)
    return [sim.truth_details(c.uuid, offsets[i % len(offsets)]) for i, c in enumerate(sim.truth_calls())]


async def _stored(path: Path, calls: list[CallDetails], batch: int) -> dict[str, list[tuple[Any, ...]]]:
    sink = await SqliteSink.open(path)
    try:
        await sink.upsert_calls(Account("c", 0), [d.call for d in calls])
        for start in range(0, len(calls), batch):
            await sink.save_details(calls[start : start + batch])
    finally:
        await sink.close()
    with sqlite3.connect(path) as db:
        return {
            table: db.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()  # noqa: S608 - our own names
            for table in ("events", "journeys")
        } | {"done": db.execute("SELECT uuid, details_done FROM calls ORDER BY rowid").fetchall()}


@pytest.mark.parametrize("batch", [1, 7, 100])
async def test_stored_events_and_journeys_equal_the_reference_spelling(tmp_path: Path, batch: int) -> None:
    calls = odd_calls() + simulated_calls()
    stored = await _stored(tmp_path / "calls.sqlite", calls, batch)
    events = [reference_event(d.call.uuid, e) for d in calls for e in d.events]
    assert _typed(stored["events"]) == _typed(events)
    assert _typed(stored["journeys"]) == _typed([reference_journey(call_journey(d)) for d in calls])
    assert stored["done"] == [(d.call.uuid, 1) for d in calls]


async def test_storing_the_same_timelines_again_changes_no_row(tmp_path: Path) -> None:
    calls = odd_calls() + simulated_calls()[:60]
    once = await _stored(tmp_path / "calls.sqlite", calls, 16)
    assert await _stored(tmp_path / "calls.sqlite", calls[::-1], 5) == once  # stored again, in another order


async def test_a_few_rows_are_the_text_written_out_by_hand(tmp_path: Path) -> None:
    calls = odd_calls()
    stored = await _stored(tmp_path / "calls.sqlite", calls, 3)
    answer = next(row for row in stored["events"] if row[0] == "every-type-e3")  # ExtensionAnswer
    assert answer[2:5] == ("2026-11-02T09:00:01+00:00", 4, "Extension Answer")
    assert answer[9] == (
        '{"endpoint_id": "Zo\\u00eb \\"Z\\" Ng\\\\", "ext_num": "\\u00c5ngstr\\u00f6m\\n\\t\\u0001", '
        '"ext_name": "\\u260e \\ud83d\\udcde"}'
    )
    missed = next(row for row in stored["events"] if row[0] == "numbers-e1")  # QueueAgentMissed: an int view
    assert missed[9] == '{"ext_number": "101", "ext_name": "Ana", "ring_time": 25}'
    no_events = next(row for row in stored["journeys"] if row[0] == "no-events")
    assert no_events[1:4] == ("2026-11-02T09:00:00+00:00", None, "other")
    assert no_events[23:] == ("[]", "[]", "[]", "null", "[]", "[]", "null", "null", "null", "[]", "[]", "[]")
    same = next(row for row in stored["journeys"] if row[0] == "same-second")
    assert same[23] == (
        '[{"at": 0.0, "kind": "option", "ivr_id": "ivr", "ivr_exten": "8300", "ivr_name": "☎ 📞", "digits": "1"}]'
    )
    assert same[5:8] == ("101", 'Zoë "Z" Ng\\', 0.0)
