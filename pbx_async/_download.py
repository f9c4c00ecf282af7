"""Recording downloads: streamed to a temporary file, resumed with Range, renamed into place when whole."""

from __future__ import annotations

import hashlib
import json
import os
import re
import struct
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote, urlsplit

import anyio.to_thread
import httpx

from ._errors import NetworkError, PbxError, ResponseFormatError, ValidationError
from ._http import Failed, Requester
from ._records.calls import CallSummary
from ._records.recordings import RecordingFile

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from hashlib import _Hash

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = re.compile(r"(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$")
MAX_NAME = 150


def recording_file_name(call: CallSummary | str) -> str:
    """The server's file name for a call's recording (a string is taken as the file name itself)."""
    if isinstance(call, str):
        return call
    if not call.recorded or not call.recording_url:
        raise ValidationError(f"call {call.uuid} has no recording (recorded=False or no recordingUrl)")
    return file_name_from_url(call.recording_url, f"{call.uuid}.wav")


def file_name_from_url(url: str, fallback: str) -> str:
    """The ``fileName`` of a recording URL: its ``fileName`` parameter, else its last path segment."""
    parts = urlsplit(url)
    given = parse_qs(parts.query).get("fileName")
    name = given[0] if given else unquote(PurePosixPath(parts.path).name)
    return name or fallback


def safe_local_name(name: str, fallback: str) -> str:
    """A file name that stays inside its folder on any OS, whatever the server sent."""
    base = re.split(r"[/\\]", name)[-1]  # drop any directory part, ../ included
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext[:10] if ext.isalnum() else ""
    stem = stem[: MAX_NAME - len(ext) - 1]
    base = f"{stem}.{ext}" if ext else stem
    if not stem or _WINDOWS_RESERVED.match(base):
        base = f"_{base}" if stem else fallback
    return base


def _wav_state(path: Path) -> bool | None:
    """None when ``path`` is not a RIFF/WAVE file (or unreadable); else whether its RIFF size matches its length."""
    try:
        with path.open("rb") as fh:
            head = fh.read(12)
            size = os.fstat(fh.fileno()).st_size
    except OSError:
        return None
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    (riff_size,) = struct.unpack("<I", head[4:8])
    return bool(riff_size + 8 == size)


def complete_wav(path: Path) -> bool:
    """Whether ``path`` holds a whole WAV file: its RIFF size matches its length on disk."""
    return _wav_state(path) is True


def _whole_wav_or_other_audio(path: Path, wav_expected: bool) -> bool:
    """False for a body announced as WAV that is not one, or whose RIFF length disagrees with its size."""
    state = _wav_state(path)
    if state is None:
        return not wav_expected  # some other audio format: nothing to check it against
    return state


def _hash_file(path: Path) -> tuple[_Hash, int]:
    """The SHA-256 object and the length of a file, read in 1 MiB blocks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return digest, size


class _Part:
    """The growing ``.part`` file, its length and running hash, kept across attempts (and runs)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: IO[bytes] | None = None
        # A part left by an interrupted run is resumed: its bytes are already hashed.
        self.digest: _Hash
        self.digest, self.written = _hash_file(path) if path.exists() else (hashlib.sha256(), 0)

    def restart(self) -> None:
        self.close()
        self.digest, self.written = hashlib.sha256(), 0
        self.path.write_bytes(b"")

    def write(self, chunk: bytes) -> None:
        if self._fh is None:
            self._fh = self.path.open("ab")
        self._fh.write(chunk)
        self.digest.update(chunk)
        self.written += len(chunk)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


class _Lock:
    """An exclusive lock on a ``.part`` file, so two processes never write one download at once.

    (Overlapping export shards may fetch the same recording.) Where ``fcntl`` is
    missing (Windows) there is no lock: one process per folder there.
    """

    def __init__(self, path: Path) -> None:
        self.fd: int | None = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)

    def acquire(self, path: Path) -> bool:
        """Whether this process now holds ``path``: False while another does, or if it was renamed meanwhile."""
        assert self.fd is not None
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        try:
            same = os.fstat(self.fd).st_ino == path.stat().st_ino
        except FileNotFoundError:
            same = False  # renamed into place by the process that held it
        return same

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


_BUSY = "busy"


def _prepare(
    dest: Path, file_name: str, call_uuid: str | None, overwrite: bool
) -> RecordingFile | tuple[Path, _Part, _Lock] | str:
    dest.mkdir(parents=True, exist_ok=True)
    target = dest / safe_local_name(file_name, f"{call_uuid or 'recording'}.wav")
    if target.resolve().parent != dest.resolve():  # belt and braces: the name cannot climb out
        raise ValidationError(f"refusing to write outside {dest}: {target}")
    if not overwrite and complete_wav(target):
        digest, size = _hash_file(target)
        return RecordingFile(call_uuid, target, size, digest.hexdigest())
    part_path = target.with_name(f".{target.name}.part")
    lock = _Lock(part_path)
    if not lock.acquire(part_path):
        lock.release()
        return _BUSY
    if not overwrite and complete_wav(target):  # finished by another process just before we locked
        part_path.unlink(missing_ok=True)
        lock.release()
        digest, size = _hash_file(target)
        return RecordingFile(call_uuid, target, size, digest.hexdigest())
    part = _Part(part_path)  # only now: the bytes of a part someone else is writing are not ours to hash
    if overwrite:
        part.restart()
    return target, part, lock


