"""Call Details answered for another call than asked: refused, never filed under the call asked for."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import respx

import pbx_async
from pbx_async import FailedCall, PbxSession, ResponseFormatError

from ..conftest import DETAILS_URL, details_reply, event_row

pytestmark = pytest.mark.anyio


def echo_of(swapped: dict[str, str]) -> Callable[[httpx.Request], httpx.Response]:
    """A server answering a call named in ``swapped`` with the reply of the call it maps to."""

    def respond(request: httpx.Request) -> httpx.Response:
        asked = request.url.params["callUUID"]
        answered = swapped.get(asked, asked)
        return httpx.Response(
            200, json=details_reply(answered, [event_row(f"{answered}-e1", 5, "2026-11-02 09:20:00")])
        )

    return respond


async def test_a_reply_for_another_call_raises_response_format_error(
    api: respx.MockRouter, session: PbxSession
) -> None:
    api.get(DETAILS_URL).mock(side_effect=echo_of({"c1": "c2"}))
    with pytest.raises(ResponseFormatError) as raised:
        await session.get_call_details("c1")
    assert "'c1'" in str(raised.value) and "'c2'" in str(raised.value)  # names what was asked and what came
    assert isinstance(raised.value, pbx_async.PbxError)  # caught by an ``except PbxError`` like any bad reply


async def test_many_calls_give_a_failed_call_for_the_one_answered_with_another_call(
    api: respx.MockRouter, session: PbxSession
) -> None:
    api.get(DETAILS_URL).mock(side_effect=echo_of({"c2": "c9"}))
    async with session.iter_call_details(["c1", "c2", "c3"], on_error="return") as results:
        items = [item async for item in results]
    failed = [item for item in items if isinstance(item, FailedCall)]
    fetched = {item.call.uuid: item for item in items if not isinstance(item, FailedCall)}
    assert [(f.call_uuid, type(f.error)) for f in failed] == [("c2", ResponseFormatError)]
    assert set(fetched) == {"c1", "c3"}  # the others are unaffected
    assert all(d.events[0].uuid == f"{u}-e1" for u, d in fetched.items())  # each with its own events
