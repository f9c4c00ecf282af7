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
from ._recordings_folder import folder_problem
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
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Files opened and renamed relative to the folder's descriptor (not on Windows).
_AT = bool(_DIRECTORY) and {os.open, os.stat, os.unlink, os.rename} <= os.supports_dir_fd


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


def _wav_state(head: bytes, size: int) -> bool | None:
    """None when ``head`` (a file's first 12 bytes) is not RIFF/WAVE; else whether its RIFF size matches ``size``."""
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None
    (riff_size,) = struct.unpack("<I", head[4:8])
    return bool(riff_size + 8 == size)


class Folder:
    """The destination folder, opened once per download without following a link (made if missing).

    Every file of the download is opened, checked and renamed relative to this
    descriptor: a link swapped in for the folder meanwhile sends nothing
    elsewhere, and each name costs the kernel one lookup, not a walk of the path.
    Where the OS has no such descriptors (Windows), paths are used, checked as before.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        if not _AT:  # pragma: no cover - Windows
            self._make()
            if (problem := folder_problem(path)) is not None:
                raise StorageError(problem)
            return
        for attempt in range(2):
            try:
                self.fd = os.open(path, os.O_RDONLY | _DIRECTORY | _NOFOLLOW)
                return
            except FileNotFoundError:
                if attempt:
                    raise StorageError(f"{path} vanished while it was created") from None
                self._make()
            except OSError as exc:
                if (problem := folder_problem(path)) is not None:  # a link, a file: say which
                    raise StorageError(problem) from None
                raise StorageError.from_os_error(exc, f"cannot create the folder {path}") from None

    def _make(self) -> None:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError.from_os_error(exc, f"cannot create the folder {self.path}") from None

    def at(self, name: str) -> str | Path:
        """What names ``name`` for an ``os`` call given ``dir_fd=self.fd``."""
        return name if self.fd is not None else self.path / name

    def open(self, name: str, flags: int, mode: int = 0o644) -> int | None:
        """A descriptor for the regular file ``name``, never through a link; None when it does not exist.

        With ``O_EXCL`` the file is new, so it is not checked further.
        """
        try:
            fd = os.open(self.at(name), flags | _NOFOLLOW, mode, dir_fd=self.fd)
        except FileNotFoundError:
            if flags & os.O_CREAT:  # only the folder can be missing
                raise StorageError(f"{self.path} vanished during the download; run again") from None
            return None
        except FileExistsError:
            raise  # O_EXCL, and something is there: the caller opens it as it is
        except OSError as exc:
            if stat.S_ISLNK(self._lstat_mode(name)):
                raise StorageError(
                    f"{self.path / name} is a link; refusing to write through it (remove it and run again)"
                ) from None
            raise StorageError.from_os_error(exc, f"cannot open {self.path / name}") from None
        if not flags & os.O_EXCL and not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StorageError(f"{self.path / name} is not a regular file; move it away and run again")
        return fd

    def lstat(self, name: str) -> os.stat_result:
        """``name``'s own status (a link's, not its target's)."""
        return os.stat(self.at(name), dir_fd=self.fd, follow_symlinks=False)

    def unlink(self, name: str) -> None:
        os.unlink(self.at(name), dir_fd=self.fd)

    def _lstat_mode(self, name: str) -> int:
        try:
            return self.lstat(name).st_mode
        except OSError:
            return 0

    def whole_wav(self, name: str) -> bool:
        """Whether ``name`` is a regular file (not a link) holding a whole WAV file."""
        fd = self.open(name, os.O_RDONLY)
        if fd is None:
            return False
        try:
            return _wav_state(os.pread(fd, 12, 0), os.fstat(fd).st_size) is True
        finally:
            os.close(fd)

    def recorded(self, call_uuid: str, name: str) -> RecordingFile:
        """The finished file ``name``, hashed."""
        fd = self.open(name, os.O_RDONLY)
        if fd is None:
            raise StorageError(f"{self.path / name} vanished while it was read")
        try:
            digest, size = _hash_fd(fd)
        finally:
            os.close(fd)
        return RecordingFile(call_uuid, self.path / name, size, digest.hexdigest())

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _hash_fd(fd: int) -> tuple[_Hash, int]:
    digest, size = hashlib.sha256(), 0
    while block := os.read(fd, 1 << 20):
        digest.update(block)
        size += len(block)
    return digest, size


