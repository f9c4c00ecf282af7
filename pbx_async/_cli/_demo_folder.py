"""The demo's folder: a rerun replaces what an earlier demo wrote there, and never anything else.

Before it writes anything the demo leaves a marker, ``.pbx-async-demo.json``,
naming every file it may write (the database and its SQLite side files, each
recording and its ``.NAME.part``). A rerun deletes only files the marker
names, and refuses a folder where a ``calls.sqlite*`` or anything in
``recordings/`` is not named there: a user's export or recordings stay put.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import parse_qs, unquote, urlsplit

import attrs

from ._exit import UsageError

MARKER = ".pbx-async-demo.json"
DATABASE = "calls.sqlite"
DATABASE_FILES = (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm", f"{DATABASE}-journal")
RECORDINGS = "recordings"


@attrs.frozen
class DemoFolder:
    """``path``, the demo's ``--out``."""

    path: Path

    @property
    def database(self) -> Path:
        return self.path / DATABASE

    @property
    def recordings(self) -> Path:
        return self.path / RECORDINGS

    @property
    def marker(self) -> Path:
        return self.path / MARKER

    def earlier_demo(self) -> list[Path]:
        """The files an earlier demo wrote that are still here; anything else of the demo's names is refused."""
        if self.path.exists() and not self.path.is_dir():
            raise UsageError(f"--out {self.path} is a file, not a folder")
        named = self._named()
        for found in self._present():
            if found not in named:
                raise UsageError(
                    f"{found} was not written by pbx-async demo: choose another --out, or move it away "
                    "(nothing was deleted)"
                )
        return sorted(p for p in named if p.is_file() or p.is_symlink())

    def replace(self, earlier: Iterable[Path], recording_urls: Iterable[str]) -> None:
        """Delete the earlier demo's files, then name in the marker what this demo will write."""
        for path in earlier:
            path.unlink(missing_ok=True)
        if self.recordings.is_dir() and not any(self.recordings.iterdir()):
            self.recordings.rmdir()
        self.path.mkdir(parents=True, exist_ok=True)
        names = sorted({n for n in (_server_file_name(u) for u in recording_urls) if _plain_name(n)})
        text = json.dumps({"written_by": "pbx-async demo", "database": DATABASE_FILES, "recordings": names})
        # A unique temporary name, renamed over the marker: no file of the user's is written over.
        with tempfile.NamedTemporaryFile(
            "w", dir=self.path, prefix=f"{MARKER}.", suffix=".tmp", delete=False, encoding="utf-8"
        ) as fh:
            fh.write(text)
        os.replace(fh.name, self.marker)

    def _present(self) -> Iterator[Path]:
        """What is here under the names the demo writes."""
        for name in DATABASE_FILES:
            path = self.path / name
            if path.exists() or path.is_symlink():
                yield path
        if self.recordings.is_symlink() or (self.recordings.exists() and not self.recordings.is_dir()):
            yield self.recordings
        elif self.recordings.is_dir():
            yield from self.recordings.iterdir()  # a folder in there is not the demo's either

    def _named(self) -> set[Path]:
        """The files the marker names; a marker the demo did not write is refused, not trusted."""
        if not (self.marker.exists() or self.marker.is_symlink()):
            return set()
        database: list[str] = []
        recordings: list[str] = []
        try:
            data = json.loads(self.marker.read_text(encoding="utf-8"))
            database, recordings = data["database"], data["recordings"]
            valid = set(database) <= set(DATABASE_FILES) and all(_plain_name(n) for n in recordings)
        except (OSError, ValueError, KeyError, TypeError):
            valid = False
        if not valid or self.marker.is_symlink():
            raise UsageError(f"{self.marker} is not the marker pbx-async demo writes: choose another --out")
        return (
            {self.path / n for n in database}
            | {self.recordings / n for n in recordings}
            | {self.recordings / f".{n}.part" for n in recordings}
        )


def _server_file_name(url: str) -> str:
    """The server's file name of a recording URL: its ``fileName`` parameter, else its last path segment."""
    parts = urlsplit(url)
    given = parse_qs(parts.query).get("fileName")
    return given[0] if given else unquote(PurePosixPath(parts.path).name)


def _plain_name(name: object) -> bool:
    """A file name that stays in the folder as it is (the only kind a marker may name)."""
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not name.startswith(".")
        and not any(c in name for c in "/\\\0")
    )
