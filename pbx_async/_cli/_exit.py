"""Exit codes, and the one place an exception becomes one line of advice and a code.

Every command raises; none prints its own error. ``explain`` turns what was
raised into ``(code, line)``: a mistake or an environment problem is never
shown as a traceback. Only a bug (an exception nobody expected) still is.
"""

from __future__ import annotations

import enum
import errno
import socket
import sqlite3
from collections.abc import Iterator
from typing import cast

from .. import AuthenticationError, CallNotFoundError, InvalidContainerError, PbxError, ValidationError


class Exit(enum.IntEnum):
    """What ``pbx-async`` exits with; the README's table and ``--help`` say the same."""

    OK = 0
    PARTIAL = 1  # done, but some calls failed: the same command again retries them
    USAGE = 2  # the command cannot work as typed: change it
    FAILED = 3  # something outside the command failed: fix it, then run the same command again
    INTERRUPTED = 130  # 128 + SIGINT: the same command again continues
    PIPE_CLOSED = 141  # 128 + SIGPIPE: the reader stopped early (| head), as any Unix tool


EPILOG = (
    "exit codes: 0 done; 1 done, some calls failed (rerun to retry them); 2 unusable input (change the "
    "command); 3 failed (fix what the message says, then rerun); 130 interrupted (rerun to continue); "
    "141 output closed early (| head)"
)

# The optional extras, by the module that is missing when one is not installed.
EXTRAS = {"uvicorn": "simulator", "pyarrow": "parquet", "asyncpg": "postgresql", "shtab": "cli"}


class CliError(Exception):
    """A message for the user and the code to exit with; ``prog`` names the command when it is known."""

    code = Exit.FAILED

    def __init__(self, message: str, *, prog: str | None = None) -> None:
        super().__init__(message)
        self.prog = prog


class UsageError(CliError):
    """Input the command cannot use: exit 2."""

    code = Exit.USAGE


class Failure(CliError):
    """The command could not be done here and now: exit 3."""

    code = Exit.FAILED


def missing_extra(module: str) -> Failure:
    extra = EXTRAS[module]
    return Failure(f"this needs the '{extra}' extra ({module} is not installed): pip install 'pbx-async[{extra}]'")


def require(module: str) -> None:
    """Fail with the install line when the optional ``module`` is missing."""
    try:
        __import__(module)
    except ImportError:
        raise missing_extra(module) from None


def explain(exc: BaseException, where: str | None = None) -> tuple[Exit, str] | None:
    """The exit code and one line for ``exc``; None for a bug. ``where`` names the command's output."""
    for leaf in _leaves(exc):
        found = _explain_one(leaf, where)
        if found is not None:
            return found
    return None


def _leaves(exc: BaseException) -> Iterator[BaseException]:
    """The exceptions inside task groups, in order (an output that closed early ends several tasks)."""
    if isinstance(exc, BaseExceptionGroup):
        for inner in cast(BaseExceptionGroup[BaseException], exc).exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def _explain_one(exc: BaseException, where: str | None) -> tuple[Exit, str] | None:
    if isinstance(exc, CliError):
        return exc.code, str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return Exit.INTERRUPTED, "interrupted; run the same command again to continue"
    if isinstance(exc, BrokenPipeError):
        return Exit.PIPE_CLOSED, ""  # the reader has what it wanted: nothing to say
    if isinstance(exc, ValidationError | AuthenticationError | InvalidContainerError | CallNotFoundError):
        return Exit.USAGE, str(exc)
    if isinstance(exc, PbxError):
        return Exit.FAILED, str(exc)
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").partition(".")[0] in EXTRAS:
        return Exit.FAILED, str(missing_extra((exc.name or "").partition(".")[0]))
    if isinstance(exc, sqlite3.Error):
        return _sqlite(exc, where or "the SQLite file")
    if isinstance(exc, socket.gaierror):
        return Exit.USAGE, f"unknown host name ({exc.strerror}): check --host"
    if isinstance(exc, OSError):
        return _os(exc, where)
    return None


def _sqlite(exc: sqlite3.Error, where: str) -> tuple[Exit, str]:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return Exit.FAILED, (
            f"{where} is locked by another program (another export, or an open sqlite3 shell): "
            "close it or let it finish, then run the same command again"
        )
    if "full" in text:
        return Exit.FAILED, f"no space left for {where}: free some space, then run the same command again"
    if "not a database" in text or "no such table" in text or "malformed" in text:
        return Exit.USAGE, f"{where} is not an export's SQLite file: choose another file"
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return Exit.FAILED, f"cannot write {where} ({exc}): choose a file in a folder you can write to"
    return Exit.FAILED, f"{where}: {exc}"


# A path of the wrong kind is the command's mistake (2); a folder that cannot be written, or is not
# there, is the machine's state (3), as the library's StorageError says for downloads.
_PATH_PROBLEMS = {
    errno.EISDIR: (Exit.USAGE, "is a folder: give a file name"),
    errno.ENOTDIR: (Exit.USAGE, "is not a folder (a part of that path is a file): choose another path"),
    errno.ENAMETOOLONG: (Exit.USAGE, "is too long a name: choose a shorter one"),
    errno.ENOENT: (Exit.FAILED, "does not exist: check the path"),
    errno.EACCES: (Exit.FAILED, "cannot be written (permission denied): choose a folder you can write to"),
    errno.EPERM: (Exit.FAILED, "cannot be written (operation not permitted): choose a folder you can write to"),
    errno.EROFS: (Exit.FAILED, "is on a read-only file system: choose a folder you can write to"),
}


def _os(exc: OSError, where: str | None) -> tuple[Exit, str]:
    path = exc.filename if exc.filename is not None else where
    name = str(path) if path is not None else "the output"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return Exit.FAILED, f"no space left on the device for {name}: free some space, then run the same command again"
    if exc.errno == errno.EADDRINUSE:
        return Exit.FAILED, "that port is in use by another program: choose another --port (0 picks a free one)"
    if exc.errno == errno.EADDRNOTAVAIL:
        return Exit.USAGE, "this machine has no such address: check --host (127.0.0.1 listens on loopback)"
    if exc.errno in _PATH_PROBLEMS:
        code, problem = _PATH_PROBLEMS[exc.errno]
        return code, f"{name} {problem}"
    return Exit.FAILED, f"{name}: {exc.strerror or exc}"
