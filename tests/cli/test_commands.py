"""What each command prints and writes, run in-process against the served simulator."""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from pbx_async._cli import Exit
from pbx_async.testing import Simulator

from .conftest import WINDOW, Ran

FIRST, LAST = date(2026, 10, 31), date(2026, 11, 2)
CLOCK = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d  ")


def in_window(sim: Simulator) -> list[str]:
    return [c.uuid for c in sim.truth_calls() if FIRST <= c.date.date() <= LAST]


def test_calls_prints_a_header_then_a_line_a_call_with_whole_seconds(
    cli: Callable[..., Ran], account: Simulator
) -> None:
    ran = cli("calls", *WINDOW)
    assert (ran.code, ran.err) == (0, "")
    header, *rows = ran.out.splitlines()
    assert header.split() == ["DATE", "DIRECTION", "FROM", "TO", "DURATION", "UUID", "LAST", "EVENT"]
    assert sorted(row.split()[6] for row in rows) == sorted(in_window(account))  # date, time, ..., uuid
    assert all(CLOCK.match(row) for row in rows)
    assert ".000000" not in ran.out


def test_calls_as_json_lines(cli: Callable[..., Ran], account: Simulator) -> None:
    ran = cli("calls", *WINDOW, "--format", "jsonl", "--no-show-internal")
    calls = [json.loads(line) for line in ran.out.splitlines()]
    expected = [c.uuid for c in account.truth_calls() if FIRST <= c.date.date() <= LAST and c.direction.value != 3]
    assert sorted(c["uuid"] for c in calls) == sorted(expected)
    assert {c["direction"] for c in calls} == {"INBOUND", "OUTBOUND"}  # enums by name, as to_dict() gives them


def test_calls_matching_nothing_prints_the_header_alone(cli: Callable[..., Ran], account: Simulator) -> None:
    ran = cli("calls", "--from", "2020-01-01", "--to", "2020-01-02")
    assert ran.code == 0 and ran.out.splitlines() == [ran.out.splitlines()[0]] and ran.out.startswith("DATE")


def test_details_as_a_timeline_and_as_json(cli: Callable[..., Ran], account: Simulator) -> None:
    uuid = in_window(account)[0]
    truth = account.truth_details(uuid)
    table = cli("details", uuid)
    first, *events = table.out.splitlines()
    assert first.startswith(uuid) and len(events) == len(truth.events)
    assert all(re.match(r"^  \d\d:\d\d:\d\d  ", e) for e in events) and ".000000" not in table.out
    data = json.loads(cli("details", uuid, "--json").out)
    assert data["call"]["uuid"] == uuid
    assert [e["uuid"] for e in data["events"]] == [e.uuid for e in truth.events]
    assert data["events"][0]["purpose"] == type(truth.events[0]).PURPOSE


def test_credentials_come_through_from_env_stripped_of_white_space(
    cli: Callable[..., Ran], account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBX_AUTH", f" {account.auth}\n")
    monkeypatch.setenv("PBX_CONTAINER_ID", f"{account.container_id} ")
    assert cli("calls", *WINDOW).code == 0


def test_auth_flag_overrides_the_environment_and_warns(
    cli: Callable[..., Ran], account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PBX_AUTH", "not-the-key")
    ran = cli("calls", *WINDOW, "--auth", account.auth)
    assert ran.code == 0
    assert ran.err == "pbx-async: warning: --auth shows the API key in the process list; prefer PBX_AUTH\n"


@pytest.mark.parametrize(
    ("name", "opening"),
    [
        ("calls.sqlite", b"SQLite format 3\x00"),
        ("calls.db", b"SQLite format 3\x00"),
        ("calls.csv", b"uuid,"),
        ("calls.jsonl", b'{"uuid":'),
        ("calls.parquet", b"PAR1"),
    ],
)
def test_the_format_comes_from_the_out_name(
    cli: Callable[..., Ran], account: Simulator, tmp_path: Path, name: str, opening: bytes
) -> None:
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    ran = cli("export", *WINDOW, "--out", str(tmp_path / name), "--quiet")
    assert (ran.code, ran.out, ran.err) == (0, "", "")  # --quiet: nothing at all on success
    assert (tmp_path / name).read_bytes().startswith(opening)


def test_an_export_summary_as_json(cli: Callable[..., Ran], account: Simulator, tmp_path: Path) -> None:
    ran = cli("export", *WINDOW, "--out", str(tmp_path / "calls.sqlite"), "--quiet", "--json")
    summary = json.loads(ran.out)
    assert summary["calls"] == len(in_window(account)) and summary["files"] == [str(tmp_path / "calls.sqlite")]


def test_the_summary_line_and_the_report_of_an_export(
    cli: Callable[..., Ran], account: Simulator, tmp_path: Path
) -> None:
    out = tmp_path / "calls.sqlite"
    ran = cli("export", *WINDOW, "--details", "--out", str(out))
    assert ran.code == Exit.OK
    assert ran.out.startswith(f"{len(in_window(account))} calls (") and f"wrote {out}" in ran.out
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*) FROM calls").fetchone() == (len(in_window(account)),)
    report = cli("report", str(out))
    assert report.code == 0 and "Answer rate (inbound)" in report.out and "Top DIDs" in report.out


def test_recording_saves_the_calls_audio(cli: Callable[..., Ran], account: Simulator, tmp_path: Path) -> None:
    uuid = next(c.uuid for c in account.truth_calls() if c.recorded)
    ran = cli("recording", uuid, "--out", str(tmp_path / "recs"))
    [saved] = list((tmp_path / "recs").iterdir())
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == account.recording_sha256(uuid)
    assert ran.out == f"{saved}  {saved.stat().st_size} bytes  sha256 {account.recording_sha256(uuid)}\n"
    assert cli("recording", uuid, "--out", str(tmp_path / "again"), "--quiet").out == ""


def test_notes_are_saved_on_the_call(cli: Callable[..., Ran], account: Simulator) -> None:
    uuid = in_window(account)[1]
    ran = cli("notes", uuid, "--notes", "Called back", "--severity", "2", "--flag")
    assert ran.out == f"notes saved on {uuid}\n"
    call = account.truth_call(uuid)
    assert (call.notes, call.severity, call.flagged) == ("Called back", 2, True)
    assert cli("notes", uuid, "--no-flag", "--quiet").out == ""
    assert account.truth_call(uuid).flagged is False


def test_a_bug_shows_its_traceback_and_exits_3_never_1(
    cli: Callable[..., Ran], account: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(args: object) -> int:
        raise RuntimeError("a bug in the command")

    monkeypatch.setattr("pbx_async._cli._oneoff.run_calls", broken)
    ran = cli("calls", *WINDOW)
    assert ran.code == Exit.FAILED  # 1 stays "done, some calls failed"
    assert "Traceback" in ran.err and "RuntimeError: a bug in the command" in ran.err
    assert (
        ran.err.splitlines()[-1] == "pbx-async calls: an internal error (a bug): please report it with the lines above"
    )
