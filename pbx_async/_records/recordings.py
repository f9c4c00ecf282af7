"""Recordings: which one to fetch (``RecordingRef``) and what a download leaves on disk (``RecordingFile``)."""

from __future__ import annotations

from pathlib import Path

import attrs

from .._wire.urls import file_name_from_url
from .json_form import JsonForm


@attrs.frozen
class RecordingRef(JsonForm):
    """A call's recording named by its server file name, for when no ``CallSummary`` is at hand.

    ref = RecordingRef.from_url(row["uuid"], row["recording_url"])
    rec = await session.download_recording(ref, "recordings/")
    """

    call_uuid: str
    file_name: str

    @classmethod
    def from_url(cls, call_uuid: str, recording_url: str) -> RecordingRef:
        """The recording a call's ``recording_url`` points at (its ``fileName``, else its last path part)."""
        return cls(call_uuid, file_name_from_url(recording_url, f"{call_uuid}.wav"))


@attrs.frozen
class RecordingFile(JsonForm):
    """A complete recording on disk.

    rec = await session.download_recording(call, "recordings/")
    print(rec.call_uuid, rec.path, rec.size, rec.sha256)
    """

    call_uuid: str
    path: Path
    size: int
    sha256: str