class Part:
    """The growing ``.part`` file (opened once, without following links), its length and running hash.

    Beside it, ``.NAME.part.tag`` keeps the validator (ETag, else Last-Modified)
    and total size of the file the bytes came from, so a resume asks for the
    rest of that same file (``If-Range``) and never splices two versions. Bytes
    without a tag are of an unknown version: they are dropped, not resumed.
    """

    def __init__(self, folder: Folder, name: str, fd: int, size: int) -> None:
        """``size``: the bytes already in the file (hashed here; none in a part just created)."""
        self.folder, self.name, self._fd = folder, name, fd
        self._tag_name = name + ".tag"
        self._tag_on_disk = False  # a tag file is there (set by _read_tag), saying _tagged
        self._finished = False
        self.validator, self.total = self._tagged = self._read_tag()
        self.digest: _Hash
        self.digest, self.written = hashlib.sha256(), 0
        self._head: bytes | None = b""  # the file's first bytes while they are all written here, for the WAV check
        if size:
            self.digest, self.written = _hash_fd(fd)
            self._head = None  # on disk: read back when needed
            if self.validator is None:  # bytes of an unknown version: not resumable
                self.restart()

    def _read_tag(self) -> tuple[str | None, int | None]:
        fd = self.folder.open(self._tag_name, os.O_RDONLY)
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
        fd = self.folder.open(self._tag_name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        assert fd is not None  # O_CREAT: it exists now
        try:
            os.write(fd, json.dumps({"validator": self.validator, "total": self.total}).encode())
        finally:
            os.close(fd)
        self._tag_on_disk, self._tagged = True, (self.validator, self.total)

    def restart(self) -> None:
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        self.digest, self.written, self._head = hashlib.sha256(), 0, b""

    def whole_wav_or_other_audio(self, wav_expected: bool) -> bool:
        """False for a body announced as WAV that is not one, or whose RIFF length disagrees with its size."""
        # ``written`` is the file's length: the file is ours alone (locked) and every byte went through write().
        head = os.pread(self._fd, 12, 0) if self._head is None else self._head
        state = _wav_state(head, self.written)
        if state is None:
            return not wav_expected  # some other audio format: nothing to check it against
        return state

    def finish(self, target: str) -> None:
        """Move the whole file to ``target`` in its folder (a link there is replaced, never followed)."""
        at, fd = self.folder.at, self.folder.fd
        os.replace(at(self.name), at(target), src_dir_fd=fd, dst_dir_fd=fd)
        self._finished = True
        self._drop_tag()

    def _drop_tag(self) -> None:
        if self._tag_on_disk:
            with contextlib.suppress(FileNotFoundError):
                self.folder.unlink(self._tag_name)
            self._tag_on_disk = False

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:
            view = view[os.write(self._fd, view) :]
        self.digest.update(chunk)
        self.written += len(chunk)
        if self._head is not None and len(self._head) < 12:
            self._head = (self._head + chunk[:12])[:12]

    def stopped(self) -> None:
        """The download ends without the whole file: keep what resumes it, or leave nothing behind."""
        if self._finished:
            return
        if self.written == 0:
            with contextlib.suppress(FileNotFoundError):
                self.folder.unlink(self.name)
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

    def acquire(self, folder: Folder, name: str) -> int | None:
        """The file's size once this process holds ``name``; None while another does, or if it was renamed meanwhile."""
        if self.fd is None:
            return None
        if fcntl is not None:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
        try:
            there = folder.lstat(name)
        except FileNotFoundError:
            return None  # renamed into place by the process that held it
        # Compared after the lock: the name may have been renamed into place, and made anew, meanwhile.
        return there.st_size if there.st_ino == os.fstat(self.fd).st_ino else None

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the flock
            self.fd = None


def _create(folder: Folder, name: str) -> tuple[int, bool]:
    """A descriptor for the part ``name`` and whether this call created it (new, empty, regular: ours)."""
    while True:
        try:
            fd = folder.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL)
        except FileExistsError:  # left by an earlier run, or another process is writing it
            # Without O_CREAT: had its writer renamed it into place meanwhile, O_CREAT would make an
            # empty part that "created" disowns, and nobody would remove it. Gone: the name is free again.
            fd = folder.open(name, os.O_RDWR)
            if fd is not None:
                return fd, False
            continue
        assert fd is not None  # O_CREAT: it exists now
        return fd, True


def prepare(
    folder: Folder, name: str, call_uuid: str, overwrite: bool, *, quick: bool = False
) -> RecordingFile | tuple[Part, Lock] | _Busy | _Slow:
    """The finished file if it is already there, else the part to write (locked), or ``BUSY``.

    ``quick``: a few system calls at most, as fit for the event loop as the writes that follow;
    ``SLOW`` (nothing changed) where a finished file or a part's bytes would have to be read first.
    """
    if not overwrite and folder.whole_wav(name):
        return SLOW if quick else folder.recorded(call_uuid, name)
    part_name = f".{name}.part"
    fd, created = _create(folder, part_name)
    lock = Lock(fd)
    size = lock.acquire(folder, part_name)
    if size is None:
        lock.release()
        return BUSY
    # Another process may have finished this file since we looked: renamed its part into place just
    # before we locked the part that was there, or just before we made ours (the name was free again).
    if not overwrite and folder.whole_wav(name):
        if created or not quick:  # ours is empty and unneeded; another's is hashed off the loop first
            folder.unlink(part_name)
        lock.release()
        return SLOW if quick else folder.recorded(call_uuid, name)
    if quick and size:  # a part left behind: its bytes are hashed first
        lock.release()
        return SLOW
    # Only now: the bytes of a part someone else is writing are not ours to hash (nor, overwriting, to keep).
    part = Part(folder, part_name, fd, 0 if overwrite else size)
    if overwrite and size:
        part.restart()
    return part, lock
