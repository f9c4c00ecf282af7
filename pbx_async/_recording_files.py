"""Recording files on disk: safe local names, the growing ``.part`` file, the lock, WAV checks.

Nothing here speaks HTTP. Every file is opened without following a link, so a
link planted in the destination cannot send a recording elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import struct
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from ._errors import StorageError
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
# A tag is a file creation (0.05 to 1 ms of the disk's time here, more than the rest of a small
# download's file work): under this size a part is fetched whole again after a hard crash, and
# its tag is written only when a download stops short (an error, a cancel), which keeps the resume.
TAG_AT_START_FROM = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class _Busy:
    """The answer of ``prepare`` while another process downloads the same file."""


class _Slow:
    """The answer of a ``quick`` ``prepare`` where bytes already on disk must be hashed first."""


BUSY: Final = _Busy()
SLOW: Final = _Slow()


def local_name(name: str, fallback: str) -> str:
    """A file name that stays inside its folder on any OS, whatever the server sent.

    Where making the name safe changed it (a folder part dropped, characters
    replaced, a long name cut), a short hash of the server's name is added,
    so two server names never share one local file.
    """
    base = re.split(r"[/\\]", name)[-1]  # drop any directory part, ../ included
    base = _UNSAFE.sub("_", base).strip(" .")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext[:10] if ext.isalnum() else ""
    if not stem or _WINDOWS_RESERVED.match(f"{stem}.{ext}" if ext else stem):
        stem = f"_{stem}" if stem else Path(fallback).stem
    safe = f"{stem}.{ext}" if ext else stem
    if safe != name or len(safe) > MAX_NAME:
        stem = f"{stem[: MAX_NAME - len(ext) - 13]}-{hashlib.sha256(name.encode()).hexdigest()[:11]}"
    return f"{stem}.{ext}" if ext else stem


def _wav_state(fd: int) -> bool | None:
    """None when the open file is not RIFF/WAVE; else whether its RIFF size matches its length."""
    head = os.pread(fd, 12, 0)
    size = os.fstat(fd).st_size
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    (riff_size,) = struct.unpack("<I", head[4:8])
    return bool(riff_size + 8 == size)


def _open_regular(path: Path, flags: int, mode: int = 0o644) -> int | None:
    """A descriptor for ``path``, never through a link; None when it does not exist."""
    try:
        fd = os.open(path, flags | _NOFOLLOW, mode)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if path.is_symlink():
            raise StorageError(f"{path} is a link; refusing to write through it (remove it and run again)") from None
        raise StorageError.from_os_error(exc, f"cannot open {path}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise StorageError(f"{path} is not a regular file; move it away and run again")
    return fd


def whole_wav(path: Path) -> bool:
    """Whether ``path`` is a regular file (not a link) holding a whole WAV file."""
    fd = _open_regular(path, os.O_RDONLY)
    if fd is None:
        return False
    try:
        return _wav_state(fd) is True
    finally:
        os.close(fd)


def _hash_fd(fd: int) -> tuple[_Hash, int]:
    digest, size = hashlib.sha256(), 0
    while block := os.read(fd, 1 << 20):
        digest.update(block)
        size += len(block)
    return digest, size


def _recorded(call_uuid: str, target: Path) -> RecordingFile:
    fd = _open_regular(target, os.O_RDONLY)
    if fd is None:
        raise StorageError(f"{target} vanished while it was read")
    try:
        digest, size = _hash_fd(fd)
    finally:
        os.close(fd)
    return RecordingFile(call_uuid, target, size, digest.hexdigest())


class Part:
    """The growing ``.part`` file (opened once, without following links), its length and running hash.

    Beside it, ``.NAME.part.tag`` keeps the validator (ETag, else Last-Modified)
    and total size of the file the bytes came from, so a resume asks for the
    rest of that same file (``If-Range``) and never splices two versions. Bytes
    without a tag are of an unknown version: they are dropped, not resumed.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path, self._fd = path, fd
        self._tag_path = path.with_name(path.name + ".tag")
        self._tag_on_disk = False  # a tag file is there (set by _read_tag), saying _tagged
        self._finished = False
        self.validator, self.total = self._tagged = self._read_tag()
        os.lseek(fd, 0, os.SEEK_SET)
        self.digest: _Hash
        self.digest, self.written = _hash_fd(fd)
        if self.written and self.validator is None:  # bytes of an unknown version: not resumable
            self.restart()

    def _read_tag(self) -> tuple[str | None, int | None]:
        fd = _open_regular(self._tag_path, os.O_RDONLY)
        if fd is None:
            return None, None
        self._tag_on_disk = True
        try:
            tag = json.loads(os.read(fd, 4096) or b"null")
        except ValueError:
            return None, None
        finally:
            os.close(fd)
        if isinstance(tag, dict):
            fields = cast("dict[str, Any]", tag)  # JSON: Any inside
            if isinstance(fields.get("validator"), str) and isinstance(fields.get("total"), int):
                return fields["validator"], fields["total"]
        return None, None

    def remember(self, validator: str | None, total: int) -> None:
        """Note which version of the file the bytes belong to (before any is written)."""
        self.validator, self.total = validator, total
        if total >= TAG_AT_START_FROM:  # a big file: resumable even after a hard crash
            self.keep_tag()
        elif self._tag_on_disk and (validator, total) != self._tagged:
            self._drop_tag()  # it speaks of another version than the bytes now coming

    def keep_tag(self) -> None:
        """Write the tag, if it is not on disk already, so a later run may resume these bytes."""
        if self.validator is None or self.total is None:
            return  # nothing identifies the version: these bytes cannot be resumed anyway
        if self._tag_on_disk and (self.validator, self.total) == self._tagged:
            return
        fd = _open_regular(self._tag_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        assert fd is not None  # O_CREAT: it exists now
        try:
            os.write(fd, json.dumps({"validator": self.validator, "total": self.total}).encode())
        finally:
            os.close(fd)
        self._tag_on_disk, self._tagged = True, (self.validator, self.total)

    def restart(self) -> None:
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self.digest, self.written = hashlib.sha256(), 0

    def whole_wav_or_other_audio(self, wav_expected: bool) -> bool:
        """False for a body announced as WAV that is not one, or whose RIFF length disagrees with its size."""
        state = _wav_state(self._fd)
        if state is None:
            return not wav_expected  # some other audio format: nothing to check it against
        return state

    def finish(self, target: Path) -> None:
        """Move the whole file into place (a link at ``target`` is replaced, never followed)."""
        os.replace(self.path, target)
        self._finished = True
        self._drop_tag()

    def _drop_tag(self) -> None:
        if self._tag_on_disk:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._tag_path)
            self._tag_on_disk = False

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self.digest.update(chunk)
        self.written += len(chunk)

    def stopped(self) -> None:
        """The download ends without the whole file: keep what resumes it, or leave nothing behind."""
        if self._finished:
            return
        if self.written == 0:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            self._drop_tag()
        else:
            self.keep_tag()


