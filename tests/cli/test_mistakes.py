"""A table of command-line mistakes and environment problems: one line, the documented code, nothing lost.

Each row sets up its situation (files of the user's, a read-only folder, a full
disk, a locked database, a busy port, a missing extra, ...) and runs the
command in-process. Every row must print exactly one line on stderr (none for a
closed pipe), never a traceback, exit with the documented code, and leave every
file that was there before as it was.
"""

from __future__ import annotations

import errno
import io
import re
import socket
import sqlite3
import sys
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import attrs
import pytest

from pbx_async._cli import Exit
from pbx_async.export import AccountConfig, Shard, Window
from pbx_async.testing import Simulator

from .conftest import WINDOW, Ran, accounts_file, kept, read_only_folder, small_disk, snapshot

T = TypeVar("T")
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@attrs.define
class Setting:
    """What a row's set-up may use: a folder, the patcher, a stack of clean-ups, the simulator."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    stack: ExitStack
    sim: Simulator

    def enter(self, manager: AbstractContextManager[T]) -> T:
        return self.stack.enter_context(manager)

    def recorded_uuid(self) -> str:
        return next(c.uuid for c in self.sim.truth_calls() if c.recorded)

    def accounts_file(self, auth_env: str) -> Path:
        return accounts_file(self.tmp, self.sim, auth_env)


@attrs.frozen
class Case:
    name: str
    setup: Callable[[Setting], list[str]]  # makes the situation, returns the command's arguments
    code: Exit
    says: str  # a regular expression the line matches
    never_says: str | None = None
    adds_nothing: bool = True  # no file or folder appears (the command stopped before writing)


def _sqlite_of_the_user(s: Setting) -> list[str]:
    db = sqlite3.connect(s.tmp / "mine.sqlite")
    db.execute("CREATE TABLE budget (month TEXT, amount INTEGER)")
    db.execute("INSERT INTO budget VALUES ('2026-11', 1200)")
    db.commit()
    db.close()
    return ["export", *WINDOW, "--out", str(s.tmp / "mine.sqlite"), "--quiet"]


def _locked_database(s: Setting) -> list[str]:
    holder = sqlite3.connect(s.tmp / "calls.sqlite", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the file: nobody else reads or writes it
    s.stack.callback(holder.close)
    real_connect = sqlite3.connect

    def impatient(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, **{**kwargs, "timeout": 0.2})  # the export's minute of waiting, shortened

    s.monkeypatch.setattr(sqlite3, "connect", impatient)
    return ["export", *WINDOW, "--out", str(s.tmp / "calls.sqlite"), "--quiet"]


def _full_disk(s: Setting) -> list[str]:
    disk = s.enter(small_disk(s.tmp / "disk", "96k"))
    (disk / "keep.txt").write_text("the user's own file on that disk\n", encoding="utf-8")
    return ["export", *WINDOW, "--details", "--out", str(disk / "calls.jsonl"), "--quiet"]


def _busy_port(s: Setting) -> list[str]:
    listener = socket.socket()
    s.stack.callback(listener.close)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return ["simulate", "--port", str(listener.getsockname()[1]), "--calls", "10"]


def _without(module: str, argv: list[str]) -> Callable[[Setting], list[str]]:
    def setup(s: Setting) -> list[str]:
        s.monkeypatch.setitem(sys.modules, module, None)  # as on an install without that extra
        return [a.format(tmp=s.tmp) for a in argv]

    return setup


class _Refusing(io.StringIO):
    def __init__(self, error: OSError) -> None:
        super().__init__()
        self.error = error

    def write(self, text: str) -> int:
        raise self.error


def _stdout_failing(error: OSError) -> Callable[[Setting], list[str]]:
    def setup(s: Setting) -> list[str]:
        s.monkeypatch.setattr(sys, "stdout", _Refusing(error))
        return ["calls", *WINDOW]

    return setup


def _shard_line(s: Setting) -> str:
    account = AccountConfig("east", s.sim.container_id, 0, "PBX_KEY_OF_EAST", base_url=s.sim.public_url)
    window = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC))
    return Shard(account, window).to_json()


def _with_env(argv: list[str] | None = None, **env: str | None) -> Callable[[Setting], list[str]]:
    def setup(s: Setting) -> list[str]:
        for name, value in env.items():
            if value is None:
                s.monkeypatch.delenv(name)
            else:
                s.monkeypatch.setenv(name, value)
        return argv or ["calls"]

    return setup


def _demo_folder_with(*names: str) -> Callable[[Setting], list[str]]:
    def setup(s: Setting) -> list[str]:
        for name in names:
            path = s.tmp / "demo" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"RIFF the user's own " + name.encode())
        return ["demo", "--out", str(s.tmp / "demo"), "--calls", "20"]

    return setup


def _folder(name: str) -> Callable[[Setting], Path]:
    def make(s: Setting) -> Path:
        (s.tmp / name).mkdir()
        return s.tmp / name

    return make


def _file(name: str, text: str = "the user's own file\n") -> Callable[[Setting], Path]:
    def make(s: Setting) -> Path:
        path = s.tmp / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


CASES = [
    # -- arguments ----------------------------------------------------------------------------------
    Case("no command", lambda s: [], Exit.USAGE, r"^pbx-async: the following arguments are required: COMMAND"),
    Case("unknown command", lambda s: ["frobnicate"], Exit.USAGE, r"invalid choice: 'frobnicate'"),
    Case(
        "a date as 11/02/2026",
        lambda s: ["export", "--from", "11/02/2026", "--to", "2026-11-02", "--out", str(s.tmp / "x.sqlite")],
        Exit.USAGE,
        r"^pbx-async export: argument --from: expected a date as YYYY-MM-DD, got '11/02/2026'",
    ),
    Case(
        "--format against --out's name",
        lambda s: ["export", *WINDOW, "--format", "csv", "--out", str(s.tmp / "calls.sqlite")],
        Exit.USAGE,
        r"--format csv does not match --out calls\.sqlite",
    ),
    Case(
        "an --out name without a format",
        lambda s: ["export", *WINDOW, "--out", str(s.tmp / "calls.txt")],
        Exit.USAGE,
        r"cannot tell the format from the name 'calls\.txt'",
    ),
    Case("notes with nothing to save", lambda s: ["notes", UNKNOWN], Exit.USAGE, r"nothing to save"),
    Case("no credentials", _with_env(PBX_AUTH=None), Exit.USAGE, r"set PBX_AUTH in the environment"),
    # -- paths of the wrong kind, and files of the user's -------------------------------------------
    Case(
        "--out a folder",
        lambda s: ["export", *WINDOW, "--out", str(_folder("exports")(s))],
        Exit.USAGE,
        r"is a folder: give a file name",
    ),
    Case(
        "--out under a file",
        lambda s: ["export", *WINDOW, "--out", str(_file("notes.txt")(s) / "calls.sqlite")],
        Exit.USAGE,
        r"notes\.txt is a file, not a folder",
    ),
    Case(
        "--out a CSV of the user's",
        lambda s: ["export", *WINDOW, "--out", str(_file("report.csv", "month,total\n11,1200\n")(s))],
        Exit.USAGE,
        r"report\.csv exists and no export wrote it",
    ),
    Case("--out a database of the user's", _sqlite_of_the_user, Exit.USAGE, r"mine\.sqlite is a SQLite database"),
    Case(
        "recording --out a file",
        lambda s: ["recording", s.recorded_uuid(), "--out", str(_file("recordings")(s))],
        Exit.USAGE,
        r"is a file, not a folder",
    ),
    Case(
        "report of a missing file",
        lambda s: ["report", str(s.tmp / "calls.sqlite")],
        Exit.USAGE,
        r"calls\.sqlite is not a file",
    ),
    # -- the machine's state ------------------------------------------------------------------------
    Case(
        "export into a read-only folder",
        lambda s: ["export", *WINDOW, "--out", str(s.enter(read_only_folder(s.tmp / "ro")) / "calls.sqlite")],
        Exit.FAILED,
        r"ro/calls\.sqlite.*folder you can write to",
    ),
    Case(
        "recording into a read-only folder",
        lambda s: ["recording", s.recorded_uuid(), "--out", str(s.enter(read_only_folder(s.tmp / "ro")))],
        Exit.FAILED,
        r"(?i)read-only|permission",
    ),
    Case("export onto a full disk", _full_disk, Exit.FAILED, r"(?i)no space|full", adds_nothing=False),
    Case("a database another program holds", _locked_database, Exit.FAILED, r"locked"),
    Case("stdout on a full disk", _stdout_failing(OSError(errno.ENOSPC, "No space left")), Exit.FAILED, "no space"),
    Case(
        "stdout closed by the reader",
        _stdout_failing(BrokenPipeError(errno.EPIPE, "Broken pipe")),
        Exit.PIPE_CLOSED,
        "",
    ),
    Case(
        "simulate with a negative latency",
        lambda s: [*_busy_port(s), "--latency", "-1"],  # refused before the port is tried (or served on)
        Exit.USAGE,
        r"^pbx-async simulate: --latency takes seconds, 0 or more \(got -1\.0\)",
    ),
    Case(
        "simulate with a fault rate over 1",
        lambda s: [*_busy_port(s), "--fault-rate", "7"],
        Exit.USAGE,
        r"--fault-rate takes a share of requests from 0 to 1 \(got 7\.0\)",
    ),
    Case("simulate on a busy port", _busy_port, Exit.FAILED, r"port is in use.*--port \(0 picks a free one\)"),
    Case(
        "demo without the simulator extra",
        _without("uvicorn", ["demo", "--out", "{tmp}/demo"]),
        Exit.FAILED,
        r"pip install 'pbx-async\[simulator\]'",
    ),
    Case(
        "simulate without the simulator extra",
        _without("uvicorn", ["simulate", "--port", "0"]),
        Exit.FAILED,
        r"pip install 'pbx-async\[simulator\]'",
    ),
    Case(
        "parquet without the parquet extra",
        _without("pyarrow", ["export", *WINDOW, "--out", "{tmp}/calls.parquet"]),
        Exit.FAILED,
        r"pip install 'pbx-async\[parquet\]'",
    ),
    Case(
        "completion without shtab",
        _without("shtab", ["--print-completion", "bash"]),
        Exit.FAILED,
        r"pip install 'pbx-async\[cli\]'",
    ),
    # -- what the server refuses --------------------------------------------------------------------
    Case(
        "a key the server refuses",
        _with_env(["calls", *WINDOW], PBX_AUTH="not-the-key"),
        Exit.USAGE,
        r"refused the API key",
    ),
    Case(
        "an accounts file's key refused (plan)",
        lambda s: ["plan", "--config", str(s.accounts_file("PBX_KEY_OF_EAST")), *WINDOW],
        Exit.USAGE,
        r"account 'east': the server refused the API key in PBX_KEY_OF_EAST",
        never_says="PBX_AUTH",
    ),
    Case(
        "a shard's key refused (export --shard)",
        lambda s: ["export", "--shard", _shard_line(s), "--sink", f"sqlite:///{s.tmp}/shards.sqlite"],
        Exit.USAGE,
        r"account 'east': the server refused the API key in PBX_KEY_OF_EAST",
        never_says="PBX_AUTH",
        adds_nothing=False,  # the sink is opened (and made) before the first request
    ),
    Case(
        "details of no such call",
        lambda s: ["details", UNKNOWN],
        Exit.USAGE,
        r"^pbx-async details: no call .*no timeline",
    ),
    Case(
        "recording of no such call",
        lambda s: ["recording", UNKNOWN, "--out", str(s.tmp)],
        Exit.USAGE,
        r"^pbx-async recording: no call .*nothing downloaded",
    ),
    Case(
        "notes on no such call",
        lambda s: ["notes", UNKNOWN, "--severity", "2"],
        Exit.USAGE,
        r"^pbx-async notes: no call .*no notes saved",
    ),
    # -- the demo's folder ----------------------------------------------------------------------------
    Case(
        "demo into a folder with the user's calls.sqlite",
        _demo_folder_with("calls.sqlite"),
        Exit.USAGE,
        r"calls\.sqlite was not written by pbx-async demo.*nothing was deleted",
    ),
    Case(
        "demo into a folder with the user's recordings",
        _demo_folder_with("recordings/interview.wav", "recordings/standup.wav"),
        Exit.USAGE,
        r"recordings/\w+\.wav was not written by pbx-async demo",
    ),
    Case(
        "demo onto a file", lambda s: ["demo", "--out", str(_file("demo")(s))], Exit.USAGE, r"is a file, not a folder"
    ),
    Case(
        "demo with a marker naming other files",
        _demo_folder_with(".pbx-async-demo.json"),
        Exit.USAGE,
        r"not the marker pbx-async demo writes",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_mistake_is_one_line_with_the_documented_code_and_nothing_lost(
    case: Case, cli: Callable[..., Ran], account: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PBX_KEY_OF_EAST", "not-the-key")  # the accounts file's variable, set to a wrong key
    with ExitStack() as stack:
        argv = case.setup(Setting(tmp_path, monkeypatch, stack, account))
        before, paths_before = snapshot(tmp_path), set(tmp_path.rglob("*"))
        ran = cli(*argv)
        lost, paths_after = kept(before, snapshot(tmp_path)), set(tmp_path.rglob("*"))
    assert "Traceback" not in ran.err
    assert ran.code == case.code, ran.err
    lines = ran.err.splitlines()
    if case.says:
        assert len(lines) == 1, ran.err
        assert re.search(case.says, lines[0]), lines[0]
        assert lines[0].startswith("pbx-async")
    else:
        assert lines == []
    if case.never_says:
        assert case.never_says not in ran.err
    assert lost == [], f"the user's files {lost} were deleted or changed"
    if case.adds_nothing:
        assert paths_after == paths_before