def _content_range(value: str | None) -> tuple[int, int] | None:
    """(first byte, total size) of a ``Content-Range: bytes a-b/total`` header."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", (value or "").strip())
    return (int(match.group(1)), int(match.group(3))) if match else None


async def download(
    requester: Requester,
    *,
    path: str,
    params: dict[str, str],
    file_name: str,
    dest: Path,
    call_uuid: str | None,
    overwrite: bool,
    max_bytes: int,
) -> RecordingFile:
    what = f"Recording {file_name!r}"
    # Folder checks and hashing of files already there can take a while: off the event loop.
    while (ready := await anyio.to_thread.run_sync(_prepare, dest, file_name, call_uuid, overwrite)) == _BUSY:  # noqa: ASYNC110 - the other party is a process
        await anyio.sleep(0.05)  # another process is downloading this very file: wait for it
    if isinstance(ready, RecordingFile):
        return ready
    assert not isinstance(ready, str)
    target, part, lock = ready

    async def attempt() -> RecordingFile:
        # Identity encoding keeps byte counts and Range offsets those of the file itself.
        headers = {"Accept-Encoding": "identity"}
        if part.written:
            headers["Range"] = f"bytes={part.written}-"
        try:
            async with (
                requester.limiter,
                requester.client.stream(
                    "GET", requester.url(path), params=params, headers=headers, timeout=requester.timeout
                ) as response,
            ):
                total = await _start(requester, what, response, part)
                content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
                wav_expected = "wav" in content_type or file_name.lower().endswith(".wav")
                if total == 0:
                    raise ResponseFormatError(f"{what}: the reply is empty; nothing was saved")
                if total > max_bytes:
                    raise ResponseFormatError(f"{what}: {total} bytes is over the limit of {max_bytes}")
                async for chunk in response.aiter_bytes():  # as received: nothing buffered is lost on a cut
                    part.write(chunk)
                    if part.written > total:
                        part.restart()
                        raise ResponseFormatError(f"{what}: the body is longer than its Content-Length")
        except httpx.RequestError as exc:
            raise requester.network_failure(what, exc) from None
        finally:
            part.close()
        if part.written != total:
            error = NetworkError(f"{what}: got {part.written} of {total} bytes")
            raise Failed(error, retry_get=True, retry_post=False, cause="incomplete body")
        if not _whole_wav_or_other_audio(part.path, wav_expected):  # a Content-Length can lie too
            part.restart()
            raise ResponseFormatError(
                f"{what}: not a whole WAV file (its header disagrees with the {total} bytes sent)"
            )
        os.replace(part.path, target)
        return RecordingFile(call_uuid, target, part.written, part.digest.hexdigest())

    try:
        return await requester.retrying(what, "GET", attempt)
    except PbxError as exc:
        requester.scrub(exc)
        raise
    finally:
        if part.written == 0:  # nothing to resume from: leave no empty .part behind
            part.path.unlink(missing_ok=True)
        lock.release()


async def _start(requester: Requester, what: str, response: httpx.Response, part: _Part) -> int:
    """Check the reply's status and type; the total size of the file. Restarts the part when needed."""
    requester.check_status(what, response.status_code, response.headers)
    status = response.status_code
    if status == 416:  # our part is already past the end: start again
        part.restart()
        raise Failed(NetworkError(f"{what}: stale partial download"), retry_get=True, retry_post=False, cause="range")
    if status not in (200, 206):
        body = await response.aread()
        requester.raise_error_reply(what, _json_or_none(body), status)
        raise requester.status_error(what, status)
    content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if not (content_type.startswith("audio/") or content_type == "application/octet-stream"):
        body = await response.aread()
        requester.raise_error_reply(what, _json_or_none(body), status)
        raise ResponseFormatError(f"{what}: the reply is {content_type or 'untyped'}, not audio; nothing was saved")
    if status == 206:
        span = _content_range(response.headers.get("content-range"))
        if span is None or span[0] != part.written:
            part.restart()
            raise Failed(
                NetworkError(f"{what}: unusable Content-Range"), retry_get=True, retry_post=False, cause="range"
            )
        return span[1]
    if part.written:  # the server ignored Range: take the whole file again
        part.restart()
    length = response.headers.get("content-length")
    if length is None or not length.isdigit():
        raise ResponseFormatError(f"{what}: the reply has no Content-Length, so completeness cannot be checked")
    return int(length)


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None
