"""A download's files in its folder: opened relative to the folder it checked, never through a link.

A new part is created (not opened), so its checks are skipped; these tests
hold what must still be true on that path and on the path of a part left behind.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import respx

from pbx_async import NetworkError, RecordingRef, ResponseFormatError, RetryPolicy, StorageError, ValidationError
from pbx_async.testing._wav import Recording

from ..conftest import BASE, mocked_session

pytestmark = pytest.mark.anyio
REC_URL = BASE + "api/call_recording.php"
WAV = Recording("folder", 100_000, 8000).read()
ETAG = '"folder-v1"'
C1 = RecordingRef("c1", "c1.wav")


class _Chunks(httpx.AsyncByteStream):
    """``chunks`` one after another; ``cut`` drops the connection after them."""

    def __init__(self, chunks: list[bytes], cut: bool = False) -> None:
        self.chunks, self.cut = chunks, cut

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.cut:
            raise httpx.RemoteProtocolError("peer closed connection")


def _reply(body: bytes, chunks: list[bytes], *, total: int | None = None, cut: bool = False) -> httpx.Response:
    headers = {"content-type": "audio/wav", "etag": ETAG, "content-length": str(len(body) if total is None else total)}
    return httpx.Response(200, headers=headers, stream=_Chunks(chunks, cut))


def _swap_for_a_link(dest: Path, moved: Path, outside: Path) -> None:
    """What another program may do mid-download: the folder renamed, a link to elsewhere put in its place."""
    dest.rename(moved)
    dest.symlink_to(outside, target_is_directory=True)


@pytest.mark.parametrize("ends", ["whole", "cut"])
async def test_a_folder_swapped_for_a_link_mid_download_gets_nothing_through_the_link(
    api: respx.MockRouter, tmp_path: Path, ends: str
) -> None:
    dest, moved, outside = tmp_path / "dest", tmp_path / "moved", tmp_path / "outside"
    dest.mkdir()
    outside.mkdir()

    def respond(request: httpx.Request) -> httpx.Response:
        _swap_for_a_link(dest, moved, outside)  # the part is open already: the request comes after it
        if ends == "whole":
            return _reply(WAV, [WAV])
        return _reply(WAV, [WAV[:40_000]], cut=True)  # the tag is written when it stops

    api.get(REC_URL).mock(side_effect=respond)
    async with mocked_session(api, retry=RetryPolicy(max_attempts=1)) as session:
        if ends == "whole":
            await session.download_recording(C1, dest)
        else:
            with pytest.raises(NetworkError):
                await session.download_recording(C1, dest)
    assert list(outside.iterdir()) == []  # neither the file, nor a part, nor a tag went through the link
    if ends == "whole":
        assert sorted(p.name for p in moved.iterdir()) == ["c1.wav"]
        assert (moved / "c1.wav").read_bytes() == WAV
    else:
        assert sorted(p.name for p in moved.iterdir()) == [".c1.wav.part", ".c1.wav.part.tag"]


async def test_a_folder_that_is_a_link_is_refused(api: respx.MockRouter, tmp_path: Path) -> None:
    real, link = tmp_path / "real", tmp_path / "link"
    real.mkdir()
    link.symlink_to(real, target_is_directory=True)
    route = api.get(REC_URL).mock(return_value=_reply(WAV, [WAV]))
    async with mocked_session(api) as session:
        with pytest.raises(ValidationError, match="is a link; give the real folder"):
            await session.download_recording(C1, link)
    assert route.call_count == 0
    assert list(real.iterdir()) == []


async def test_a_missing_folder_is_made(api: respx.MockRouter, tmp_path: Path) -> None:
    api.get(REC_URL).mock(return_value=_reply(WAV, [WAV]))
    async with mocked_session(api) as session:
        rec = await session.download_recording(C1, tmp_path / "a" / "b")
    assert rec.path == tmp_path / "a" / "b" / "c1.wav"
    assert rec.path.read_bytes() == WAV


async def test_a_part_that_is_not_a_regular_file_is_refused(api: respx.MockRouter, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".c1.wav.part")  # opened read-write, a FIFO would not even block
    route = api.get(REC_URL).mock(return_value=_reply(WAV, [WAV]))
    async with mocked_session(api) as session:
        with pytest.raises(StorageError, match="not a regular file"):
            await session.download_recording(C1, tmp_path)
    assert route.call_count == 0


async def test_a_tag_left_without_its_part_is_cleared_by_the_next_download(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    # What a crash between moving a finished part into place and removing its tag leaves behind.
    (tmp_path / ".c1.wav.part.tag").write_text(json.dumps({"validator": '"older"', "total": 7}))
    api.get(REC_URL).mock(return_value=_reply(WAV, [WAV[:30_000]], cut=True))
    async with mocked_session(api, retry=RetryPolicy(max_attempts=1)) as session:
        with pytest.raises(NetworkError):
            await session.download_recording(C1, tmp_path)
    # The bytes now on disk are of this version: the tag must say so, not the older one.
    tag = json.loads((tmp_path / ".c1.wav.part.tag").read_text())
    assert tag == {"validator": ETAG, "total": len(WAV)}
    (tmp_path / ".c1.wav.part").unlink()  # the tag alone again, for a download that ends whole
    (tmp_path / ".c1.wav.part.tag").write_text(json.dumps({"validator": '"older"', "total": 7}))
    api.get(REC_URL).mock(return_value=_reply(WAV, [WAV]))
    async with mocked_session(api) as session:
        await session.download_recording(C1, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.wav"]


@pytest.mark.parametrize("first", [1, 5, 11, 12, 13])
async def test_the_wav_check_reads_a_header_sent_in_small_pieces(
    api: respx.MockRouter, tmp_path: Path, first: int
) -> None:
    # The header is checked from the bytes as they were written, however the body was cut up.
    short = WAV[:60_000]  # its header says 100,044 bytes
    pieces = [WAV[:first], WAV[first : first + 3], WAV[first + 3 :]]
    short_pieces = [short[:first], short[first : first + 3], short[first + 3 :]]
    api.get(REC_URL).mock(side_effect=[_reply(short, short_pieces), _reply(WAV, pieces)])
    async with mocked_session(api, retry=RetryPolicy(max_attempts=1)) as session:
        with pytest.raises(ResponseFormatError, match="not a whole WAV file"):
            await session.download_recording(C1, tmp_path)
        assert not list(tmp_path.glob("*.wav"))
        rec = await session.download_recording(C1, tmp_path)
    assert rec.path.read_bytes() == WAV


async def test_a_resumed_part_whose_whole_file_lies_about_its_length_is_not_saved(
    api: respx.MockRouter, tmp_path: Path
) -> None:
    # The header is on disk from an earlier run: it is read back, and the file is still refused.
    short = WAV[:60_000]  # its header says 100,044 bytes, and 60,000 come
    (tmp_path / ".c1.wav.part").write_bytes(short[:20_000])
    (tmp_path / ".c1.wav.part.tag").write_text(json.dumps({"validator": ETAG, "total": len(short)}))

    def respond(request: httpx.Request) -> httpx.Response:
        assert request.headers["range"] == "bytes=20000-"
        headers = {"content-type": "audio/wav", "etag": ETAG, "content-range": f"bytes 20000-59999/{len(short)}"}
        return httpx.Response(206, headers=headers, stream=_Chunks([short[20_000:]]))

    api.get(REC_URL).mock(side_effect=respond)
    async with mocked_session(api, retry=RetryPolicy(max_attempts=1)) as session:
        with pytest.raises(ResponseFormatError, match="not a whole WAV file"):
            await session.download_recording(C1, tmp_path)
    assert not (tmp_path / "c1.wav").exists()
