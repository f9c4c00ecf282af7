"""Recordings: one download, or many at once, streamed to disk and resumable.

rec = await session.download_recording(call, "recordings/")
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, Iterable
from pathlib import Path
from typing import Literal, overload

from .. import _config as config
from .. import _validation as check
from .._download import check_download, download, recording_ref
from .._errors import ValidationError
from .._fanout import SKIPPED, FailedCall, FanOut, OnError, Skipped
from .._recordings_folder import check_folder
from .._records.calls import CallSummary
from .._records.recordings import RecordingFile, RecordingRef
from .._session_core import Concurrency, StrPath, name_of
from .._wire import params as wire
from .call_details import CallDetailsCalls

Item = str | CallSummary | RecordingRef  # what a download is asked for


class RecordingCalls(CallDetailsCalls):
    """``download_recording`` and ``download_recordings`` (a UUID's summary comes from Call Details)."""

    async def download_recording(
        self,
        call: str | CallSummary | RecordingRef,
        dest: StrPath,
        *,
        overwrite: bool = False,
        max_bytes: int = config.MAX_RECORDING_BYTES,
    ) -> RecordingFile:
        """Download a call's recording into the folder ``dest``; returns its path, size and SHA-256.

            rec = await session.download_recording(call, "recordings/")

        ``call`` is a ``CallSummary``, a call UUID (its summary is read first, one
        request) or a ``RecordingRef`` (a file name the server gave). The body
        streams to ``dest/.NAME.part`` and is renamed into place only when its
        length matches ``Content-Length``; a dropped connection resumes with an
        HTTP Range request (or starts over where the server ignores Range), and
        so does a rerun after a failed download, or after a hard crash for a
        file of 1 MiB or more (a smaller one is fetched whole again). A
        complete file already there is not
        fetched again unless ``overwrite``. The local name comes from the
        server's file name made safe: it never leaves ``dest``. Bodies over
        ``max_bytes`` are refused. A call without a recording raises
        ``ValidationError``, and so does a ``dest`` that is a link or a file,
        before any request.
        """
        check_download(call, overwrite, max_bytes)
        check_folder(Path(os.fspath(dest)))  # a link or a file is refused before the summary is read
        ref = await recording_ref(call, self._call_summary)
        if ref is None:
            raise ValidationError(f"call {name_of(call)} has no recording (recorded=False or no recordingUrl)")
        return await self._download(ref, dest, overwrite, max_bytes)

    async def _download(self, ref: RecordingRef, dest: StrPath, overwrite: bool, max_bytes: int) -> RecordingFile:
        params = self._params(wire.recording(ref.file_name))
        return await download(self._http, self.paths.recording, params, ref, Path(dest), overwrite, max_bytes)

    @overload
    def download_recordings(
        self,
        calls: Iterable[str | CallSummary | RecordingRef] | AsyncIterable[str | CallSummary | RecordingRef],
        dest_dir: StrPath,
        *,
        concurrency: Concurrency | None = None,
        ordered: bool = False,
        on_error: Literal["return"] = "return",
        overwrite: bool = False,
    ) -> FanOut[Item, RecordingFile | FailedCall]: ...

    @overload
    def download_recordings(
        self,
        calls: Iterable[str | CallSummary | RecordingRef] | AsyncIterable[str | CallSummary | RecordingRef],
        dest_dir: StrPath,
        *,
        concurrency: Concurrency | None = None,
        ordered: bool = False,
        on_error: Literal["raise"],
        overwrite: bool = False,
    ) -> FanOut[Item, RecordingFile]: ...

    def download_recordings(
        self,
        calls: Iterable[str | CallSummary | RecordingRef] | AsyncIterable[str | CallSummary | RecordingRef],
        dest_dir: StrPath,
        *,
        concurrency: Concurrency | None = None,
        ordered: bool = False,
        on_error: OnError = "return",
        overwrite: bool = False,
    ) -> FanOut[Item, RecordingFile] | FanOut[Item, RecordingFile | FailedCall]:
        """Download many recordings into ``dest_dir``, ``concurrency`` at a time.

            async with session.download_recordings(session.iter_calls(from_date=day), "recs/") as downloads:
                async for item in downloads:
                    print(item)
            print(downloads.skipped, "calls had no recording")

        Items are what ``download_recording`` takes: ``CallSummary`` records,
        call UUIDs or ``RecordingRef``. Same discipline as ``iter_call_details``;
        results are ``RecordingFile`` (or ``FailedCall``, the default
        ``on_error`` here). Calls without a recording are skipped and counted in
        ``skipped``.
        """
        check.flag("overwrite", overwrite)
        # A bad path type, a link or a file fails here, at the call site, not once per item.
        check_folder(Path(os.fspath(dest_dir)))

        async def fetch(call: str | CallSummary | RecordingRef) -> RecordingFile | Skipped:
            check_download(call, overwrite, config.MAX_RECORDING_BYTES)
            ref = await recording_ref(call, self._call_summary)
            if ref is None:
                return SKIPPED
            return await self._download(ref, dest_dir, overwrite, config.MAX_RECORDING_BYTES)

        return self._fan_out(calls, fetch, concurrency, ordered, on_error)
