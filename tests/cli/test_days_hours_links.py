"""Days, hours and output paths a command cannot use: one line, exit 2, no request, nothing replaced.

Found by trying the commands from outside: a year before 1000 went to the API as
"1-01-01" (read there as today, so the export "succeeded" with today's calls); year
9999, a lookback of 1e9 hours, NaN or infinity ended in a traceback; a dangling
link given as ``--out`` was replaced by the export's file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from pbx_async._cli import Exit
from pbx_async.testing import Simulator

from ..conftest import requests_made
from .conftest import WINDOW, Ran, accounts_file

DAYS = r"expected a day from 1970-01-01 to 9998-12-31"
HOURS = r"expected a number of hours from 0 to 87,840"


CASES: dict[str, tuple[Callable[[Path, Simulator], list[str]], str]] = {
    "export from year 1": (
        lambda t, s: ["export", "--from", "0001-01-01", "--to", "0001-01-02", "--out", str(t / "c.jsonl")],
        DAYS,
    ),
    "export to year 9999": (
        lambda t, s: ["export", "--from", "9999-12-30", "--to", "9999-12-31", "--out", str(t / "c.jsonl")],
        DAYS,
    ),
    "calls from year 999": (lambda t, s: ["calls", "--from", "0999-12-31"], DAYS),
    "sync since year 1": (lambda t, s: ["sync", "--since", "0001-01-01", "--out", str(t / "c.sqlite")], DAYS),
    "sync with a lookback of 1e11 hours": (
        lambda t, s: ["sync", "--since", "2026-11-01", "--out", str(t / "c.sqlite"), "--lookback", "99999999999"],
        HOURS,
    ),
    "sync with a lookback of inf": (
        lambda t, s: ["sync", "--since", "2026-11-01", "--out", str(t / "c.sqlite"), "--lookback", "inf"],
        HOURS,
    ),
    "sync every nan seconds": (
        lambda t, s: ["sync", "--since", "2026-11-01", "--out", str(t / "c.sqlite"), "--every", "nan"],
        r"expected a number of seconds more than 0",
    ),
    "plan with a lookback of 1e9 hours": (
        lambda t, s: ["plan", "--config", str(accounts_file(t, s, "PBX_KEY_OF_EAST")), "--lookback", "1e9"],
        HOURS,
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_day_or_a_number_of_hours_out_of_range_is_refused_before_any_request(
    case: str,
    cli: Callable[..., Ran],
    account: Simulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PBX_KEY_OF_EAST", account.auth)
    make, says = CASES[case]
    argv = make(tmp_path, account)
    before, paths = requests_made(account), set(tmp_path.rglob("*"))

    ran = cli(*argv)

    assert "Traceback" not in ran.err
    assert ran.code == Exit.USAGE, ran.err
    lines = ran.err.splitlines()
    assert len(lines) == 1 and re.search(says, lines[0]), ran.err
    assert requests_made(account) == before
    assert set(tmp_path.rglob("*")) == paths  # no output, no state file


@pytest.mark.parametrize("fmt", ["jsonl", "sqlite", "csv"])
@pytest.mark.parametrize("target", ["dangling", "a file of the user's"])
@pytest.mark.parametrize("command", ["export", "sync"])
def test_an_output_that_is_a_link_is_refused_and_the_link_kept(
    command: str,
    target: str,
    fmt: str,
    cli: Callable[..., Ran],
    account: Simulator,
    tmp_path: Path,
) -> None:
    pointed = tmp_path / f"elsewhere.{fmt}"
    if target != "dangling":
        pointed.write_text("the user's own data\n", encoding="utf-8")
    link = tmp_path / f"calls.{fmt}"
    link.symlink_to(pointed)
    when = WINDOW if command == "export" else ["--since", "2026-11-01"]
    before = requests_made(account)

    ran = cli(command, *when, "--out", str(link), "--quiet")

    assert "Traceback" not in ran.err
    assert ran.code == Exit.USAGE, ran.err
    lines = ran.err.splitlines()
    assert len(lines) == 1 and f"{link} is a link: give the file itself, or another --out" in lines[0], ran.err
    assert link.is_symlink() and link.readlink() == pointed  # the user's link, as it was
    assert not pointed.exists() if target == "dangling" else pointed.read_text() == "the user's own data\n"
    assert requests_made(account) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([link.name] + ([pointed.name] * pointed.exists()))
