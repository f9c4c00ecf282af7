"""A recordings folder that is a link, or no folder at all, is refused up front by every command taking one.

Until it was, ``--recordings LINK`` wrote nothing through the link (the download
opens the folder without following links) but failed every recording and
exited 1 without saying why. Now: one line on stderr naming the path and what
is allowed, exit 2, no request, nothing written anywhere. A link among the
folder's parents is the user's own layout and works.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pbx_async._cli import Exit
from pbx_async.export import AccountConfig, Shard, Window
from pbx_async.testing import Simulator

from ..conftest import requests_made
from .conftest import WINDOW, Ran

LINK = r"is a link; give the real folder, not a link"
FILE = r"is a file, not a folder; give a folder"
UNDER_A_FILE = r"cannot be a folder \(a part of that path is a file\); give a folder, not a file"


def _link(tmp: Path) -> tuple[str, str]:
    (tmp / "real").mkdir()
    (tmp / "recs").symlink_to(tmp / "real", target_is_directory=True)
    return str(tmp / "recs"), LINK


def _link_slash(tmp: Path) -> tuple[str, str]:
    path, says = _link(tmp)
    return path + "/", says  # as a shell's completion types it


def _file(tmp: Path) -> tuple[str, str]:
    (tmp / "recs").write_text("the user's own notes\n", encoding="utf-8")
    return str(tmp / "recs"), FILE


def _under_a_file(tmp: Path) -> tuple[str, str]:
    (tmp / "notes.txt").write_text("the user's own notes\n", encoding="utf-8")
    return str(tmp / "notes.txt" / "recs"), UNDER_A_FILE


FOLDERS: dict[str, Callable[[Path], tuple[str, str]]] = {
    "a link to a folder": _link,
    "a link to a folder, typed with a slash": _link_slash,
    "a file": _file,
    "a path under a file": _under_a_file,
}


def _shard_line(sim: Simulator) -> str:
    account = AccountConfig("east", sim.container_id, 0, "PBX_KEY_OF_EAST", base_url=sim.public_url)
    window = Window(datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC))
    return Shard(account, window).to_json()


COMMANDS: dict[str, Callable[[Path, Simulator, str], list[str]]] = {
    "export": lambda tmp, sim, recs: [
        "export", *WINDOW, "--details", "--out", str(tmp / "calls.sqlite"), "--recordings", recs, "--quiet",
    ],
    "export into a CSV": lambda tmp, sim, recs: [
        "export", *WINDOW, "--out", str(tmp / "calls.csv"), "--recordings", recs, "--quiet",
    ],
    "sync": lambda tmp, sim, recs: [
        "sync", "--since", "2026-10-31", "--out", str(tmp / "calls.sqlite"), "--recordings", recs, "--quiet",
    ],
    "sync into a sink": lambda tmp, sim, recs: [
        "sync", "--since", "2026-10-31", "--sink", f"sqlite:///{tmp}/calls.sqlite", "--recordings", recs, "--quiet",
    ],
    "export --shard": lambda tmp, sim, recs: [
        "export", "--shard", _shard_line(sim), "--sink", f"sqlite:///{tmp}/shards.sqlite", "--recordings", recs,
        "--quiet",
    ],
    "recording": lambda tmp, sim, recs: [
        "recording", next(c.uuid for c in sim.truth_calls() if c.recorded), "--out", recs, "--quiet",
    ],
}  # fmt: skip


@pytest.mark.parametrize("folder", FOLDERS, ids=list(FOLDERS))
@pytest.mark.parametrize("command", COMMANDS, ids=list(COMMANDS))
def test_a_recordings_folder_that_cannot_be_one_is_refused_before_any_request(
    command: str,
    folder: str,
    cli: Callable[..., Ran],
    account: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PBX_KEY_OF_EAST", account.auth)  # the shard's account: its key works
    recs, says = FOLDERS[folder](tmp_path)
    argv = COMMANDS[command](tmp_path, account, recs)
    before, paths = requests_made(account), set(tmp_path.rglob("*"))

    ran = cli(*argv)

    assert "Traceback" not in ran.err
    assert ran.code == Exit.USAGE, ran.err
    lines = ran.err.splitlines()
    assert len(lines) == 1, ran.err
    name = command.split()[0]
    assert re.fullmatch(rf"pbx-async {name}: {re.escape(recs.rstrip('/'))} {says}.*", lines[0]), lines[0]
    assert requests_made(account) == before  # refused before the first request
    assert set(tmp_path.rglob("*")) == paths  # no output, lock or sink made; nothing beside the link
    if (tmp_path / "real").exists():
        assert list((tmp_path / "real").iterdir()) == []  # nothing through the link


def test_a_link_among_the_folders_parents_is_the_users_layout(
    cli: Callable[..., Ran], account: Simulator, tmp_path: Path
) -> None:
    (tmp_path / "disk").mkdir()
    (tmp_path / "via").symlink_to(tmp_path / "disk", target_is_directory=True)
    recs = tmp_path / "via" / "recordings"  # not there yet: it is made, on the disk the link leads to

    ran = cli("export", *WINDOW, "--out", str(tmp_path / "calls.sqlite"), "--recordings", str(recs), "--quiet")

    assert ran.code == Exit.OK, ran.err  # 0: no recording failed
    assert [p.suffix for p in (tmp_path / "disk" / "recordings").iterdir()].count(".wav") > 0
