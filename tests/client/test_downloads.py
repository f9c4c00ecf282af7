"""Recording downloads: streaming, resume, safe names, completeness, refusal of non-audio bodies."""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from pbx_async import (
    AuthenticationError,
    NetworkError,
    PbxSession,
    RecordingFile,
    RecordingRef,
    ResponseFormatError,
    RetryPolicy,
    ValidationError,
)
from pbx_async._recording_files import local_name
from pbx_async.testing import Faults, Simulator, serve
from pbx_async.testing._wav import Recording

from ..conftest import BASE, list_reply, mocked_session

pytestmark = pytest.mark.anyio
REC_URL = BASE + "api/call_recording.php"
WAV = Recording("fixture", 300_000, 8000).read()
C1 = RecordingRef("c1", "c1.wav")
ETAG = '"wav-v1"'  # call c1's recording, by the file name the server gave


class _CutStream(httpx.AsyncByteStream):
    """Sends ``data`` up to ``cut`` bytes, then the connection drops."""

    def __init__(self, data: bytes, cut: int | None) -> None:
        self.data, self.cut = data, cut

    async def __aiter__(self) -> AsyncIterator[bytes]:
        end = len(self.data) if self.cut is None else self.cut
        for i in range(0, end, 50_000):
            yield self.data[i : min(i + 50_000, end)]
        if self.cut is not None:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")


def wav_server(api: respx.MockRouter, *, ranges: bool, cut_first_at: int | None, log: list[str | None]) -> respx.Route:
    state = {"first": True}

    def respond(request: httpx.Request) -> httpx.Response:
        wanted = request.headers.get("range")
        log.append(wanted)
        cut = cut_first_at if state.pop("first", False) else None
        headers = {"content-type": "audio/wav", "etag": ETAG}
        if ranges and wanted and request.headers.get("if-range") == ETAG:
            start = int(wanted.removeprefix("bytes=").rstrip("-"))
            body = WAV[start:]
            headers |= {"content-range": f"bytes {start}-{len(WAV) - 1}/{len(WAV)}", "content-length": str(len(body))}
            return httpx.Response(206, headers=headers, stream=_CutStream(body, cut))
        headers["content-length"] = str(len(WAV))
        return httpx.Response(200, headers=headers, stream=_CutStream(WAV, cut))

    return api.get(REC_URL).mock(side_effect=respond)


@pytest.fixture
async def session(api: respx.MockRouter) -> AsyncIterator[PbxSession]:
    async with mocked_session(api) as s:
        yield s


@pytest.mark.parametrize("ranges", [True, False], ids=["range-resume", "no-range-restart"])
async def test_a_cut_connection_resumes_to_a_byte_identical_file(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path, ranges: bool
) -> None:
    log: list[str | None] = []
    route = wav_server(api, ranges=ranges, cut_first_at=120_000, log=log)
    rec = await session.download_recording(C1, tmp_path)
    assert rec.path.read_bytes() == WAV
    assert rec.sha256 == hashlib.sha256(WAV).hexdigest()
    assert rec.size == len(WAV)
    assert log == [None, "bytes=120000-"]  # the second request asked for the rest only
    assert route.calls[0].request.url.params["fileName"] == "c1.wav"
    assert [p.name for p in tmp_path.iterdir()] == ["c1.wav"]  # no .part left behind


async def test_a_part_left_by_a_crashed_run_is_resumed(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path
) -> None:
    log: list[str | None] = []
    wav_server(api, ranges=True, cut_first_at=70_000, log=log)
    async with mocked_session(api, retry=RetryPolicy(max_attempts=1)) as first_run:
        with pytest.raises(NetworkError):  # the first run dies with 70,000 bytes on disk
            await first_run.download_recording(C1, tmp_path)
    assert (tmp_path / ".c1.wav.part").stat().st_size == 70_000
    rec = await session.download_recording(C1, tmp_path)  # a later run
    assert log == [None, "bytes=70000-"]
    assert rec.path.read_bytes() == WAV
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c1.wav"]


