"""A server that lies: each row of the hostile-server table (issue 12), against small fake servers.

Rows 1-3 and 7-9 are also served by the simulator's ``Lies`` in tests/properties/test_hostile_campaign.py.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import json
import logging
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import anyio
import httpx
import pytest
import respx

from pbx_async import (
    ApiError,
    FailedCall,
    NetworkError,
    PbxError,
    PbxSession,
    RecordingRef,
    ResponseFormatError,
    ResponseTooLargeError,
    RetryPolicy,
    StorageError,
    ValidationError,
)
from pbx_async.testing._wav import Recording

from .. import leaks
from ..conftest import BASE, CONTAINER, DETAILS_URL, KEY, LIST_URL, call_row, details_reply, list_reply, mocked_session
from ..fakes import http_reply, raw_server

pytestmark = pytest.mark.anyio
REC_URL = BASE + "api/call_recording.php"
WAV = Recording("fixture", 200_000, 8000).read()
ONE_TRY = RetryPolicy(max_attempts=1)


def leaked(text: str, key: str = KEY) -> list[str]:
    return leaks.leaked(text, key)


def chain(error: BaseException) -> Iterator[BaseException]:
    """The error and everything reachable from it: cause, context, nested args."""
    seen: set[int] = set()
    stack: list[BaseException] = [error]
    while stack:
        exc = stack.pop()
        if id(exc) in seen:
            continue
        seen.add(id(exc))
        yield exc
        stack += [e for e in (exc.__cause__, exc.__context__) if e is not None]
        stack += [a for a in exc.args if isinstance(a, BaseException)]


def everything_said(error: BaseException) -> str:
    parts: list[str] = []
    for exc in chain(error):
        parts += [str(exc), repr(exc), repr(exc.args), repr(vars(exc)) if hasattr(exc, "__dict__") else ""]
        request = getattr(exc, "_request", None)
        if request is not None:
            parts.append(str(request.url))
    return "\n".join(parts)


# -- 1. bombs and endless bodies -------------------------------------------------------------------


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, chunks: Callable[[], Iterator[bytes]]) -> None:
        self._chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks():
            yield chunk


@functools.cache
def _bomb(size: int) -> bytes:
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = b" " * (1 << 20)
    parts = [squeeze.compress(block) for _ in range(size >> 20)]
    return b"".join([*parts, squeeze.compress(json.dumps(list_reply(["a"])).encode()), squeeze.flush()])


async def test_a_gzip_bomb_is_refused_while_it_streams_within_bounded_memory(api: respx.MockRouter) -> None:
    bomb = _bomb(256 * 1024**2)  # 256 MiB of spaces in about 0.25 MB
    assert len(bomb) < 1024**2
    route = api.get(LIST_URL).mock(
        return_value=httpx.Response(
            200,
            headers={"content-encoding": "gzip", "content-type": "application/json"},
            stream=_Chunks(lambda: (bomb[i : i + 65536] for i in range(0, len(bomb), 65536))),
        )
    )
    tracemalloc.start()
    try:
        async with mocked_session(api) as session:
            with pytest.raises(ResponseTooLargeError, match="larger than 33,554,432 bytes"):
                [c async for c in session.iter_calls()]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024**2  # the limit (32 MiB) plus a bounded step, not 256 MiB
    assert route.call_count == 1  # not retried: the same answer would come again


async def test_an_endless_plain_body_is_cut_at_the_limit(api: respx.MockRouter) -> None:
    def endless() -> Iterator[bytes]:
        yield b'{"data": "'
        while True:
            yield b"x" * 65536

    route = api.get(LIST_URL).mock(return_value=httpx.Response(200, stream=_Chunks(endless)))
    async with mocked_session(api, max_reply_bytes=1024**2) as session:
        with pytest.raises(ResponseTooLargeError):
            [c async for c in session.iter_calls()]
    assert route.call_count == 1


async def test_a_small_gzip_reply_is_read_as_usual(api: respx.MockRouter) -> None:
    body = gzip.compress(json.dumps(list_reply(["a", "b"])).encode())
    api.get(LIST_URL).mock(
        return_value=httpx.Response(200, headers={"content-encoding": "gzip"}, stream=_Chunks(lambda: iter([body])))
    )
    async with mocked_session(api) as session:
        assert [c.uuid async for c in session.iter_calls()] == ["a", "b"]


# -- 2. lying page counts ---------------------------------------------------------------------------


async def test_a_huge_max_pages_is_refused_after_one_request(api: respx.MockRouter) -> None:
    reply = list_reply([f"c{i}" for i in range(500)], total=500)
    reply["maxPages"] = 10**9
    route = api.get(LIST_URL).respond(json=reply)
    async with mocked_session(api) as session:
        with pytest.raises(ResponseFormatError, match="paging is inconsistent"):
            [c async for c in session.iter_calls()]
    assert route.call_count == 1


@pytest.mark.parametrize("entered", [False, True], ids=["bare", "async-with"])
async def test_a_max_pages_growing_each_page_ends_within_the_bound(api: respx.MockRouter, entered: bool) -> None:
    calls = [f"c{i}" for i in range(1200)]  # 3 pages

    def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        reply = list_reply(calls[(page - 1) * 500 : page * 500], page=page, total=len(calls))
        reply["maxPages"] = 3 + page  # one more than the last page asked, forever
        return httpx.Response(200, json=reply)

    route = api.get(LIST_URL).mock(side_effect=respond)

    async def drain(scan: Any) -> None:
        if entered:
            async with scan:
                [c async for c in scan]
        else:
            [c async for c in scan]

    async with mocked_session(api, max_concurrency=1) as session:
        with pytest.raises(PbxError):
            await drain(session.iter_calls())
    assert route.call_count <= 3 + 2  # ceil(total / 500) + 2


async def test_details_whose_max_pages_is_always_one_more_end(api: respx.MockRouter) -> None:
    events = [{"eventUuid": f"e{i}", "eventDate": "2026-11-02 09:15:03", "eventType": 5} for i in range(3)]

    def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        reply = details_reply("c1", events, page=page)
        reply["maxPages"] = page + 1
        return httpx.Response(200, json=reply)

    route = api.get(DETAILS_URL).mock(side_effect=respond)
    async with mocked_session(api, max_concurrency=1) as session:
        with pytest.raises(ResponseFormatError):
            await session.get_call_details("c1")
    assert route.call_count <= 1 + 2


# -- 3. a trickling server ------------------------------------------------------------------------


class _Trickle(httpx.AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        for byte in json.dumps(list_reply(["a"])).encode():
            await anyio.sleep(0.2)
            yield bytes([byte])


async def test_a_trickling_body_ends_within_timeout_times_attempts(api: respx.MockRouter) -> None:
    route = api.get(LIST_URL).mock(side_effect=lambda request: httpx.Response(200, stream=_Trickle()))
    policy = RetryPolicy(max_attempts=2, initial_backoff=0.01, max_backoff=0.01)
    async with mocked_session(api, timeout=1.0, retry=policy) as session:
        started = anyio.current_time()
        with pytest.raises(NetworkError, match="no complete reply within 1 s"):
            [c async for c in session.iter_calls()]
        took = anyio.current_time() - started
    assert route.call_count == 2
    assert took < 2 * 1.0 + 1.5  # two attempts of one second each, plus a generous margin


# -- 4. links in the destination -------------------------------------------------------------------


def wav_reply(body: bytes = WAV, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "audio/wav", "etag": '"v1"', **headers}, content=body)


async def test_a_part_file_that_is_a_link_is_never_written_through(api: respx.MockRouter, tmp_path: Path) -> None:
    dest, outside = tmp_path / "dest", tmp_path / "outside.txt"
    dest.mkdir()
    outside.write_bytes(b"the user's own file")
    (dest / ".c1.wav.part").symlink_to(outside)
    (dest / ".c2.wav.part").symlink_to(tmp_path / "new-outside.wav")  # a link to a path that does not exist yet
    api.get(REC_URL).mock(return_value=wav_reply())
    async with mocked_session(api) as session:
        for name in ("c1.wav", "c2.wav"):
            with pytest.raises(StorageError, match="is a link"):
                await session.download_recording(RecordingRef("c1", name), dest)
    assert outside.read_bytes() == b"the user's own file"
    assert not (tmp_path / "new-outside.wav").exists()


async def test_a_finished_file_that_is_a_link_is_replaced_not_followed(api: respx.MockRouter, tmp_path: Path) -> None:
    dest, outside = tmp_path / "dest", tmp_path / "outside.wav"
    dest.mkdir()
    outside.write_bytes(WAV)
    (dest / "c1.wav").symlink_to(outside)
    api.get(REC_URL).mock(return_value=wav_reply())
    async with mocked_session(api) as session:
        with pytest.raises(StorageError, match="is a link"):
            await session.download_recording(RecordingRef("c1", "c1.wav"), dest)
    assert outside.read_bytes() == WAV


# -- 5. a resume answered from another file ---------------------------------------------------------


class _Cut(httpx.AsyncByteStream):
    def __init__(self, body: bytes, cut: int) -> None:
        self.body, self.cut = body, cut

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.body[: self.cut]
        raise httpx.RemoteProtocolError("peer closed connection")


async def test_a_resume_answered_from_a_different_file_starts_over(api: respx.MockRouter, tmp_path: Path) -> None:
    other = WAV[:44] + bytes(255 - b for b in WAV[44:])  # same size, other bytes, other ETag
    sent: list[dict[str, str]] = []

    def respond(request: httpx.Request) -> httpx.Response:
        sent.append({k: request.headers[k] for k in ("range", "if-range") if k in request.headers})
        headers = {"content-type": "audio/wav"}
        if len(sent) == 1:
            headers |= {"etag": '"v1"', "content-length": str(len(WAV))}
            return httpx.Response(200, headers=headers, stream=_Cut(WAV, 80_000))
        if len(sent) == 2:  # the lie: a 206 of another version, whatever If-Range said
            rest = other[80_000:]
            headers |= {"etag": '"v2"', "content-range": f"bytes 80000-{len(WAV) - 1}/{len(WAV)}"}
            return httpx.Response(206, headers={**headers, "content-length": str(len(rest))}, content=rest)
        return httpx.Response(200, headers={**headers, "etag": '"v1"'}, content=WAV)

    api.get(REC_URL).mock(side_effect=respond)
    async with mocked_session(api) as session:
        rec = await session.download_recording(RecordingRef("c1", "c1.wav"), tmp_path)
    assert sent[1] == {"range": "bytes=80000-", "if-range": '"v1"'}
    assert rec.path.read_bytes() == WAV
    assert rec.sha256 == hashlib.sha256(WAV).hexdigest()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.wav"]


# -- 6. two server names, one local name -----------------------------------------------------------


async def test_colliding_server_names_each_get_their_own_file(api: respx.MockRouter, tmp_path: Path) -> None:
    bodies = {
        "a/rec.wav": WAV,
        "b/rec.wav": WAV[:44] + WAV[44:][::-1],
        "2026:11:01.wav": WAV[:44] + bytes(len(WAV) - 44),
        "2026_11_01.wav": WAV[:44] + b"\x01" * (len(WAV) - 44),
    }
    api.get(REC_URL).mock(side_effect=lambda r: wav_reply(bodies[r.url.params["fileName"]]))
    refs = [RecordingRef(f"call-{i}", name) for i, name in enumerate(bodies)]
    async with mocked_session(api) as session, session.download_recordings(refs, tmp_path, ordered=True) as results:
        files = [f async for f in results]
    assert [f.call_uuid for f in files] == [r.call_uuid for r in refs]  # type: ignore[union-attr]
    assert len({f.path for f in files}) == 4  # type: ignore[union-attr]
    for ref, file in zip(refs, files, strict=True):
        assert not isinstance(file, FailedCall)
        assert file.path.read_bytes() == bodies[ref.file_name]
        assert file.sha256 == hashlib.sha256(bodies[ref.file_name]).hexdigest()


# -- 7, 9. the key echoed back ---------------------------------------------------------------------

ODD_KEY = 'k3y\\with"quote/and+plus=and%41longer-than-eight'


def echo_body(key: str) -> str:
    forms = [key, quote(key, safe=""), json.dumps(key)[1:-1], key.encode("unicode_escape").decode(), key[5:25]]
    head = "x" * (300 - len(key) // 2)
    return head + key + " | " + " | ".join(forms) + " " + "y" * 800


@pytest.mark.parametrize("key", [KEY, ODD_KEY])
async def test_an_echoed_key_is_in_no_log_line_and_no_error(
    api: respx.MockRouter, caplog: pytest.LogCaptureFixture, key: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("pbx_async", "httpx", "httpcore"):  # put back after the test, for the tests after it
        caplog.set_level(logging.DEBUG, logger=name)
    api.get(LIST_URL).respond(200, text=echo_body(key), headers={"content-type": "text/html"})
    api.get(DETAILS_URL).respond(json={"error": echo_body(key)})
    errors: list[BaseException] = []
    async with (
        httpx.AsyncClient(transport=httpx.MockTransport(api.async_handler)) as client,
        PbxSession(
            key, CONTAINER, base_url=BASE, http_client=client, retry=RetryPolicy(max_attempts=2, initial_backoff=0.001)
        ) as session,
    ):
        for attempt in (lambda: session.iter_calls().__anext__(), lambda: session.get_call_details("c1")):
            with pytest.raises(PbxError) as info:
                await attempt()
            errors.append(info.value)
    assert any("attempt 1 failed" in r.getMessage() for r in caplog.records)  # the retry was logged ...
    texts = [caplog.text, *(everything_said(e) for e in errors)]
    assert [leaked(t, key) for t in texts] == [[]] * len(texts)  # ... and nothing said held the key


async def test_a_network_error_keeps_no_request_in_its_chain(api: respx.MockRouter) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)

    api.get(LIST_URL).mock(side_effect=refuse)
    async with mocked_session(api) as session:
        with pytest.raises(NetworkError) as info:
            [c async for c in session.iter_calls()]
    assert [type(e).__name__ for e in chain(info.value)] == ["NetworkError"]
    assert leaked(everything_said(info.value)) == []


# -- 8. the key in a recording URL -----------------------------------------------------------------


async def test_a_key_in_a_recording_url_is_stripped_before_any_record_holds_it(api: respx.MockRouter) -> None:
    row = call_row("c1", recordingUrl=f"{BASE}api/call_recording.php?containerID=1&AUTH={quote(KEY)}&fileName=c1.wav")
    reply = list_reply([])
    reply.update({"currentResultSize": 1, "maxResultSize": 1, "maxPages": 1, "data": {"c1": row}})
    api.get(LIST_URL).respond(json=reply)
    async with mocked_session(api) as session:
        [call] = [c async for c in session.iter_calls()]
    assert call.recording_url == f"{BASE}api/call_recording.php?containerID=1&fileName=c1.wav"
    assert leaked(repr(call)) == []
    assert RecordingRef.from_url(call.uuid, call.recording_url).file_name == "c1.wav"


# -- 11. redirects ----------------------------------------------------------------------------------


async def test_no_redirect_is_followed_even_by_a_client_that_would(tmp_path: Path) -> None:
    with raw_server(lambda head: http_reply("200 OK", b"{}")) as (elsewhere, stolen):
        target = elsewhere + "steal"
        with raw_server(lambda head: http_reply("302 Found", Location=target)) as (base_url, _):
            async with (
                httpx.AsyncClient(follow_redirects=True) as client,
                PbxSession(KEY, CONTAINER, base_url=base_url, http_client=client, retry=ONE_TRY) as session,
            ):
                for call in (
                    lambda: session.get_call_details("c1"),
                    lambda: session.set_call_notes("c1", notes="x"),
                    lambda: session.download_recording(RecordingRef("c1", "c1.wav"), tmp_path),
                ):
                    with pytest.raises(ApiError, match=r"redirected to 127\.0\.0\.1 \(HTTP 302\)") as info:
                        await call()
                    assert leaked(everything_said(info.value)) == []
    assert stolen == []  # the other host never heard from us


# -- 12, 13. disk errors ---------------------------------------------------------------------------


async def test_disk_errors_in_ordered_downloads_surface_as_storage_errors(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    (tmp_path / ".c2.wav.part").mkdir()  # a folder where the part file must go
    api.get(REC_URL).mock(side_effect=lambda r: wav_reply())
    refs = [RecordingRef("c1", "c1.wav"), RecordingRef("c2", "c2.wav")]
    async with mocked_session(api) as session:
        for on_error in ("return", "raise"):
            async with session.download_recordings(refs, tmp_path, ordered=True, on_error=on_error) as results:
                if on_error == "return":
                    items = [item async for item in results]
                    assert isinstance(items[1], FailedCall)
                    error = items[1].error
                else:
                    with pytest.raises(StorageError) as info:
                        [item async for item in results]
                    error = info.value
            assert isinstance(error, StorageError) and isinstance(error, OSError)
            assert ".c2.wav.part" in str(error)


async def test_a_file_given_as_the_folder_is_refused_naming_the_path_and_left_alone(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    route = api.get(REC_URL).mock(return_value=wav_reply())
    target = tmp_path / "file-not-folder"
    target.write_text("mine")
    async with mocked_session(api) as session:
        with pytest.raises(ValidationError, match="file-not-folder is a file, not a folder"):
            await session.download_recording(RecordingRef("c1", "c1.wav"), target)
    assert route.call_count == 0
    assert target.read_text() == "mine"


async def test_a_folder_that_cannot_be_made_is_a_storage_error_naming_the_path(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    api.get(REC_URL).mock(return_value=wav_reply())
    target = tmp_path / ("x" * 300)  # a name longer than the file system allows
    async with mocked_session(api) as session:
        with pytest.raises(StorageError, match="xxxx") as info:
            await session.download_recording(RecordingRef("c1", "c1.wav"), target)
    assert isinstance(info.value, PbxError) and isinstance(info.value, OSError)
    assert list(tmp_path.iterdir()) == []


# -- the exact wire ---------------------------------------------------------------------------------


def _request_line(head: bytes) -> str:
    return head.split(b"\r\n", 1)[0].decode()


@pytest.mark.parametrize("own_client", [False, True], ids=["default-session", "httpx-client"])
async def test_values_reach_the_server_exactly_as_given(tmp_path: Path, own_client: bool) -> None:
    def reply(head: bytes) -> bytes:
        if b"call_recording" in head:
            return http_reply("200 OK", WAV, Content_Type="audio/wav")
        return http_reply("200 OK", json.dumps(details_reply("x%41y", [])).encode(), Content_Type="application/json")

    with raw_server(reply) as (base_url, heads):
        async with (
            httpx.AsyncClient() as client,
            PbxSession(KEY, CONTAINER, base_url=base_url, http_client=client if own_client else None) as session,
        ):
            await session.get_call_details("x%41y")
            await session.download_recording(RecordingRef("x%41y", "rec%41.wav"), tmp_path)
    details, recording = (parse_qs(urlsplit(_request_line(h).split()[1]).query) for h in heads)
    assert details["callUUID"] == ["x%41y"]  # a literal %41 arrives as %41, not as "A"
    assert recording["fileName"] == ["rec%41.wav"]
    assert details["auth"] == recording["auth"] == [KEY]
