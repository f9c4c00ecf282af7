"""``pbx-async sync`` in-process against the simulator over loopback: its summary, its mistakes, ``--every``."""

from __future__ import annotations

import json
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest

from pbx_async._cli import main
from pbx_async.testing import Changes, Simulator
from tests.export.current import served

NOW = datetime.now(UTC).replace(microsecond=0)  # the command's clock is the real one
SINCE = ["--since", (NOW - timedelta(days=3)).date().isoformat()]


def sync(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> int:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return main(["sync", *args])


def test_sync_says_what_it_added_and_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator(calls=60, days=2, seed=51, now=NOW)
    out = str(tmp_path / "calls.csv")
    with served(sim) as env:
        assert sync(monkeypatch, env, *SINCE, "--out", out, "--json", "--quiet") == 0
        first = json.loads(capsys.readouterr().out)
        edited, arrived = Changes(sim, seed=1).edit(3), Changes(sim, seed=2).arrive(2)
        assert sync(monkeypatch, env, "--out", out) == 0  # later runs start from the watermark
        text = capsys.readouterr().out
    assert (first["new_calls"], first["changed_calls"], first["calls"]) == (60, 0, 60)
    assert first["files"] == [out] and first["watermark"]
    assert f"sync: {len(arrived)} new calls, {len(edited)} changed, 0 still incomplete" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "needs --out FILE or --sink URL"),
        (["--out", "x.sqlite", "--sink", "sqlite:///y.sqlite"], "not both"),
        (["--sink", "sqlite:///y.sqlite", "--format", "jsonl"], "--format goes with --out"),
        (["--out", "x.sqlite"], "needs --since"),
        (["--out", "x.sqlite", *SINCE, "--lookback", "-1"], "hours from 0 to 87,840, got '-1'"),
        (["--out", "x.sqlite", *SINCE, "--lookback", "nan"], "hours from 0 to 87,840, got 'nan'"),
        (["--out", "x.sqlite", *SINCE, "--lookback", "99999999999"], "hours from 0 to 87,840"),
        (["--out", "x.sqlite", *SINCE, "--every", "0"], "seconds more than 0, got '0'"),
        (["--out", "x.sqlite", *SINCE, "--every", "nan"], "seconds more than 0, got 'nan'"),
        (["--out", "x.sqlite", *SINCE, "--every", "inf"], "seconds more than 0, got 'inf'"),
        (["--out", "x.sqlite", "--since", "0001-01-01"], "a day from 1970-01-01 to 9998-12-31, got '0001-01-01'"),
    ],
)
def test_sync_mistakes_exit_2(
    args: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PBX_SINK", raising=False)
    sim = Simulator(calls=5, days=1, seed=52)
    with served(sim) as env:
        assert sync(monkeypatch, env, *args) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_plan_takes_a_window_or_a_lookback_not_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "accounts.toml"
    config.write_text('[[account]]\nname = "east"\ncontainer_id = "123456"\nauth_env = "PBX_KEY_EAST"\n')
    both = ["plan", "--config", str(config), "--from", "2026-11-01", "--to", "2026-11-02", "--lookback", "48"]
    assert main(both) == 2
    assert main(["plan", "--config", str(config)]) == 2
    assert capsys.readouterr().err.count("--lookback HOURS (not both)") == 2


def test_every_runs_again_until_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import pbx_async._cli._sync as command

    pauses: list[float] = []
    real_sleep = anyio.sleep

    async def pause(seconds: float) -> None:
        pauses.append(seconds)
        assert len(pauses) <= 2, "Ctrl-C did not stop the runs"  # a failure, not a test that never ends
        if len(pauses) == 2:
            signal.raise_signal(signal.SIGINT)  # Ctrl-C while it waits for the next run (to this thread)
        await real_sleep(0.01 if len(pauses) == 1 else 30)

    monkeypatch.setattr(command, "anyio", SimpleNamespace(sleep=pause))  # the command's pause between runs only
    # Ctrl-C meets Python's default handler, as in a terminal, whatever an earlier test left installed.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    sim = Simulator(calls=20, days=1, seed=53, now=NOW)
    try:
        with served(sim) as env:
            code = sync(monkeypatch, env, *SINCE, "--out", str(tmp_path / "calls.jsonl"), "--every", "30", "--json")
    finally:
        signal.signal(signal.SIGINT, previous)
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 130
    assert pauses == [30, 30] and [r["new_calls"] for r in runs] == [20, 0]
