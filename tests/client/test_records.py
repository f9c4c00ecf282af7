"""Records from wire JSON: every quirk of the PHP service, and the event registry."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import pbx_async
from pbx_async import CallDirection, CallSummary, Event, ResponseFormatError, UnknownEvent, event_class
from pbx_async._wire import replies

from ..conftest import call_row, event_row, list_reply

ROOT = Path(__file__).resolve().parents[2]


def parse_one(**fields: Any) -> CallSummary:
    reply = list_reply(["u1"])
    reply["data"]["u1"].update(fields)
    [call] = replies.call_page(reply).calls
    return call


def test_numbers_and_flags_as_strings() -> None:
    call = parse_one(callDirection="2", duration="35", callRecorded="1", callSeverity="10", spokeToPerson="0")
    assert (call.direction, call.duration, call.recorded, call.severity, call.spoke_to_person) == (
        CallDirection.OUTBOUND,
        35,
        True,
        10,
        False,
    )


@pytest.mark.parametrize("empty", ["", None, "missing"])
def test_empty_text_is_none_and_empty_flags_false(empty: Any) -> None:
    fields = ["cidName", "cidNum", "numDialed", "recordingUrl", "callNotes", "transcription", "callSeverity"]
    reply = list_reply(["u1"])
    row = reply["data"]["u1"]
    for name in [*fields, "callFlagged", "duration"]:
        if empty == "missing":
            del row[name]
        else:
            row[name] = empty
    [call] = replies.call_page(reply).calls
    assert (call.cid_name, call.cid_num, call.num_dialed, call.recording_url) == (None, None, None, None)
    assert (call.notes, call.transcription, call.severity, call.duration) == (None, None, None, None)
    assert call.flagged is False


def test_numeric_text_sent_as_a_number_is_text() -> None:
    call = parse_one(cidNum=3125550100, numDialed=101)
    assert (call.cid_num, call.num_dialed) == ("3125550100", "101")


def test_fractional_seconds_and_the_reply_offset() -> None:
    reply = list_reply(["u1"], offset=330)
    reply["data"]["u1"]["callDate"] = "2023-01-31 00:06:08.104689"
    [call] = replies.call_page(reply).calls
    assert call.date == datetime(2023, 1, 31, 0, 6, 8, 104689, tzinfo=timezone(timedelta(minutes=330)))


def test_unknown_fields_are_ignored() -> None:
    call = parse_one(brandNewField={"nested": [1, 2]}, another="x")
    assert call.uuid == "u1"


@pytest.mark.parametrize("no_rows", [[], {}, None, "missing"])
def test_no_rows_in_any_php_spelling(no_rows: Any) -> None:
    reply = list_reply([])
    if no_rows == "missing":
        del reply["data"]
    else:
        reply["data"] = no_rows
    assert replies.call_page(reply).calls == ()


def test_rows_as_a_list_and_uuid_taken_from_the_key() -> None:
    reply = list_reply([])
    reply["data"] = [call_row("a"), call_row("b")]
    assert [c.uuid for c in replies.call_page(reply).calls] == ["a", "b"]
    row = call_row("ignored")
    del row["callUuid"]
    reply["data"] = {"from-key": row}
    assert [c.uuid for c in replies.call_page(reply).calls] == ["from-key"]


def test_paging_fields_as_strings() -> None:
    reply = list_reply(["a"])
    reply.update(currentPage="1", maxPages="1", maxResultSize="1", utcOffset="-300")
    page = replies.call_page(reply)
    assert (page.page, page.max_pages, page.total, page.utc_offset) == (1, 1, 1, -300)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({"callDirection": 7}, "callDirection"),
        ({"callDate": "yesterday"}, "callDate"),
        ({"duration": "3.5s"}, "duration"),
        ({"callRecorded": "maybe"}, "callRecorded"),
        ({"cidName": {"a": 1}}, "cidName"),
    ],
)
def test_malformed_rows_raise_a_typed_error_naming_the_field(fields: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ResponseFormatError, match="does not match the API contract") as info:
        parse_one(**fields)
    assert fragment in str(info.value)


@pytest.mark.parametrize("reply", [[1, 2], "text", 3, {"data": {}}])
def test_malformed_envelopes_raise_a_typed_error(reply: Any) -> None:
    with pytest.raises(ResponseFormatError):
        replies.call_page(reply)


def test_records_are_frozen_and_slotted() -> None:
    call = parse_one()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        call.duration = 1  # type: ignore[misc]
    assert not hasattr(call, "__dict__")


def test_details_reply_types_1_4_52_and_unknown_120() -> None:
    reply = {
        "currentResultSize": 4,
        "currentPage": 1,
        "maxResultSize": 4,
        "maxPages": 1,
        "utcOffset": 0,
        **call_row("call-1"),
        "data": {
            "e1": event_row("e1", 1, "2026-11-02 09:15:03.100", "8005550199"),
            "e2": event_row("e2", 52, "2026-11-02 09:15:09", "63492d1e45d3c", "8311", "Main IVR", "*"),
            "e3": event_row("e3", 4, "2026-11-02 09:15:20", "5f0e1a2b3c4d5", "101", "Front Desk"),
            "e4": event_row("e4", 120, "2026-11-02 09:15:38", "x", "y", "", "42"),
        },
    }
    call, page = replies.details_page(reply)
    assert call is not None and call.uuid == "call-1"
    did, ivr, answer, unknown = page.events
    assert isinstance(did, pbx_async.CallInToDid) and did.did_number == "8005550199"
    assert isinstance(ivr, pbx_async.IvrOptionPushed)
    assert (ivr.ivr_id, ivr.ivr_exten, ivr.ivr_name, ivr.option) == ("63492d1e45d3c", "8311", "Main IVR", "*")
    assert isinstance(answer, pbx_async.ExtensionAnswer)
    assert (answer.endpoint_id, answer.ext_num, answer.ext_name) == ("5f0e1a2b3c4d5", "101", "Front Desk")
    assert type(unknown) is UnknownEvent
    assert (unknown.type_id, unknown.data1, unknown.data2, unknown.data3, unknown.data4) == (
        120,
        "x",
        "y",
        None,
        "42",
    )
    assert did.date.microsecond == 100000


def test_typed_event_fields() -> None:
    date = datetime(2026, 1, 1, tzinfo=UTC)
    fax = pbx_async.EfaxReceiveSuccess(uuid="e", date=date, type_id=80, data1="u", data2="Ann", data3="12")
    assert fax.page_count == 12
    agent = pbx_async.QueueAgentDidNotPickUp(uuid="e", date=date, type_id=98, data3="not-a-number")
    assert agent.ring_time is None and agent.data3 == "not-a-number"


def test_registry_covers_the_98_types_of_the_table() -> None:
    table = (ROOT / "tools" / "event-types.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for line in table:
        type_id, purpose = line.split("\t")[:2]
        cls = event_class(int(type_id))
        assert int(type_id) == cls.TYPE_ID and purpose == cls.PURPOSE
        assert issubclass(cls, Event) and cls.__name__ in pbx_async.__all__
    assert len(table) == 98
    assert event_class(120) is UnknownEvent and event_class(0) is UnknownEvent


def test_names_follow_the_purposes() -> None:
    assert event_class(4) is pbx_async.ExtensionAnswer
    assert event_class(49) is pbx_async.QueueAbandonedByCaller
    assert event_class(95) is pbx_async.OneToOneIntercom
    assert pbx_async.HangupNormal.total_packet_loss.__doc__ == "Total pLoss (data2)."


def test_generated_event_module_is_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "generate_event_types.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
