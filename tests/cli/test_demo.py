"""``pbx-async demo``: what it exports and reports, and that a rerun replaces only what a demo wrote.

How long the demo takes is a benchmark figure, not a pass/fail here.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from pbx_async._cli import Exit

from .conftest import Ran, kept, snapshot


def exported(folder: Path) -> tuple[int, dict[str, str]]:
    """The demo database's call count and its recordings (file name -> SHA-256)."""
    with sqlite3.connect(folder / "calls.sqlite") as db:
        [calls] = db.execute("SELECT count(*) FROM calls").fetchone()
        rows = db.execute("SELECT path, sha256 FROM recordings").fetchall()
    return calls, {Path(path).name: sha for path, sha in rows}


def on_disk(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in (folder / "recordings").iterdir()}


def test_the_demo_exports_a_simulated_week_and_reports_on_it(cli: Callable[..., Ran], tmp_path: Path) -> None:
    ran = cli("demo", "--out", str(tmp_path / "demo"))
    assert ran.code == Exit.OK, ran.err
    assert ran.out.startswith("Simulating a PBX with 2000 calls over the last 7 days")
    for part in (
        "2000 calls (",
        "0 failures",
        "Calls per day",
        "Answer rate (inbound)",
        "Top DIDs",
        "Query it: sqlite3",
    ):
        assert part in ran.out
    calls, recordings = exported(tmp_path / "demo")
    assert calls == 2000 and len(recordings) > 500
    assert on_disk(tmp_path / "demo") == recordings  # every recording whole, and nothing else in the folder
    marker = json.loads((tmp_path / "demo" / ".pbx-async-demo.json").read_text(encoding="utf-8"))
    assert set(recordings) <= set(marker["recordings"])


def test_a_rerun_replaces_only_what_the_earlier_demo_wrote(cli: Callable[..., Ran], tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    assert cli("demo", "--out", str(folder), "--calls", "80", "--seed", "1", "--quiet").code == Exit.OK
    _, first = exported(folder)
    # The user's own files beside the demo's, and a partial download an interrupted demo left.
    (folder / "my-notes.txt").write_text("keep me\n", encoding="utf-8")
    (folder / "other.sqlite").write_bytes(b"SQLite format 3\x00 the user's")
    leftover = folder / "recordings" / f".{sorted(first)[0]}.part"
    leftover.write_bytes(b"RIFF half a file")
    users = {k: v for k, v in snapshot(tmp_path).items() if k in ("demo/my-notes.txt", "demo/other.sqlite")}
    assert len(users) == 2

    ran = cli("demo", "--out", str(folder), "--calls", "80", "--seed", "2", "--quiet")
    assert (ran.code, ran.out, ran.err) == (Exit.OK, "", "")  # --quiet: nothing on success
    _, second = exported(folder)
    assert on_disk(folder) == second  # the first demo's recordings and its .part are gone
    assert set(first) - set(second)  # (the two seeds did make different calls)
    assert kept(users, snapshot(tmp_path)) == []
    demos = {
        ".pbx-async-demo.json",
        "calls.sqlite",
        "calls.sqlite-shm",
        "calls.sqlite-wal",
        "recordings",
        "report.html",
    }
    assert {p.name for p in folder.iterdir()} - demos == {"my-notes.txt", "other.sqlite"}


def test_the_demo_with_json_prints_one_json_line(cli: Callable[..., Ran], tmp_path: Path) -> None:
    ran = cli("demo", "--out", str(tmp_path / "demo"), "--calls", "40", "--json")
    [line] = ran.out.splitlines()
    summary = json.loads(line)
    assert summary["calls"] == 40 and summary["files"][0] == str(tmp_path / "demo" / "calls.sqlite")