async def test_a_complete_file_is_not_fetched_again(api: respx.MockRouter, session: PbxSession, tmp_path: Path) -> None:
    log: list[str | None] = []
    route = wav_server(api, ranges=True, cut_first_at=None, log=log)
    first = await session.download_recording(C1, tmp_path)
    again = await session.download_recording(C1, tmp_path)
    assert first == again
    assert route.call_count == 1
    await session.download_recording(C1, tmp_path, overwrite=True)
    assert route.call_count == 2


HOSTILE_NAMES = [
    "../../etc/passwd",
    "/etc/cron.d/evil.wav",
    "..\\..\\windows\\evil.wav",
    "..",
    "",
    "a\x00b.wav",
    "CON.wav",
    "nul",
    'what?*<>|":.wav',
    "x" * 10_000 + ".wav",
    "x" * 10_001 + ".wav",
    "a/rec.wav",
    "b/rec.wav",
    "2026:11:01.wav",
    "2026_11_01-x.wav",
]


@pytest.mark.parametrize("hostile", HOSTILE_NAMES)
def test_server_file_names_are_made_safe(hostile: str) -> None:
    name = local_name(hostile, "fallback.wav")
    assert name and "/" not in name and "\\" not in name and "\x00" not in name
    assert name not in (".", "..") and not name.startswith(".")
    assert len(name) <= 150
    assert not re.match(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$", name)


def test_names_that_need_no_change_are_kept() -> None:
    for name in ("c1.wav", "2026_11_01.wav", "rec-2.mp3", "call 7.wav"):
        assert local_name(name, "fallback.wav") == name


def test_two_server_names_never_share_a_local_file() -> None:
    names = [*HOSTILE_NAMES, "rec.wav", "2026_11_01.wav"]
    assert len({local_name(n, "fallback.wav") for n in names}) == len(set(names))


@pytest.mark.parametrize("hostile", ["../../escape.wav", "/tmp/abs.wav", "sub/../../x.wav", "..\\up.wav"])
async def test_a_hostile_name_stays_inside_dest(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path, hostile: str
) -> None:
    dest = tmp_path / "dest"
    api.get(REC_URL).respond(200, headers={"content-type": "audio/wav"}, content=WAV)
    rec = await session.download_recording(RecordingRef("c1", hostile), dest)
    assert rec.path.parent == dest
    assert [p.parent for p in tmp_path.rglob("*") if p.is_file()] == [dest]


async def test_a_reply_that_is_not_audio_is_not_saved(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path
) -> None:
    api.get(REC_URL).respond(200, headers={"content-type": "text/html"}, content=b"<html>login</html>")
    with pytest.raises(ResponseFormatError, match="not audio"):
        await session.download_recording(C1, tmp_path)
    assert not list(tmp_path.iterdir())  # not even an empty .part


async def test_an_error_reply_is_raised_typed(api: respx.MockRouter, session: PbxSession, tmp_path: Path) -> None:
    api.get(REC_URL).respond(200, json={"error": "Your API Auth Key is invalid."})
    with pytest.raises(AuthenticationError):
        await session.download_recording(C1, tmp_path)
    assert not list(tmp_path.iterdir())


async def test_bodies_over_the_limit_are_refused(api: respx.MockRouter, session: PbxSession, tmp_path: Path) -> None:
    api.get(REC_URL).respond(200, headers={"content-type": "audio/wav"}, content=WAV)
    with pytest.raises(ResponseFormatError, match="over the limit"):
        await session.download_recording(C1, tmp_path, max_bytes=1000)
    assert not list(tmp_path.glob("*.wav"))


async def test_a_call_without_recording_is_refused_before_any_request(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path
) -> None:
    from pbx_async._wire import replies

    row = list_reply(["c1"])
    row["data"]["c1"].update(callRecorded=0, recordingUrl="")
    [call] = replies.call_page(row).calls
    with pytest.raises(ValidationError, match="has no recording"):
        await session.download_recording(call, tmp_path)
    assert api.calls.call_count == 0


async def test_recordings_survive_cut_bodies_over_loopback(tmp_path: Path) -> None:
    sim = Simulator(calls=200, seed=8, faults=Faults(cut_body=0.3, reset=0.1))
    async with serve(sim) as base_url:
        policy = RetryPolicy(max_attempts=10, initial_backoff=0.001, max_backoff=0.01)
        async with PbxSession(sim.auth, sim.container_id, base_url=base_url, retry=policy) as session:
            calls = [c async for c in session.iter_calls(from_date=date(2026, 10, 1), to_date=date(2026, 11, 2))]
            for call in [c for c in calls if c.recorded][:12]:
                rec = await session.download_recording(call, tmp_path)
                assert rec.sha256 == sim.recording_sha256(call.uuid)
    assert sim.stats["fault cut_body"] > 0


async def test_a_recording_url_on_another_host_never_gets_the_key(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path
) -> None:
    from pbx_async._wire import replies

    evil = api.get(host="evil.example").respond(200, headers={"content-type": "audio/wav"}, content=WAV)
    ours = api.get(REC_URL).respond(200, headers={"content-type": "audio/wav"}, content=WAV)
    reply = list_reply(["c1"])
    reply["data"]["c1"]["recordingUrl"] = "https://evil.example/steal/c1.wav?x=1"
    [call] = replies.call_page(reply).calls
    rec = await session.download_recording(call, tmp_path)
    assert evil.call_count == 0  # fetched from the configured host, by file name
    assert ours.calls[0].request.url.params["fileName"] == "c1.wav"
    assert rec.path.read_bytes() == WAV


async def test_a_wav_shorter_than_its_header_says_is_not_saved(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path
) -> None:
    api.get(REC_URL).respond(200, headers={"content-type": "audio/wav"}, content=WAV[:50_000])
    with pytest.raises(ResponseFormatError, match="not a whole WAV file"):
        await session.download_recording(C1, tmp_path)
    assert not list(tmp_path.glob("*.wav"))


async def test_a_body_without_length_is_refused(api: respx.MockRouter, session: PbxSession, tmp_path: Path) -> None:
    # A body of unknown length could be endless, and its completeness cannot be checked.
    api.get(REC_URL).respond(200, headers={"content-type": "audio/wav"}, stream=_CutStream(WAV, None))
    with pytest.raises(ResponseFormatError, match="no Content-Length"):
        await session.download_recording(C1, tmp_path)
    assert not list(tmp_path.glob("*.wav"))


async def test_two_downloads_of_one_recording_into_one_folder_take_turns(tmp_path: Path) -> None:
    # Overlapping export shards may fetch the same recording at once; the second waits for the first.
    sim = Simulator(calls=20, seed=3, recording_bytes=40_000_000)
    call = next(c for c in sim.truth_calls() if c.recorded)
    async with serve(sim) as base_url:
        sessions = [PbxSession(sim.auth, sim.container_id, base_url=base_url) for _ in range(2)]
        async with sessions[0], sessions[1], anyio.create_task_group() as tg:
            results: list[RecordingFile] = []

            async def fetch(session: PbxSession) -> None:
                results.append(await session.download_recording(call, tmp_path))

            tg.start_soon(fetch, sessions[0])
            part = tmp_path / f".{call.uuid}.wav.part"
            with anyio.fail_after(30):
                while not (part.exists() and part.stat().st_size > 0):  # noqa: ASYNC110 - the first is writing
                    await anyio.sleep(0.001)
            tg.start_soon(fetch, sessions[1])
    assert [r.sha256 for r in results] == [sim.recording_sha256(call.uuid)] * 2
    assert sim.stats["requests /api/call_recording.php"] == 1  # the second found the file finished
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{call.uuid}.wav"]


async def _fetched_once_though_another_process_finishes_it(
    tmp_path: Path, finish_meanwhile: Callable[[Path, str, bytes], None]
) -> None:
    """Download a call's recording into one folder, then into ``second`` after ``finish_meanwhile(second,
    name, whole)`` has patched in another process finishing the same file there midway: the second
    download must take that file, with no request of its own and nothing of ours left beside it."""
    sim = Simulator(calls=20, seed=3, sample_rate=100)
    call = next(c for c in sim.truth_calls() if c.recorded)
    second, name = tmp_path / "second", f"{call.uuid}.wav"
    async with sim.session() as session:
        whole = (await session.download_recording(call, tmp_path / "first")).path.read_bytes()
        finish_meanwhile(second, name, whole)
        rec = await session.download_recording(call, second)
    assert sim.stats["requests /api/call_recording.php"] == 1  # the first download's only
    assert rec.sha256 == hashlib.sha256(whole).hexdigest() == sim.recording_sha256(call.uuid)
    assert sorted(p.name for p in second.iterdir()) == [name]  # no part of ours left


async def test_a_file_finished_by_another_process_while_ours_is_made_is_not_fetched_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The other process renames its part into place after we looked for the file and before we make
    # our part (its name is free again then): we must see the file, not download it a second time.
    from pbx_async import _recording_files

    def finish_meanwhile(second: Path, name: str, whole: bytes) -> None:
        create = _recording_files._create

        def finished_meanwhile(folder: _recording_files.Folder, part_name: str) -> tuple[int, bool]:
            if folder.path == second:
                (second / name).write_bytes(whole)  # the other process's rename
            return create(folder, part_name)

        monkeypatch.setattr(_recording_files, "_create", finished_meanwhile)

    await _fetched_once_though_another_process_finishes_it(tmp_path, finish_meanwhile)


async def test_a_part_renamed_into_place_between_our_two_opens_leaves_no_part_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Another process is writing the part (our O_EXCL create fails), and renames it into place before
    # we open it: opening it with O_CREAT made a new empty part that nobody removed (seen once in CI).
    from pbx_async import _recording_files

    def finish_meanwhile(second: Path, name: str, whole: bytes) -> None:
        second.mkdir()
        part = second / f".{name}.part"
        part.write_bytes(whole[:100])  # the other process's part, being written
        real_open = _recording_files.Folder.open

        def renamed_meanwhile(folder: _recording_files.Folder, file: str, flags: int, mode: int = 0o644) -> int | None:
            if folder.path == second and file == part.name and not flags & os.O_EXCL and part.exists():
                part.write_bytes(whole)
                part.rename(second / name)  # the other process finished, just before our second open
            return real_open(folder, file, flags, mode)

        monkeypatch.setattr(_recording_files.Folder, "open", renamed_meanwhile)

    await _fetched_once_though_another_process_finishes_it(tmp_path, finish_meanwhile)


@pytest.mark.parametrize("left", ["finished file", "part"])
async def test_bytes_already_on_disk_are_hashed_off_the_event_loop(
    api: respx.MockRouter, session: PbxSession, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, left: str
) -> None:
    # A rerun over a folder of big recordings hashes what is there: that must not stall the loop.
    from pbx_async import _recording_files

    if left == "finished file":
        (tmp_path / "c1.wav").write_bytes(WAV)
    else:
        (tmp_path / ".c1.wav.part").write_bytes(WAV[:70_000])
        (tmp_path / ".c1.wav.part.tag").write_text(json.dumps({"validator": ETAG, "total": len(WAV)}))
    loop_thread, hashed_on = threading.current_thread(), []
    real_hash = _recording_files._hash_fd

    def hash_fd(fd: int) -> Any:
        hashed_on.append(threading.current_thread())
        return real_hash(fd)

    monkeypatch.setattr(_recording_files, "_hash_fd", hash_fd)
    log: list[str | None] = []
    wav_server(api, ranges=True, cut_first_at=None, log=log)
    rec = await session.download_recording(C1, tmp_path)
    assert rec.path.read_bytes() == WAV
    assert log == ([] if left == "finished file" else ["bytes=70000-"])  # the part was resumed, not refetched
    assert hashed_on and loop_thread not in hashed_on
