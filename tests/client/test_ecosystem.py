"""Fitting in: proxies (environment or ``proxy=``), the library's User-Agent, respx catching a default session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import respx

import pbx_async
from pbx_async import NetworkError, PbxSession, RecordingRef, RetryPolicy
from pbx_async.testing._wav import Recording

from ..conftest import BASE, CONTAINER, KEY, details_reply, list_reply
from ..fakes import http_reply, raw_server

pytestmark = pytest.mark.anyio
ONE_TRY = RetryPolicy(max_attempts=1)
NOWHERE = "http://pbx.example.invalid/"  # never resolves: only a proxy can answer for it
WAV = Recording("fixture", 20_000, 8000).read()


def answer(head: bytes) -> bytes:
    if b"call_recording" in head:
        return http_reply("200 OK", WAV, Content_Type="audio/wav")
    return http_reply("200 OK", json.dumps(details_reply("c1", [])).encode(), Content_Type="application/json")


def header(head: bytes, name: str) -> str | None:
    for line in head.decode("latin-1").split("\r\n")[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == name:
            return value.strip()
    return None


@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_the_proxy_in_the_environment_carries_every_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variable: str
) -> None:
    for name in (
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ):
        monkeypatch.delenv(name, raising=False)
    with raw_server(answer) as (proxy, heads):
        monkeypatch.setenv(variable, proxy)
        async with PbxSession(KEY, CONTAINER, base_url=NOWHERE, retry=ONE_TRY) as session:
            await session.get_call_details("c1")
            await session.download_recording(RecordingRef("c1", "c1.wav"), tmp_path)
    request_lines = [h.split(b"\r\n", 1)[0].decode() for h in heads]
    assert [line.split()[1].startswith(NOWHERE) for line in request_lines] == [True, True]  # absolute URIs: a proxy


async def test_no_proxy_covering_the_host_goes_direct(monkeypatch: pytest.MonkeyPatch) -> None:
    with raw_server(answer) as (proxy, heads):
        monkeypatch.setenv("HTTP_PROXY", proxy)
        monkeypatch.setenv("NO_PROXY", "pbx.example.invalid")
        async with PbxSession(KEY, CONTAINER, base_url=NOWHERE, retry=ONE_TRY) as session:
            with pytest.raises(NetworkError):  # straight to a host that does not exist
                await session.get_call_details("c1")
    assert heads == []


async def test_a_proxy_argument_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    with raw_server(answer) as (env_proxy, env_heads), raw_server(answer) as (given, given_heads):
        monkeypatch.setenv("HTTP_PROXY", env_proxy)
        async with PbxSession(KEY, CONTAINER, base_url=NOWHERE, retry=ONE_TRY, proxy=given) as session:
            await session.get_call_details("c1")
    assert (len(env_heads), len(given_heads)) == (0, 1)


async def test_requests_carry_the_library_s_user_agent(tmp_path: Path) -> None:
    with raw_server(answer) as (base_url, heads):
        async with PbxSession(KEY, CONTAINER, base_url=base_url) as session:
            await session.get_call_details("c1")
            await session.download_recording(RecordingRef("c1", "c1.wav"), tmp_path)
        async with PbxSession(KEY, CONTAINER, base_url=base_url, user_agent="acme-sync/2.0") as session:
            await session.get_call_details("c1")
    agents = [header(h, "user-agent") for h in heads]
    assert [a.split()[0] for a in agents[:2] if a] == [f"pbx-async/{pbx_async.__version__}"] * 2
    assert "Python/" in (agents[0] or "")
    assert agents[2] == "acme-sync/2.0"


async def test_respx_mock_catches_a_default_session() -> None:
    with respx.mock(base_url=BASE, assert_all_called=True) as mock:
        mock.get("api/call_list.php").respond(json=list_reply(["a", "b"]))
        async with PbxSession(KEY, CONTAINER, base_url=BASE) as session:
            assert [c.uuid async for c in session.iter_calls()] == ["a", "b"]


async def test_without_a_mock_the_default_session_keeps_its_fast_path(anyio_backend: str) -> None:
    async with PbxSession(KEY, CONTAINER, base_url=BASE) as session:
        direct = session._http._direct  # the lean exchange: aiohttp on asyncio, the anyio client on Trio
    assert type(direct).__name__ == ("AiohttpTransport" if anyio_backend == "asyncio" else "AnyioTransport")
    with respx.mock(base_url=BASE):
        async with PbxSession(KEY, CONTAINER, base_url=BASE) as session:
            assert session._http._direct is None  # under a mock, through httpx where the mock sees it


def test_a_bad_proxy_is_refused_without_repeating_it() -> None:
    with pytest.raises(pbx_async.ValidationError, match="proxy must be") as info:
        PbxSession(KEY, CONTAINER, proxy="socks5://user:hunter2@proxy")
    assert "hunter2" not in str(info.value)


SCRIPT = f"""
import anyio, pbx_async
async def main():
    policy = pbx_async.RetryPolicy(max_attempts=2, initial_backoff=0.01)
    async with pbx_async.PbxSession({KEY!r}, {CONTAINER!r}, base_url="http://127.0.0.1:1/", retry=policy) as s:
        try:
            await s.get_call_details("c1")
        except pbx_async.NetworkError:
            print("caught")
anyio.run(main)
"""


@pytest.mark.slow
@pytest.mark.parametrize("pbx_log", ["", "debug"])
def test_a_caught_error_prints_nothing_unless_pbx_log_asks(pbx_log: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "PBX_LOG"} | ({"PBX_LOG": pbx_log} if pbx_log else {})
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert done.stdout.strip() == "caught"
    if not pbx_log:
        assert done.stderr == ""
    else:
        assert "attempt 1 failed" in done.stderr and "Call Details: GET" in done.stderr
        assert KEY not in done.stderr
