"""``--concurrency auto``: the commands run with an adaptive limit; a value that is neither is a usage error."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from pbx_async.testing import Simulator

from .conftest import WINDOW, Ran


def test_calls_and_an_export_with_details_run_with_an_adaptive_limit(
    cli: Callable[..., Ran], account: Simulator, tmp_path: Path
) -> None:
    listed = cli("calls", *WINDOW, "--concurrency", "auto", "--format", "jsonl")
    assert listed.code == 0 and listed.out.strip()
    uuids = {json.loads(line)["uuid"] for line in listed.out.splitlines()}
    out = tmp_path / "calls.sqlite"
    ran = cli("export", *WINDOW, "--details", "--concurrency", "AUTO", "--out", str(out), "--quiet")
    assert (ran.code, ran.err) == (0, "")
    with sqlite3.connect(out) as db:
        stored = {row[0] for row in db.execute("SELECT uuid FROM calls")}
        with_events = db.execute("SELECT COUNT(DISTINCT call_uuid) FROM events").fetchone()[0]
    assert stored == uuids and with_events == len(uuids)


def test_a_concurrency_that_is_not_a_number_nor_auto_is_refused(cli: Callable[..., Ran], account: Simulator) -> None:
    ran = cli("calls", *WINDOW, "--concurrency", "lots")
    assert ran.code == 2
    assert "'auto'" in ran.err and "Traceback" not in ran.err
