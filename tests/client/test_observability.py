"""Seeing what happens: errors that carry their exchange, hooks for metrics and tracing, per-call options."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
import respx

from pbx_async import (
    ApiError,
    Hooks,
    PbxSession,
    RequestInfo,
    ResponseInfo,
    RetryInfo,
    RetryPolicy,
    ServerError,
)

from ..conftest import DETAILS_URL, KEY, LIST_URL, details_reply, list_reply, mocked_session

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(max_attempts=3, initial_backoff=0.001, max_backoff=0.001)


def no_key(*texts: object) -> bool:
    return all(KEY not in str(t) and "k3y" not in str(t) for t in texts)


async def test_an_error_carries_its_request_and_reply_key_masked(api: respx.MockRouter) -> None:
    api.get(LIST_URL).respond(418, headers={"x-trace": "abc", "x-echo": KEY}, text=f"I'm a teapot, {KEY}")
    async with mocked_session(api) as session:
        with pytest.raises(ApiError) as info:
            [c async for c in session.iter_calls()]
    request, response = info.value.request, info.value.response
    assert request is not None and response is not None
    assert (request.what, request.method) == ("Call Summary", "GET")
    assert request.url.startswith(LIST_URL + "?auth=***&containerID=123456")
    assert response.status_code == 418 and response.headers["x-trace"] == "abc"
    assert response.body.startswith(b"I'm a teapot")
    assert no_key(request, response, response.headers, response.body)


async def test_hooks_see_every_request_reply_and_retry_never_the_key(api: respx.MockRouter) -> None:
    api.get(LIST_URL).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=list_reply(["a"]))])
    api.get(DETAILS_URL).respond(json=details_reply("a", []))
    seen: list[object] = []
    hooks = Hooks(
        on_request=seen.append,
        on_response=lambda request, response: seen.append((request.what, response.status_code)),
        on_retry=seen.append,
    )
    async with mocked_session(api, retry=FAST, hooks=hooks) as session:
        [call] = [c async for c in session.iter_calls()]
        await session.get_call_details(call)
    requests = [s for s in seen if isinstance(s, RequestInfo)]
    retries = [s for s in seen if isinstance(s, RetryInfo)]
    replies = [s for s in seen if isinstance(s, tuple)]
    assert [r.what for r in requests] == ["Call Summary", "Call Summary", "Call Details"]
    assert replies == [("Call Summary", 503), ("Call Summary", 200), ("Call Details", 200)]
    assert [(r.attempt, r.cause) for r in retries] == [(1, "HTTP 503")]
    assert retries[0].request is not None and retries[0].request.what == "Call Summary"
    assert no_key(*seen)


async def test_with_options_changes_one_call_only(api: respx.MockRouter) -> None:
    route = api.get(DETAILS_URL).respond(500)
    async with mocked_session(api, retry=FAST) as session:
        one_try = session.with_options(retry=RetryPolicy(max_attempts=1))
        with pytest.raises(ServerError):
            await one_try.get_call_details("c1")
        assert route.call_count == 1
        with pytest.raises(ServerError):
            await session.get_call_details("c1")  # the session's own policy: three attempts
        assert route.call_count == 1 + 3
        async with session.with_options(timeout=5) as view:  # leaving the view leaves the session open
            assert view.retry is session.retry
        api.get(LIST_URL).respond(json=list_reply(["a"]))
        assert [c.uuid async for c in session.iter_calls()] == ["a"]
        assert session.retry_counts == {"HTTP 500": 2}  # the view counts into the session's numbers


TYPED_USE = """
from pbx_async import CallDetails, FailedCall, PbxSession, RecordingFile

async def main(session: PbxSession) -> None:
    async with session.iter_call_details(["a"]) as results:
        async for details in results:
            reveal: CallDetails = details            # the default yields CallDetails only
            print(details.call.uuid)
    async for item in session.iter_call_details(["a"], on_error="return"):
        either: CallDetails | FailedCall = item
    async for rec in session.download_recordings(["a"], "recs", on_error="raise"):
        print(rec.path)                              # RecordingFile only
    async for got in session.download_recordings(["a"], "recs"):
        maybe: RecordingFile | FailedCall = got
"""


@pytest.mark.slow
def test_the_types_tell_the_truth_to_mypy(tmp_path: Path) -> None:
    source = tmp_path / "use.py"
    source.write_text(textwrap.dedent(TYPED_USE))
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout


async def test_reply_headers_are_named_in_lower_case_on_every_transport(anyio_backend: str) -> None:
    from pbx_async.testing import Faults, Simulator, serve

    sim = Simulator(calls=10, seed=2, faults=Faults(error_500=1.0))
    async with serve(sim) as base_url:
        async with PbxSession(sim.auth, sim.container_id, base_url=base_url, retry=RetryPolicy(max_attempts=1)) as s:
            with pytest.raises(ServerError) as info:
                await s.get_call_details("c1")
    response = info.value.response
    assert response is not None and response.status_code == 500
    assert "content-type" in response.headers and all(name == name.lower() for name in response.headers)


async def test_the_raw_reply_of_one_call_through_a_hook(api: respx.MockRouter) -> None:
    reply = details_reply("c1", [{"eventUuid": "e1", "eventDate": "2026-11-02 09:15:03", "eventType": 5}])
    reply["callNotes"] = f"the server echoed {KEY}"
    api.get(DETAILS_URL).respond(json=reply)
    raw: list[ResponseInfo] = []
    async with mocked_session(api) as session:
        view = session.with_options(hooks=Hooks(on_response=lambda request, response: raw.append(response)))
        await view.get_call_details("c1")
        await session.get_call_details("c1")  # the session itself has no hook
    [page] = raw
    body = json.loads(page.body)
    assert body["callUuid"] == "c1" and body["data"]["e1"]["eventType"] == 5  # the whole reply, as sent
    assert no_key(page.body) and "***" in body["callNotes"]
