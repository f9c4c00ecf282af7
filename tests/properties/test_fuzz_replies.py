"""Malformed replies: whatever the server sends, the parsers answer with records or a PbxError, never a bare error."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pbx_async import CallSummary, PbxError, RecordingRef
from pbx_async._wire import replies
from pbx_async._wire.converter import converter, reply_offset, slow_call_hook

from ..conftest import call_row, details_reply, event_row, list_reply

EXAMPLES = int(os.environ.get("PBX_FUZZ_EXAMPLES", "300"))  # more for a longer search
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),  # huge numbers too
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["", "0", "1", "35", "2026-11-02 09:15:03", "2023-01-31 00:06:08.104689", "[]", "null"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)),
    max_leaves=20,
)


def parse_every_way(body: bytes) -> None:
    """Run the body through every reply parser; each must return or raise a PbxError."""
    for parse in (replies.call_page, replies.details_page, replies.notes_reply):
        try:
            parse(replies.decode(body, "fuzz"))
        except PbxError as exc:  # a useful message: says what, short enough to log
            message = str(exc)
        else:
            continue
        assert 10 < len(message) < 1_500, message[:200]


def mutate(reply: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    """``reply`` with the key at ``path`` replaced by ``value`` (or deleted when value is ...)."""
    target: Any = reply
    for key in path[:-1]:
        target = target[key]
    if value is Ellipsis:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return reply


PATHS = [
    ["data"],
    ["currentPage"],
    ["maxPages"],
    ["maxResultSize"],
    ["utcOffset"],
    ["data", "u1"],
    ["data", "u1", "callUuid"],
    ["data", "u1", "callDate"],
    ["data", "u1", "callDirection"],
    ["data", "u1", "duration"],
    ["data", "u1", "callRecorded"],
    ["data", "u1", "cidName"],
    ["data", "u1", "callSeverity"],
]


@SETTINGS
@given(value=json_values)
def test_any_json_value_is_a_record_or_a_pbx_error(value: Any) -> None:
    parse_every_way(json.dumps(value).encode())


@SETTINGS
@given(path=st.sampled_from(PATHS), value=st.one_of(json_values, st.just(Ellipsis)))
def test_a_mutated_call_list_is_a_record_or_a_pbx_error(path: list[str], value: Any) -> None:
    parse_every_way(json.dumps(mutate(list_reply(["u1", "u2"]), path, value)).encode())


@SETTINGS
@given(
    field=st.sampled_from(["eventUuid", "eventDate", "eventType", "eventData1", "eventData4", "callUuid", "data"]),
    value=st.one_of(json_values, st.just(Ellipsis)),
)
def test_a_mutated_details_reply_is_a_record_or_a_pbx_error(field: str, value: Any) -> None:
    reply = details_reply("c1", [event_row("e1", 52, "2026-11-02 09:15:09", "ivr", "8311", "Main", "*")])
    path = ["data", "e1", field] if field.startswith("event") else [field]
    parse_every_way(json.dumps(mutate(reply, path, value)).encode())


@SETTINGS
@given(body=st.binary(max_size=300))
def test_random_bytes_are_a_pbx_error(body: bytes) -> None:
    parse_every_way(body)


def test_hostile_bodies() -> None:
    for body in [
        b"",
        b"<html><body>502 Bad Gateway</body></html>",
        b"\xff\xfe\xfa invalid utf-8",
        b"[" * 100_000 + b"]" * 100_000,  # deep nesting
        b'{"currentPage": 1e999}',
        b'{"data": {"u1": {"callUuid": "u1", "callDate": "0000-00-00 00:00:00", "callDirection": 1}}}',
        json.dumps({"error": "x" * 100_000}).encode(),
    ]:
        parse_every_way(body)


row_values = st.fixed_dictionaries(
    {},
    optional={
        "duration": st.one_of(st.integers(0, 10**6), st.integers(0, 10**6).map(str), st.just(""), st.none()),
        "callRecorded": st.sampled_from([0, 1, "0", "1", True, False, "", None, "yes", 2, 1.0]),
        "cidName": st.one_of(st.text(max_size=10), st.none(), st.integers(), st.floats(allow_nan=False)),
        "callSeverity": st.one_of(st.integers(0, 10), st.integers(0, 10).map(str), st.just(""), st.none()),
        "callDirection": st.sampled_from([1, 2, 3, "1", "2", "3", 4, "x", None]),
        "callDate": st.sampled_from(["2026-11-02 09:15:03", "2026-11-02 09:15:03.5", "bad", None, 5]),
    },
)


@SETTINGS
@given(changes=row_values)
def test_the_fast_path_agrees_with_cattrs(changes: dict[str, Any]) -> None:
    """Rows parse the same on the fast path as with the cattrs-generated function, or fail on both."""
    row = {**call_row("u1"), **changes}
    with reply_offset(-300):
        try:
            fast: CallSummary | Exception = converter.structure(row, CallSummary)
        except Exception as exc:
            fast = exc
        try:
            slow: CallSummary | Exception = slow_call_hook(converter)(row, CallSummary)
        except Exception as exc:
            slow = exc
    assert isinstance(fast, Exception) == isinstance(slow, Exception), (fast, slow)
    if not isinstance(fast, Exception):
        assert fast == slow


@SETTINGS
@given(n=st.integers(min_value=0, max_value=3), offset=st.integers(min_value=-720, max_value=840))
def test_valid_pages_round_trip(n: int, offset: int) -> None:
    uuids = [f"u{i}" for i in range(n)]
    page = replies.call_page(list_reply(uuids, offset=offset))
    assert [c.uuid for c in page.calls] == uuids
    assert all(c.date.utcoffset().total_seconds() == offset * 60 for c in page.calls)  # type: ignore[union-attr]


recording_replies = st.fixed_dictionaries(
    {
        "status": st.sampled_from([200, 200, 200, 206, 301, 404, 416, 429, 500, 503]),
        "content_type": st.sampled_from(
            ["audio/wav", "audio/x-wav", "application/json", "text/html", "", "audio/mpeg"]
        ),
        "body": st.one_of(
            st.binary(max_size=200),
            st.sampled_from([b'{"error": "Your API Auth Key is invalid."}', b"RIFF\\x10\\x00\\x00\\x00WAVE", b""]),
        ),
        "length": st.one_of(st.none(), st.just("exact"), st.integers(0, 400).map(str), st.just("-5"), st.just("x")),
        "content_range": st.one_of(st.none(), st.just("bytes 0-9/10"), st.just("garbage")),
    }
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(reply=recording_replies)
def test_any_recording_reply_is_a_file_or_a_pbx_error(reply: dict[str, Any], tmp_path_factory: Any) -> None:
    """Whatever the recording endpoint sends: a whole file equal to the body, or a PbxError and nothing saved."""
    import anyio
    import httpx

    from pbx_async import PbxSession, RetryPolicy

    dest = tmp_path_factory.mktemp("rec")

    def respond(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": reply["content_type"]} if reply["content_type"] else {}
        if reply["length"] is not None:
            headers["content-length"] = str(len(reply["body"])) if reply["length"] == "exact" else reply["length"]
        if reply["content_range"]:
            headers["content-range"] = reply["content_range"]
        return httpx.Response(reply["status"], headers=headers, content=reply["body"])

    async def attempt() -> Any:
        policy = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.001)
        async with (
            httpx.AsyncClient(transport=httpx.MockTransport(respond)) as client,
            PbxSession("k", "123456", base_url="http://pbx.test/", http_client=client, retry=policy) as session,
        ):
            return await session.download_recording(RecordingRef("c1", "c1.wav"), dest)

    try:
        rec = anyio.run(attempt)
    except PbxError as exc:
        message = str(exc)
    else:
        assert rec.path.read_bytes() == reply["body"]
        return
    assert 10 < len(message) < 1_500
    assert not list(dest.glob("*.wav"))  # nothing saved as a recording


# -- the fast path (msgspec, typed rows, generated records) against the reference (orjson + cattrs) ------

from pbx_async._wire import fast  # noqa: E402

wire_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),  # past 64 bits too, where the decoders differ
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            "", "0", "1", "2", "3", "35", " 35 ", "35.0", "1.5", "yes", "true", "null", "auth=x",
            "https://pbx.test/r.wav?auth=SECRET&x=1", "2026-11-02 09:15:03", "2023-01-31 00:06:08.104689",
            " 2026-11-02 09:15:03", "2026-11-02T09:15:03", "2026-11-02 09:15:03+02:00", "2026-11-02Z",
            "2026-11-02", "2026-11-02 09:15", "0000-00-00 00:00:00",
        ]
    ),
    st.just([]),
    st.just({}),
)  # fmt: skip
CALL_WIRE = ["callUuid", "callDate", "callDirection", "cidName", "duration", "callRecorded", "recordingUrl",
             "callFlagged", "callSeverity", "spokeToPerson", "transcription"]  # fmt: skip
EVENT_WIRE = ["eventUuid", "eventDate", "eventType", "eventData1", "eventData3"]
ENVELOPE = ["currentPage", "maxPages", "maxResultSize", "utcOffset", "error", "data"]
MISSING: Any = object()  # a value that deletes the field


def edits(names: list[str], size: int = 4) -> Any:
    """Up to ``size`` changes: (row, field, value or MISSING)."""
    values = st.one_of(wire_values, st.just(MISSING))
    return st.lists(st.tuples(st.integers(0, 2), st.sampled_from(names), values), max_size=size)


def outcome(parse: Any, body: bytes) -> Any:
    """The reference's reading of ``body``: records as their JSON form (dates with their offsets), or an error."""
    try:
        return plain(parse(replies.decode(body, "fuzz")))
    except PbxError:
        return "error"


def plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if hasattr(value, "to_dict"):
        return (type(value).__name__, value.to_dict())
    return value


Edit = tuple[int, str, Any]


def edited(reply: dict[str, Any], changes: list[Edit], rows: bool) -> bytes:
    for where, name, value in changes:
        target = reply
        if rows:
            data = reply.get("data")
            found = list(data.values()) if isinstance(data, dict) else data if isinstance(data, list) else []
            if not found or not isinstance(found[where % len(found)], dict):
                continue
            target = found[where % len(found)]
        if value is MISSING:
            target.pop(name, None)
        else:
            target[name] = value
    return json.dumps(reply).encode()


@SETTINGS
@given(
    rows=edits(CALL_WIRE),
    envelope=edits(ENVELOPE, 1),
    offset=st.one_of(st.integers(-720, 840), st.integers(-1500, 1500)),
    as_list=st.booleans(),
)
def test_the_fast_path_reads_call_pages_as_the_reference_does(
    rows: list[Edit], envelope: list[Edit], offset: int, as_list: bool
) -> None:
    reply = list_reply(["u1", "u2", "u3"], offset=offset)
    if as_list:
        reply["data"] = list(reply["data"].values())
    body = edited(json.loads(edited(reply, rows, rows=True)), envelope, rows=False)
    got = fast.call_page_from_bytes(body)
    event("fast" if got is not None else "reference")
    if got is not None:  # whatever the fast path reads, it reads as the reference does
        assert plain(got) == outcome(replies.call_page, body)


