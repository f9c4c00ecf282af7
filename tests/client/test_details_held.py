"""Details fanned out are held as decoded replies and made into records when handed over.

A bare ``async for`` holds a whole step's results (up to 2,048) until the step
ends. Held as records they would be a dozen objects a call for the garbage
collector to walk while they wait; held as decoded replies they are not. What a
user sees must not change: the same records, in the same order, and a reply
that cannot be read fails at its own turn (or gives its ``FailedCall``).
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import respx

from pbx_async import CallDetails, FailedCall, PbxSession, ResponseFormatError
from pbx_async.events import Event

from ..conftest import DETAILS_URL, KEY, details_reply, event_row

pytestmark = pytest.mark.anyio
CALLS = [f"c{i}" for i in range(1, 7)]


def replies(bad: str | None = None, bad_date: str = "not a date") -> Callable[[httpx.Request], httpx.Response]:
    """Each call's one-page timeline of three events; call ``bad``'s last event has a date no reading takes."""

    def respond(request: httpx.Request) -> httpx.Response:
        call = request.url.params["callUUID"]
        dates = ["2026-11-02 09:20:03", "2026-11-02 09:20:01", "2026-11-02 09:20:02"]
        if call == bad:
            dates[-1] = bad_date
        events = [event_row(f"{call}-e{i}", 5, date) for i, date in enumerate(dates)]
        return httpx.Response(200, json=details_reply(call, events))

    return respond


async def test_details_held_then_handed_over_equal_those_read_one_by_one(
    api: respx.MockRouter, session: PbxSession
) -> None:
    api.get(DETAILS_URL).mock(side_effect=replies())
    one_by_one = [await session.get_call_details(c) for c in CALLS]
    bare = [d async for d in session.iter_call_details(CALLS, concurrency=3)]
    assert bare == one_by_one  # bare: input order
    assert [e.uuid for e in bare[0].events] == ["c1-e1", "c1-e2", "c1-e0"]  # in time order, as ever


@pytest.mark.parametrize("within_block", [False, True])
async def test_an_unreadable_reply_fails_at_its_own_turn(
    api: respx.MockRouter, session: PbxSession, within_block: bool
) -> None:
    api.get(DETAILS_URL).mock(side_effect=replies(bad="c3"))
    got: list[str] = []

    async def take() -> None:
        if within_block:
            async with session.iter_call_details(CALLS, concurrency=2, ordered=True) as results:
                async for details in results:
                    got.append(details.call.uuid)
        else:
            async for details in session.iter_call_details(CALLS, concurrency=2):
                got.append(details.call.uuid)

    with pytest.raises(ResponseFormatError, match="Call Details"):
        await take()
    assert got == ["c1", "c2"]  # the calls before it come out first


async def test_with_on_error_return_an_unreadable_reply_is_a_failed_call_in_its_place(
    api: respx.MockRouter, session: PbxSession
) -> None:
    api.get(DETAILS_URL).mock(side_effect=replies(bad="c3"))
    items = [item async for item in session.iter_call_details(CALLS, concurrency=4, on_error="return")]
    assert [item.call_uuid if isinstance(item, FailedCall) else item.call.uuid for item in items] == CALLS
    failed = items[2]
    assert isinstance(failed, FailedCall) and isinstance(failed.error, ResponseFormatError)


async def test_an_error_made_at_hand_over_never_shows_the_key(api: respx.MockRouter, session: PbxSession) -> None:
    api.get(DETAILS_URL).mock(side_effect=replies(bad="c2", bad_date=KEY))  # a server echoing the key
    items = [item async for item in session.iter_call_details(CALLS, on_error="return")]
    failed = items[1]
    assert isinstance(failed, FailedCall)
    assert KEY not in str(failed.error) and KEY not in repr(failed)


def reachable_records(root: object) -> int:
    """Records (details and events) reachable from ``root`` through the objects the collector tracks."""
    seen: set[int] = set()
    found = 0
    todo: list[Any] = [root]
    while todo:
        item = todo.pop()
        if id(item) in seen or isinstance(item, type):
            continue
        seen.add(id(item))
        found += isinstance(item, CallDetails | Event)
        todo.extend(gc.get_referents(item))
    return found


async def test_a_bare_step_holds_its_results_as_replies_not_records(api: respx.MockRouter, session: PbxSession) -> None:
    api.get(DETAILS_URL).mock(side_effect=replies())
    fan = session.iter_call_details(CALLS, concurrency=len(CALLS))
    first = await anext(fan)  # the step ran every call; five results wait
    assert reachable_records(fan) == 0  # made only when handed over
    rest = [d async for d in fan]
    assert [first.call.uuid, *(d.call.uuid for d in rest)] == CALLS
