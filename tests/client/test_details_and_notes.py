"""Call Details over several pages, and the notes POST."""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest
import respx

import pbx_async
from pbx_async import CallNotFoundError, PbxSession, ValidationError

from ..conftest import (
    CONTAINER,
    DETAILS_URL,
    KEY,
    NOTES_URL,
    call_row,
    details_reply,
    empty_reply,
    event_row,
    list_reply,
)

pytestmark = pytest.mark.anyio


async def test_details_parameters_use_the_exact_wire_names(api: respx.MockRouter, session: PbxSession) -> None:
    route = api.get(DETAILS_URL).respond(json=details_reply("c1", [event_row("e1", 5, "2026-11-02 09:20:00")]))
    await session.get_call_details("c1", utc_offset=-300)
    assert dict(route.calls[0].request.url.params) == {
        "auth": KEY,
        "containerID": CONTAINER,
        "tenantID": "0",
        "callUUID": "c1",
        "utcOffset": "-300",
        "page": "1",
    }


async def test_details_read_every_page_and_sort_events_by_time(api: respx.MockRouter, session: PbxSession) -> None:
    # 1,203 events over 3 pages, served out of time order
    events = [
        event_row(f"e{i:04d}", 5, f"2026-11-02 {9 + i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}")
        for i in range(1203)
    ]
    shuffled = events[600:] + events[:600]

    def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        rows = shuffled[(page - 1) * 500 : page * 500]
        return httpx.Response(200, json=details_reply("c1", rows, page=page, total=1203))

    route = api.get(DETAILS_URL).mock(side_effect=respond)
    details = await session.get_call_details(call_row_summary("c1"))
    assert details.call.uuid == "c1"
    assert [e.uuid for e in details.events] == [e["eventUuid"] for e in events]
    assert sorted(int(c.request.url.params["page"]) for c in route.calls) == [1, 2, 3]


def call_row_summary(uuid: str) -> pbx_async.CallSummary:
    from pbx_async._wire import replies

    return replies.call_page(list_reply([uuid])).calls[0]


async def test_details_of_an_unknown_call(api: respx.MockRouter, session: PbxSession) -> None:
    api.get(DETAILS_URL).respond(json={"error": "Your CallUUID is missing."})
    with pytest.raises(CallNotFoundError, match="call UUID"):
        await session.get_call_details("nope")


async def test_details_reply_without_a_call_is_not_found(api: respx.MockRouter, session: PbxSession) -> None:
    api.get(DETAILS_URL).respond(json=empty_reply())
    with pytest.raises(CallNotFoundError, match="no call for UUID 'gone'"):
        await session.get_call_details("gone")


async def test_notes_are_posted_form_urlencoded_with_seed_names(api: respx.MockRouter, session: PbxSession) -> None:
    route = api.post(NOTES_URL).respond(json={"success": "Your call notes have been submitted."})
    note = "Called back & resolved: 100% ✓"
    await session.set_call_notes("c1", notes=note, flagged=True, severity=3)
    request = route.calls[0].request
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert not request.url.query  # the key travels in the body, not the URL
    form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
    assert form == {
        "auth": KEY,
        "containerID": CONTAINER,
        "tenantID": "0",
        "callUuid": "c1",
        "callFlagged": "1",
        "callSeverity": "3",
        "callNotes": note,
    }


async def test_only_given_note_fields_are_sent(api: respx.MockRouter, session: PbxSession) -> None:
    route = api.post(NOTES_URL).respond(json={"success": "Your call notes have been submitted."})
    await session.set_call_notes("c1", flagged=False)
    form = parse_qs(route.calls[0].request.content.decode())
    assert form["callFlagged"] == ["0"] and "callNotes" not in form and "callSeverity" not in form


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"notes": "x" * 256}, "at most 255 characters, got 256"),
        ({"severity": 9}, "0 to 5"),
        ({"severity": -1}, "0 to 5"),
        ({"severity": True}, "0 to 5"),
        ({"flagged": 1}, "True or False"),
        ({}, "at least one of"),
    ],
)
async def test_bad_notes_are_refused_before_sending(
    api: respx.MockRouter, session: PbxSession, kwargs: dict[str, object], message: str
) -> None:
    route = api.post(NOTES_URL).respond(json={"success": "Your call notes have been submitted."})
    with pytest.raises(ValidationError, match=message):
        await session.set_call_notes("c1", **kwargs)  # type: ignore[arg-type]
    assert route.call_count == 0


async def test_255_character_notes_are_accepted(api: respx.MockRouter, session: PbxSession) -> None:
    route = api.post(NOTES_URL).respond(json={"success": "Your call notes have been submitted."})
    await session.set_call_notes(call_row("c1")["callUuid"], notes="é" * 255)
    assert parse_qs(route.calls[0].request.content.decode())["callNotes"] == ["é" * 255]


async def test_an_unexpected_notes_reply_is_a_format_error(api: respx.MockRouter, session: PbxSession) -> None:
    api.post(NOTES_URL).respond(json={"status": "ok"})
    with pytest.raises(pbx_async.ResponseFormatError, match="success or error"):
        await session.set_call_notes("c1", notes="hi")