@SETTINGS
@given(rows=edits(EVENT_WIRE), call=edits(CALL_WIRE), envelope=edits(ENVELOPE, 1), offset=st.integers(-800, 900))
def test_the_fast_path_reads_details_as_the_reference_does(
    rows: list[Edit], call: list[Edit], envelope: list[Edit], offset: int
) -> None:
    events = [event_row(f"e{i}", t, "2026-11-02 09:15:09", "ivr", "8311") for i, t in enumerate([52, 999, 3])]
    reply = {**details_reply("c1", events), "utcOffset": offset}
    body = edited(json.loads(edited(reply, rows, rows=True)), call + envelope, rows=False)
    got = fast.details_from_bytes(body)
    event("fast" if got is not None else "reference")
    if got is not None:
        assert plain(got) == outcome(replies.details_page, body)


def test_common_replies_and_their_usual_quirks_take_the_fast_path() -> None:
    quirky = call_row("u2", duration="35", callRecorded="1", callSeverity="", cidNum=3125550100, callDirection="2")
    page = list_reply(["u1"], offset=-300)
    page["data"]["u2"] = quirky
    del page["data"]["u1"]["callUuid"]  # filed under its UUID only
    body = json.dumps(page).encode()
    got = fast.call_page_from_bytes(body)
    assert got is not None
    assert plain(got) == outcome(replies.call_page, body)
    assert got.calls[1].cid_num == "3125550100" and got.calls[1].duration == 35
    details = json.dumps(details_reply("c1", [event_row("e1", 52, "2026-11-02 09:15:09", "ivr")])).encode()
    assert fast.details_from_bytes(details) is not None
    key = call_row("u3", recordingUrl="https://pbx.test/r.wav?auth=SECRET")
    [call] = fast.call_page_from_bytes(json.dumps(list_reply(["u3"]) | {"data": [key]}).encode()).calls  # type: ignore[union-attr]
    assert call.recording_url is not None and "SECRET" not in call.recording_url


def test_replies_outside_the_common_shapes_are_left_to_the_reference() -> None:
    for body in [
        b'{"error": "Your API Auth Key is invalid."}',
        json.dumps({**list_reply(["u1"]), "error": "x"}).encode(),
        json.dumps({**list_reply(["u1"]), "maxPages": 2**70}).encode(),
        json.dumps(list_reply(["u1"]) | {"data": {"u1": call_row("u1", callDate=" 2026-11-02 09:15:03")}}).encode(),
        b"not json",
    ]:
        assert fast.call_page_from_bytes(body) is None
        assert fast.details_from_bytes(body) is None
