"""Shared fixtures: a session against a respx-mocked API, on asyncio and on Trio."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import respx

from pbx_async import PbxSession, RetryPolicy
from pbx_async.testing import Simulator

pytest_plugins = ["pbx_async.testing.pytest_plugin"]

BASE = "https://pbx.test/"
LIST_URL = BASE + "api/call_list.php"
DETAILS_URL = BASE + "api/call_details.php"
NOTES_URL = BASE + "api/call_notes.php"
# Characters that URL-encoding changes, so a leak in encoded form is caught too.
KEY = "k3y/SECRET+value=xyz"
CONTAINER = "123456"
FAST_RETRY = RetryPolicy(max_attempts=4, initial_backoff=0.001, max_backoff=0.01, max_elapsed=30)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        yield router


@asynccontextmanager
async def mocked_session(api: respx.MockRouter, **options: Any) -> AsyncIterator[PbxSession]:
    """A session whose HTTP client is served by the respx router ``api``."""
    options = {"base_url": BASE, "retry": FAST_RETRY, **options}
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(api.async_handler)) as client,
        PbxSession(KEY, CONTAINER, http_client=client, **options) as session,
    ):
        yield session


@pytest.fixture
async def session(api: respx.MockRouter) -> AsyncIterator[PbxSession]:
    async with mocked_session(api, max_concurrency=4) as s:
        yield s


def requests_made(sim: Simulator) -> int:
    """Requests the simulator has answered so far, of every kind."""
    return sum(n for key, n in sim.stats.items() if key.startswith("requests "))


def call_row(uuid: str, **fields: Any) -> dict[str, Any]:
    """A Call Summary row as the server sends it."""
    row: dict[str, Any] = {
        "callUuid": uuid,
        "callDate": "2026-11-02 09:15:03",
        "callDirection": 1,
        "cidName": "ACME CORP",
        "cidNum": "3125550100",
        "numDialed": "8005550199",
        "duration": 35,
        "callRecorded": 1,
        "recordingUrl": f"https://pbx.test/rec/{uuid}.wav",
        "didDescription": "Main line",
        "cidPrefix": "",
        "lastEvent": "Hangup",
        "callFlagged": 0,
        "callSeverity": 0,
        "callNotes": "",
        "wentToVoicemail": 0,
        "spokeToPerson": 1,
        "didGroup": None,
        "transcription": None,
    }
    row.update(fields)
    return row


def list_reply(
    uuids: list[str], *, page: int = 1, total: int | None = None, per_page: int = 500, offset: int = 0
) -> dict[str, Any]:
    """A Call Summary reply holding ``uuids`` as page ``page`` of ``total`` calls."""
    total = len(uuids) if total is None else total
    return {
        "currentResultSize": len(uuids),
        "currentPage": page,
        "maxResultSize": total,
        "maxPages": max(1, -(-total // per_page)),
        "utcOffset": offset,
        "data": {u: call_row(u) for u in uuids} if uuids else [],
    }


def empty_reply() -> dict[str, Any]:
    """A reply with no rows, as PHP sends it: ``maxPages`` 0 and ``data`` an empty list."""
    return {"currentResultSize": 0, "currentPage": 1, "maxResultSize": 0, "maxPages": 0, "utcOffset": 0, "data": []}


def event_row(uuid: str, type_id: int, date: str, *data: str) -> dict[str, Any]:
    fields = [*data, "", "", "", ""][:4]
    return {
        "eventUuid": uuid,
        "eventDate": date,
        "eventType": type_id,
        "eventData1": fields[0],
        "eventData2": fields[1],
        "eventData3": fields[2],
        "eventData4": fields[3],
    }


def details_reply(
    call_uuid: str,
    events: list[dict[str, Any]],
    *,
    page: int = 1,
    total: int | None = None,
    per_page: int = 500,
) -> dict[str, Any]:
    total = len(events) if total is None else total
    return {
        "currentResultSize": len(events),
        "currentPage": page,
        "maxResultSize": total,
        "maxPages": max(1, -(-total // per_page)),
        "utcOffset": 0,
        **call_row(call_uuid),
        "data": {e["eventUuid"]: e for e in events},
    }


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A URL of a PostgreSQL server's ``postgres`` database (see tests/postgres.py)."""
    from tests.postgres import server

    with server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A URL of a fresh, empty database of its own for the test."""
    from tests.postgres import fresh_database

    return fresh_database(postgres_server)
