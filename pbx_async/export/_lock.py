"""One writer per output: a lock file beside it, held for the whole run.

    with OutputLock(Path("calls.jsonl.lock"), "calls.jsonl"):
        ...   # a second run into calls.jsonl now fails with "in use by process N"

The lock is the operating system's (``flock``, POSIX) on an open file, so
it goes when its process ends, however it ends: a lock left by a killed run
is simply taken over, and a live one is never taken. The file names its
holder's process ID for the message; it is removed on release. A file of
that name that no pbx-async wrote is never touched.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from .._errors import ValidationError

MARK = b"pbx-async lock"


def _try_lock(fd: int) -> bool:
    """Take the lock on ``fd`` without waiting; False when another process holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(text: bytes) -> str:
    for line in text.decode("ascii", "replace").splitlines():
        if line.startswith("pid "):
            return f"process {line[4:].strip()}"
    return "another process"


class OutputLock:
    """Hold ``path`` (a lock file) for the block; ``ValidationError`` saying who holds it when taken.

    with OutputLock(Path("calls.sqlite.lock"), "calls.sqlite"):
        ...
    """

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        while self._fd is None:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
            try:
                self._fd = self._take(fd)
            except BaseException:
                os.close(fd)
                raise
        return self

    def _take(self, fd: int) -> int | None:
        """``fd`` once locked and marked as ours; None when the file was removed meanwhile (try again)."""
        text = os.pread(fd, 200, 0)
        if text and not text.startswith(MARK):
            raise ValidationError(f"{self.path} exists and no pbx-async wrote it: move it away or choose another --out")
        if not _try_lock(fd):
            raise ValidationError(
                f"{self.what} is in use by {_holder(os.pread(fd, 200, 0))} (another export or sync into it): "
                "wait for it to finish, or stop it, then run this again"
            )
        try:
            if os.stat(self.path).st_ino != os.fstat(fd).st_ino:
                os.close(fd)  # its holder removed it as we opened it: lock the new one
                return None
        except FileNotFoundError:
            os.close(fd)
            return None
        os.ftruncate(fd, 0)
        os.pwrite(fd, MARK + f"\npid {os.getpid()}\n".encode(), 0)
        return fd

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                os.unlink(self.path)  # still locked: whoever opens it next sees it gone and starts over
        except FileNotFoundError:
            pass
        finally:
            os.close(fd)
