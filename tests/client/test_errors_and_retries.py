"""Documented error replies, HTTP failures, and the retry rules for GET and POST."""

from __future__ import annotations

from datetime import UTC, datetime

import anyio
import httpx
import pytest
import respx

from pbx_async import (
    ApiError,
    AuthenticationError,
    CallNotFoundError,
    InvalidContainerError,
    NetworkError,
    PbxSession,
    RateLimitedError,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TransientServerError,
)
from pbx_async._retry import parse_retry_after

from ..conftest import LIST_URL, NOTES_URL, list_reply, mocked_session

pytestmark = pytest.mark.anyio

OK = httpx.Response(200, json=list_reply(["a"]))
NOTES_OK = httpx.Response(200, json={"success": "Your call notes have been submitted."})
DB_DOWN = {"error": "Error connecting to the database. Try again later."}


async def list_all(session: PbxSession) -> list[str]:
    return [c.uuid async for c in session.iter_calls()]


@pytest.mark.parametrize(
    ("message", "error", "advice"),
    [
        ("Your Container ID is invalid.", InvalidContainerError, "PBX_CONTAINER_ID"),
        ("Your API Auth Key is invalid.", AuthenticationError, "PBX_AUTH"),
        ("Your CallUUID is missing.", CallNotFoundError, "call UUID"),
        ("Something nobody documented", ApiError, "the API reported an error"),
    ],
)
async def test_documented_error_replies_map_to_typed_errors(
    api: respx.MockRouter, session: PbxSession, message: str, error: type[ApiError], advice: str
) -> None:
    route = api.get(LIST_URL).respond(json={"error": message})
    with pytest.raises(error, match=advice) as info:
        await list_all(session)
    assert type(info.value) is error
    assert info.value.server_message == message
    assert route.call_count == 1  # not worth retrying


@pytest.mark.parametrize(
    ("message", "error"),
    [
        ("Your Container ID is invalid.", InvalidContainerError),
        ("Your API Auth Key is invalid.", AuthenticationError),
        ("Your CallUUID is missing.", CallNotFoundError),
    ],
)
async def test_notes_error_replies(
    api: respx.MockRouter, session: PbxSession, message: str, error: type[ApiError]
) -> None:
    api.post(NOTES_URL).respond(json={"error": message})
    with pytest.raises(error):
        await session.set_call_notes("c1", notes="x")


@pytest.mark.parametrize(
    ("status", "error"),
    [(401, AuthenticationError), (403, AuthenticationError), (404, ApiError), (418, ApiError)],
)
async def test_client_error_statuses_are_not_retried(
    api: respx.MockRouter, session: PbxSession, status: int, error: type[ApiError]
) -> None:
    route = api.get(LIST_URL).respond(status, text="<html>nope</html>")
    with pytest.raises(error, match=f"HTTP {status}") as info:
        await list_all(session)
    assert info.value.status_code == status and route.call_count == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(500),
        httpx.Response(502),
        httpx.Response(503),
        httpx.Response(200, json=DB_DOWN),
        httpx.Response(200, content=b'{"currentResultSize": 1, "data": {"a": {"callU'),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=["500", "502", "503", "db-message", "truncated-json", "connect", "read-timeout", "cut-body"],
)
async def test_get_is_retried_on_transient_failures(
    api: respx.MockRouter, session: PbxSession, failure: httpx.Response | Exception
) -> None:
    route = api.get(LIST_URL).mock(side_effect=[failure, failure, OK])
    assert await list_all(session) == ["a"]
    assert route.call_count == 3


@pytest.mark.parametrize(
    ("failure", "error"),
    [
        (httpx.Response(500), ServerError),
        (httpx.Response(503), TransientServerError),
        (httpx.Response(200, json=DB_DOWN), TransientServerError),
        (httpx.Response(200, content=b"<html>oops"), ResponseFormatError),
        (httpx.ConnectError("refused"), NetworkError),
    ],
)
async def test_get_gives_up_after_max_attempts(
    api: respx.MockRouter, session: PbxSession, failure: httpx.Response | Exception, error: type[Exception]
) -> None:
    route = api.get(LIST_URL).mock(side_effect=failure)
    with pytest.raises(error):
        await list_all(session)
    assert route.call_count == session.retry.max_attempts == 4


async def test_retry_after_is_honoured(api: respx.MockRouter, session: PbxSession) -> None:
    route = api.get(LIST_URL).mock(side_effect=[httpx.Response(429, headers={"Retry-After": "1"}), OK])
    started = anyio.current_time()
    assert await list_all(session) == ["a"]
    assert anyio.current_time() - started >= 0.95  # backoff alone would be ~0.01 s
    assert route.call_count == 2


async def test_retry_after_beyond_the_budget_fails_at_once(api: respx.MockRouter) -> None:
    api.get(LIST_URL).respond(429, headers={"Retry-After": "3600"})
    policy = RetryPolicy(max_attempts=5, initial_backoff=0.01, max_elapsed=10)
    async with mocked_session(api, retry=policy) as session:
        started = anyio.current_time()
        with pytest.raises(RateLimitedError, match="rate limiting") as info:
            await list_all(session)
    assert info.value.retry_after == 3600 and anyio.current_time() - started < 1


async def test_total_retry_time_is_bounded(api: respx.MockRouter) -> None:
    route = api.get(LIST_URL).respond(503)
    policy = RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.05, max_elapsed=0.3)
    async with mocked_session(api, retry=policy) as session:
        started = anyio.current_time()
        with pytest.raises(TransientServerError):
            await list_all(session)
    assert anyio.current_time() - started < 1.5  # unbounded, 100 attempts would take about 5 s
    assert 3 <= route.call_count < 20


@pytest.mark.parametrize(
    ("failure", "calls"),
    [
        (httpx.ConnectError("refused"), 2),  # never reached the server: safe
        (httpx.ConnectTimeout("slow connect"), 2),
        (httpx.Response(200, json=DB_DOWN), 2),  # the server says nothing was written
        (httpx.ReadTimeout("sent, no answer"), 1),  # may have been written: not repeated
        (httpx.RemoteProtocolError("cut"), 1),
        (httpx.Response(503), 1),
        (httpx.Response(429), 1),
    ],
)
async def test_post_is_retried_only_when_it_cannot_have_been_applied(
    api: respx.MockRouter, session: PbxSession, failure: httpx.Response | Exception, calls: int
) -> None:
    route = api.post(NOTES_URL).mock(side_effect=[failure, NOTES_OK])
    if calls == 2:
        await session.set_call_notes("c1", notes="x")
    else:
        with pytest.raises((NetworkError, ApiError)):
            await session.set_call_notes("c1", notes="x")
    assert route.call_count == calls


def test_retry_after_formats() -> None:
    now = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Fri, 27 Nov 2026 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("Fri, 27 Nov 2026 11:00:00 GMT", now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_backoff_grows_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=8.0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (9, 8.0)]:
        delays = {policy.backoff(attempt) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert policy.backoff(1, retry_after=30.0) == 30.0
