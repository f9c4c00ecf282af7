"""What a download leaves on disk at any instant, which is what a hard crash (SIGKILL) leaves.

A small recording's part carries no tag while it streams (a tag is a file
creation, dearer than fetching a small file again): after a crash it is fetched
whole again. A big one's tag is written before its bytes, so after a crash the
next run asks only for the rest. Either way the rerun ends with the same file.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
import respx

from pbx_async import NetworkError, PbxSession, RecordingRef, ResponseFormatError, RetryPolicy
from pbx_async._recording_files import TAG_AT_START_FROM
from pbx_async.testing._wav import Recording

from ..conftest import BASE, CONTAINER, KEY, mocked_session
from ..fakes import http_reply, raw_server

pytestmark = pytest.mark.anyio
REC_URL = BASE + "api/call_recording.php"
ETAG = '"v1"'
C1 = RecordingRef("c1", "c1.wav")


class _Body(httpx.AsyncByteStream):
    """``data`` in 64 kB chunks; ``at_half`` runs once half of it has been sent."""

    def __init__(self, data: bytes, at_half: Callable[[], None] | None) -> None:
        self.data, self.at_half = data, at_half

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(0, len(self.data), 65_536):
            if self.at_half is not None and i >= len(self.data) // 2:
                self.at_half()
                self.at_half = None
            yield self.data[i : i + 65_536]


def _server(api: respx.MockRouter, wav: bytes, log: list[str | None], at_half: Callable[[], None] | None) -> None:
    def respond(request: httpx.Request) -> httpx.Response:
        wanted = request.headers.get("range")
        log.append(wanted)
        headers = {"content-type": "audio/wav", "etag": ETAG}
        if wanted and request.headers.get("if-range") == ETAG:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            headers |= {"content-range": f"bytes {start}-{len(wav) - 1}/{len(wav)}"}
            return httpx.Response(206, headers=headers, stream=_Body(wav[start:], None))
        return httpx.Response(200, headers=headers | {"content-length": str(len(wav))}, stream=_Body(wav, at_half))

    api.get(REC_URL).mock(side_effect=respond)


async def _crash_then_rerun(api: respx.MockRouter, tmp_path: Path, size: int) -> tuple[list[str], list[str | None]]:
    """Download once, copying the folder mid-body (what a SIGKILL there leaves); rerun into the copy."""
    wav = Recording("crash", size, 8000).read()
    folder, crashed = tmp_path / "live", tmp_path / "crashed"
    log: list[str | None] = []
    _server(api, wav, log, lambda: shutil.copytree(folder, crashed))
    async with mocked_session(api) as session:
        await session.download_recording(C1, folder)
    left = sorted(p.name for p in crashed.iterdir())
    _server(api, wav, log, None)
    log.clear()
    async with mocked_session(api) as session:
        rec = await session.download_recording(C1, crashed)
    assert rec.path.read_bytes() == wav
    assert rec.sha256 == hashlib.sha256(wav).hexdigest()
    assert sorted(p.name for p in crashed.iterdir()) == ["c1.wav"]  # neither part nor tag left behind
    return left, log


async def test_a_small_recording_cut_by_a_crash_is_fetched_whole_again(api: respx.MockRouter, tmp_path: Path) -> None:
    left, log = await _crash_then_rerun(api, tmp_path, 300_000)
    assert left == [".c1.wav.part"]  # no tag file was created for it
    assert log == [None]  # no version is known for those bytes: the whole file again


async def test_a_big_recording_cut_by_a_crash_resumes_where_it_stopped(api: respx.MockRouter, tmp_path: Path) -> None:
    left, log = await _crash_then_rerun(api, tmp_path, TAG_AT_START_FROM + 500_000)
    assert left == [".c1.wav.part", ".c1.wav.part.tag"]
    [asked] = log
    assert asked is not None and asked.startswith("bytes=") and asked != "bytes=0-"


async def test_a_small_recording_that_fails_keeps_its_tag_and_resumes(api: respx.MockRouter, tmp_path: Path) -> None:
    # Not a crash: the download ends with an error, and its part is left resumable.
    wav = Recording("cut", 300_000, 8000).read()
    log: list[str | None] = []

    def cut() -> None:
        raise httpx.RemoteProtocolError("peer closed connection")

    _server(api, wav, log, cut)
    async with mocked_session(api, retry=RetryPolicy(max_attempts=1)) as session:
        with pytest.raises(NetworkError):
            await session.download_recording(C1, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".c1.wav.part", ".c1.wav.part.tag"]
    _server(api, wav, log, None)
    async with mocked_session(api) as session:
        rec = await session.download_recording(C1, tmp_path)
    assert log[-1] is not None and log[-1].startswith("bytes=")
    assert rec.path.read_bytes() == wav


async def test_an_encoded_body_over_the_sessions_own_transport_is_never_saved_encoded(tmp_path: Path) -> None:
    # The session's own transport streams downloads without httpx; it must undo a content-encoding
    # as httpx does, so compressed bytes are never saved as the recording (here they are refused:
    # the decoded body is longer than the Content-Length the server sent).
    audio = b"ID3" + bytes(range(256)) * 400
    encoded = gzip.compress(audio)
    reply = http_reply("200 OK", encoded, Content_Type="audio/mpeg", Content_Encoding="gzip")
    with raw_server(lambda head: reply) as (base_url, heads):
        async with PbxSession(KEY, CONTAINER, base_url=base_url) as session:
            with pytest.raises(ResponseFormatError, match="longer than its Content-Length"):
                await session.download_recording(RecordingRef("c1", "c1.mp3"), tmp_path)
    assert b"identity" in heads[0].lower()  # it asked for the file as it is
    assert not list(tmp_path.glob("*.mp3"))
