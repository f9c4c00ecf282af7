"""Recording downloads: streamed to a temporary file, resumed with Range, renamed into place when whole.

The HTTP exchange, its retries and its errors are ``Requester.stream``'s; this
module owns what happens on disk. Local files live in ``_recording_files``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from pathlib import Path

from . import _retry as rules
from . import _validation as check
from ._errors import NetworkError, ResponseFormatError, StorageError
from ._folder_work import prepare_download
from ._http import Requester, StreamReply
from ._recording_files import Folder, Part, local_name
from ._records.calls import CallSummary
from ._records.recordings import RecordingFile, RecordingRef
from ._retry import AttemptFailed

_DOWNLOAD_STATUSES = frozenset({200, 206, 416})


def check_download(call: object, overwrite: bool, max_bytes: int) -> None:
    """Refuse a bad download request before any request is sent."""
    if isinstance(call, RecordingRef):
        check.call_uuid(call.call_uuid)
        check.text("file name", call.file_name, max_length=10_000)
    elif not isinstance(call, CallSummary):
        check.call_uuid(call)
    check.flag("overwrite", overwrite)
    check.positive_int("max_bytes", max_bytes, maximum=2**63)


async def recording_ref(
    call: str | CallSummary | RecordingRef, summary_of: Callable[[str], Awaitable[CallSummary]]
) -> RecordingRef | None:
    """What to fetch for ``call`` (a UUID's summary is read with ``summary_of``); None without a recording."""
    if isinstance(call, RecordingRef):
        return call
    summary = call if isinstance(call, CallSummary) else await summary_of(check.call_uuid(call))
    if not summary.recorded or not summary.recording_url:
        return None
    return RecordingRef.from_url(summary.uuid, summary.recording_url)


def _is_audio(content_type: str) -> bool:
    return content_type.startswith("audio/") or content_type == "application/octet-stream"


def _content_range(value: str | None) -> tuple[int, int] | None:
    """(first byte, total size) of a ``Content-Range: bytes a-b/total`` header."""
    match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", (value or "").strip())
    return (int(match.group(1)), int(match.group(3))) if match else None


async def download(
    requester: Requester,
    path: str,
    params: dict[str, str],
    ref: RecordingRef,
    dest: Path,
    overwrite: bool,
    max_bytes: int,
) -> RecordingFile:
    """Fetch one recording into ``dest`` (see ``PbxSession.download_recording``)."""
    folder = Folder(dest)  # every file below is opened relative to it, never through a link
    try:
        return await _download_into(requester, path, params, ref, folder, overwrite, max_bytes)
    finally:
        folder.close()


async def _download_into(
    requester: Requester,
    path: str,
    params: dict[str, str],
    ref: RecordingRef,
    folder: Folder,
    overwrite: bool,
    max_bytes: int,
) -> RecordingFile:
    file_name, call_uuid = ref.file_name, ref.call_uuid
    what = requester.clean(f"Recording {file_name!r}")
    name = local_name(file_name, f"{call_uuid}.wav")
    ready = await prepare_download(folder, name, call_uuid, overwrite)  # on the loop, or a thread if slow
    if isinstance(ready, RecordingFile):
        return ready
    part, lock = ready

    async def receive(reply: StreamReply) -> RecordingFile:
        total = _start(what, reply, part)
        if total == 0:
            raise ResponseFormatError(f"{what}: the reply is empty; nothing was saved")
        if total > max_bytes:
            raise ResponseFormatError(f"{what}: {total} bytes is over the limit of {max_bytes}")
        wav_expected = "wav" in reply.content_type() or file_name.lower().endswith(".wav")
        async for chunk in reply.chunks():
            part.write(chunk)
            if part.written > total:
                part.restart()
                raise ResponseFormatError(f"{what}: the body is longer than its Content-Length")
        if part.written != total:
            error = NetworkError(f"{what}: got {part.written} of {total} bytes")
            raise AttemptFailed(error, rules.BODY_INCOMPLETE, "incomplete body")
        if not part.whole_wav_or_other_audio(wav_expected):  # a Content-Length can lie too
            part.restart()
            raise ResponseFormatError(
                f"{what}: not a whole WAV file (its header disagrees with the {total} bytes sent)"
            )
        part.finish(name)
        return RecordingFile(call_uuid, folder.path / name, part.written, part.digest.hexdigest())

    def headers() -> dict[str, str]:
        # Identity encoding keeps byte counts and Range offsets those of the file itself.
        sent = {"Accept-Encoding": "identity"}
        if part.written and part.validator is not None:
            # The rest of the same file, or (If-Range) the whole file if it has changed since.
            sent["Range"] = f"bytes={part.written}-"
            sent["If-Range"] = part.validator
        return sent

    try:
        return await requester.stream(
            what,
            path,
            params,
            headers=headers,
            statuses=_DOWNLOAD_STATUSES,
            content_type=_is_audio,
            expected="audio",
            receive=receive,
        )
    except OSError as exc:
        raise StorageError.from_os_error(exc, f"{what}: cannot write into {folder.path}") from None
    finally:
        part.stopped()  # unless finished: what a later run resumes from, or no empty .part behind
        lock.release()


def _validator(reply: StreamReply) -> str | None:
    """What identifies this version of the file: a strong ETag, else Last-Modified."""
    etag = reply.headers.get("etag")
    if etag and not etag.startswith("W/"):  # If-Range takes only a strong validator
        return etag
    return reply.headers.get("last-modified")


def _start(what: str, reply: StreamReply, part: Part) -> int:
    """The total size of the file, from a 200 or 206 head; restarts the part when the server asks."""
    if reply.status == 416:  # our part is already past the end: start again
        part.restart()
        raise AttemptFailed(NetworkError(f"{what}: stale partial download"), rules.RANGE_STALE, "range")
    validator = _validator(reply)
    if reply.status == 206:
        span = _content_range(reply.headers.get("content-range"))
        if span is None or span[0] != part.written or validator != part.validator or span[1] != part.total:
            # Another version of the file, or another range than asked: its bytes must not be spliced on.
            part.restart()
            raise AttemptFailed(
                NetworkError(f"{what}: the resumed reply is not the same file"), rules.RANGE_STALE, "range"
            )
        return span[1]
    if part.written:  # the server ignored Range, or (If-Range) the file changed: take it whole again
        part.restart()
    length = reply.headers.get("content-length")
    if length is None or not length.isdigit():
        raise ResponseFormatError(f"{what}: the reply has no Content-Length, so completeness cannot be checked")
    part.remember(validator, int(length))
    return int(length)