class Lock:
    """An exclusive lock on the ``.part`` file, so two processes never write one download at once.

    (Overlapping export shards may fetch the same recording.) Where ``fcntl`` is
    missing (Windows) there is no lock: one process per folder there.
    """

    def __init__(self, fd: int) -> None:
        self.fd: int | None = fd

    def acquire(self, path: Path) -> bool:
        """Whether this process now holds ``path``: False while another does, or if it was renamed meanwhile."""
        if self.fd is None:
            return False
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        try:
            return os.fstat(self.fd).st_ino == os.stat(path, follow_symlinks=False).st_ino
        except FileNotFoundError:
            return False  # renamed into place by the process that held it

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def prepare(
    dest: Path, name: str, call_uuid: str, overwrite: bool, *, quick: bool = False
) -> RecordingFile | tuple[Path, Part, Lock] | _Busy | _Slow:
    """The finished file if it is already there, else the part to write (locked), or ``BUSY``.

    ``quick``: a few system calls at most, as fit for the event loop as the writes that follow;
    ``SLOW`` (nothing changed) where a finished file or a part's bytes would have to be read first.
    """
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError.from_os_error(exc, f"cannot create the folder {dest}") from None
    if dest.is_symlink():
        raise StorageError(f"{dest} is a link; give the real folder")
    target = dest / name
    if not overwrite and whole_wav(target):
        return SLOW if quick else _recorded(call_uuid, target)
    part_path = target.with_name(f".{target.name}.part")
    fd = _open_regular(part_path, os.O_RDWR | os.O_CREAT)
    assert fd is not None  # O_CREAT: it exists now
    lock = Lock(fd)
    if not lock.acquire(part_path):
        lock.release()
        return BUSY
    if not overwrite and whole_wav(target):  # finished by another process just before we locked
        if quick:
            lock.release()
            return SLOW
        os.unlink(part_path)
        lock.release()
        return _recorded(call_uuid, target)
    if quick and os.fstat(fd).st_size:  # a part left behind: its bytes are hashed first
        lock.release()
        return SLOW
    part = Part(part_path, fd)  # only now: the bytes of a part someone else is writing are not ours to hash
    if overwrite:
        part.restart()
    return target, part, lock
