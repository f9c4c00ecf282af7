"""Bad values of every user-facing argument: each refused, saying what is allowed, before anything is sent."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from pbx_async import ApiPaths, PbxSession, RecordingRef, RetryPolicy, ValidationError
from pbx_async.export import ExportSpec, SyncSpec, plan_shards

from ..conftest import BASE, CONTAINER, KEY

pytestmark = pytest.mark.anyio

Case = tuple[str, Callable[[PbxSession], Any], str]
CASES: list[Case] = [
    ("container ID of 7 digits", lambda s: PbxSession(KEY, "1234567"), "exactly 6 digits"),
    ("container ID with a letter", lambda s: PbxSession(KEY, "12345x"), "exactly 6 digits"),
    ("tenant 1000", lambda s: PbxSession(KEY, CONTAINER, tenant_id=1000), "0 to 999"),
    ("base URL without scheme", lambda s: PbxSession(KEY, CONTAINER, base_url="pbx.example"), "http"),
    ("path to another host", lambda s: ApiPaths(recording="https://evil.example/x"), "relative to base_url"),
    ("max_concurrency 0", lambda s: PbxSession(KEY, CONTAINER, max_concurrency=0), "1 to"),
    ("max_concurrency 10,000", lambda s: PbxSession(KEY, CONTAINER, max_concurrency=10_000), "1 to 256"),
    ("negative timeout", lambda s: PbxSession(KEY, CONTAINER, timeout=-1), "positive"),
    ("zero retries", lambda s: RetryPolicy(max_attempts=0), "max_attempts"),
    ("utc offset 15 h", lambda s: s.iter_calls(utc_offset=900), "-720 to 840"),
    ("from after to", lambda s: s.iter_calls(from_date=date(2026, 11, 3), to_date=date(2026, 11, 1)), "after"),
    ("date as text", lambda s: s.iter_calls(from_date="2026-11-01"), "datetime or a date"),
    ("unknown filter", lambda s: s.iter_calls(caller="x"), "unknown filter"),
    ("severity filter 9", lambda s: s.iter_calls(severity=9), "0 to 5"),
    ("internal app 7", lambda s: s.iter_calls(internal_app=7), "1 to 6"),
    ("ivr key 12", lambda s: s.iter_calls(ivr_pushed="12"), "keypad"),
    ("flag as 1", lambda s: s.iter_calls(went_to_voicemail=1), "True or False"),
    ("DID with a newline", lambda s: s.iter_calls(inbound_did="800\n555"), "control"),
    ("strict as text", lambda s: s.iter_calls(strict="no"), "True or False"),
    ("empty call UUID", lambda s: s.get_call_details(""), "call_uuid"),
    ("call UUID of 500 chars", lambda s: s.get_call_details("u" * 500), "at most 128"),
    ("details offset 2000", lambda s: s.get_call_details("u1", utc_offset=2000), "-720 to 840"),
    ("notes of 300 chars", lambda s: s.set_call_notes("u1", notes="n" * 300), "at most 255"),
    ("severity 9 on write", lambda s: s.set_call_notes("u1", severity=9), "0 to 5"),
    ("flag as 'yes'", lambda s: s.set_call_notes("u1", flagged="yes"), "True or False"),
    ("notes with nothing to set", lambda s: s.set_call_notes("u1"), "at least one"),
    ("fan-out concurrency 0", lambda s: s.iter_call_details(["u1"], concurrency=0), "1 to"),
    ("fan-out on_error 'skip'", lambda s: s.iter_call_details(["u1"], on_error="skip"), "'raise' or 'return'"),
    ("download name with NUL", lambda s: s.download_recording(RecordingRef("u1", "a\x00b.wav"), "dest"), "control"),
    ("download of an empty call UUID", lambda s: s.download_recording("", "dest"), "call_uuid"),
    ("download max_bytes 0", lambda s: s.download_recording("a.wav", "dest", max_bytes=0), "max_bytes"),
    (
        "export format xls",
        lambda s: ExportSpec(date(2026, 11, 1), date(2026, 11, 1), Path("x"), format="xls"),
        "sqlite",
    ),
    ("export window reversed", lambda s: ExportSpec(date(2026, 11, 2), date(2026, 11, 1), Path("x")), "after"),
    # A year under 1000 would go out as "1-01-01", which the API reads as today; 9999 overflows a day's window.
    ("calls from year 1", lambda s: s.iter_calls(from_date=date(1, 1, 1)), "a day from 1970-01-01 to 9998-12-31"),
    ("calls up to year 9999", lambda s: s.iter_calls(to_date=datetime(9999, 12, 31, tzinfo=UTC)), "9998-12-31"),
    ("pages from 1969", lambda s: s.iter_call_pages(from_date=date(1969, 12, 31)), "1970-01-01"),
    ("export from year 1", lambda s: ExportSpec(date(1, 1, 1), date(1, 1, 2), Path("x")), "1970-01-01 to 9998"),
    ("export to year 9999", lambda s: ExportSpec(date(2026, 1, 1), date(9999, 12, 31), Path("x")), "9998-12-31"),
    ("sync since year 1", lambda s: SyncSpec(out="x.sqlite", since=date(1, 1, 1)), "1970-01-01 to 9998-12-31"),
    ("sync lookback NaN", lambda s: SyncSpec(out="x.sqlite", lookback=math.nan), "hours from 0 to 87,840, got nan"),
    ("sync lookback 1e11", lambda s: SyncSpec(out="x.sqlite", lookback=1e11), "hours from 0 to 87,840"),
    ("sync lookback -5", lambda s: SyncSpec(out="x.sqlite", lookback=-5), "hours from 0 to 87,840, got -5"),
    (
        "plan lookback of 200 years",
        lambda s: plan_shards([], lookback=timedelta(days=73_000)),
        "more than 0, at most 87,840",
    ),
    ("plan from year 1", lambda s: plan_shards([], date(1, 1, 1), date(1, 1, 2)), "1970-01-01 to 9998-12-31"),
]


@pytest.mark.parametrize(("what", "call", "message"), CASES, ids=[c[0] for c in CASES])
async def test_bad_input_is_refused_before_any_request(
    what: str, call: Callable[[PbxSession], Any], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sent: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(record)) as client,
        PbxSession(KEY, CONTAINER, base_url=BASE, http_client=client) as session,
    ):

        async def attempt() -> None:
            result = call(session)
            if hasattr(result, "__await__"):
                await result

        with pytest.raises(ValidationError, match=message):
            await attempt()
    assert sent == []
    assert not list(tmp_path.iterdir())  # nothing written either
