"""What a recording download leaves on disk."""

from __future__ import annotations

from pathlib import Path

import attrs


@attrs.frozen
class RecordingFile:
    """A complete recording on disk.

        rec = await session.download_recording(call, "recordings/")
        print(rec.path, rec.size, rec.sha256)

    ``call_uuid`` is None when the download was asked for by file name alone.
    """

    call_uuid: str | None
    path: Path
    size: int
    sha256: str
