"""Each way a rerun used to go wrong (issue 13's "Why"), shown against the simulator over loopback.

- another account into the same output was silently skipped;
- a server answering in another UTC offset lost timelines, and the day was checkpointed anyway;
- notes, flag, severity and transcriptions changed after a day was exported stayed stale forever;
- a call first listed after its day was checkpointed (written at hangup) was never exported;
- two exports into one output at once both wrote ``OUT.tmp``, and one crashed.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from pbx_async import PbxSession
from pbx_async._cli import main
from pbx_async.export import ExportSpec, SyncSpec, run_export, run_sync
from pbx_async.export._lock import OutputLock
from pbx_async.testing import Changes, Simulator, serve
from tests.export.current import read_jsonl, read_sqlite, served, truth

FIRST, LAST = "2026-10-29", "2026-11-02"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def run_cli(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], *args: str) -> int:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return main(list(args))


def test_another_account_into_the_same_file_is_refused_and_a_database_keeps_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator.accounts(2, calls=60, days=3)
    a, b = sim.all_accounts()
    out = tmp_path / "o.jsonl"
    export = ["export", "--from", FIRST, "--to", LAST, "--out", str(out), "--quiet"]
    with served(sim) as served_env:
        env = {**served_env, "PBX_TENANT_ID": "0"}
        assert run_cli(monkeypatch, env, *export) == 0
        written = out.read_bytes()
        other = {**env, "PBX_AUTH": b.auth, "PBX_TENANT_ID": str(b.tenant_id)}
        capsys.readouterr()
        assert run_cli(monkeypatch, other, *export) == 2
        message = capsys.readouterr().err
        sink = f"sqlite:///{tmp_path}/all.sqlite"
        for env_of in (env, other):  # a database holds many accounts, each call carrying its own
            assert run_cli(monkeypatch, env_of, "sync", "--since", FIRST, "--sink", sink, "--quiet") == 0
    assert "holds the calls of container 123456, tenant 0" in message and "tenant 1" in message
    assert out.read_bytes() == written  # untouched
    assert {u for u, c in read_jsonl(out).items() if c[:2] == ("123456", 0)} == {c.uuid for c in a.truth_calls()}
    assert read_sqlite(tmp_path / "all.sqlite") == truth(sim, events=False, recordings=False)


@pytest.mark.anyio
async def test_a_server_answering_in_another_offset_loses_no_timeline(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sim = Simulator(calls=150, days=3, seed=31)
    Changes(sim).answer_in_offset(0)  # asked for -300, it answers in UTC
    # The last day's evening is the next day in UTC: the calls a comparison of offset strings missed.
    out = tmp_path / "calls.sqlite"
    spec = ExportSpec(date(2026, 10, 30), date(2026, 11, 1), out=out, details=True, utc_offset=-300)
    caplog.set_level(logging.WARNING, "pbx_async.export")
    async with serve(sim) as base_url, PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
        result = await run_export(session, spec, now=datetime(2026, 11, 27, tzinfo=UTC))
    stored = read_sqlite(tmp_path / "calls.sqlite")
    window = {
        u: c for u, c in truth(sim, recordings=False).items()
        if datetime(2026, 10, 30, 5, tzinfo=UTC) <= datetime.fromisoformat(c[2]) < datetime(2026, 11, 2, 5, tzinfo=UTC)
    }  # fmt: skip
    assert stored == window  # every call with its whole timeline
    assert result.failures == 0
    other = [r for r in caplog.records if "answered in UTC offset +0 minutes" in r.getMessage()]
    assert len(other) == 1  # converted, and said once
    days_done = sqlite3.connect(tmp_path / "calls.sqlite").execute("SELECT count(*) FROM export_chunks").fetchone()
    assert days_done == (3,)


@pytest.mark.anyio
async def test_changed_notes_and_transcriptions_are_refreshed(tmp_path: Path) -> None:
    sim = Simulator(calls=120, days=3, seed=32)
    changes = Changes(sim, seed=3)
    spec = ExportSpec(date(2026, 10, 29), date(2026, 11, 2), out=tmp_path / "calls.jsonl", format="jsonl")
    later = datetime(2026, 11, 27, tzinfo=UTC)  # every day long over: finished and skipped by a plain rerun
    async with sim.session() as session:
        await run_export(session, spec, now=later)
        edited, transcribed = changes.edit(6), changes.transcribe(2)
        plain = await run_export(session, spec, now=later)
        stale = read_jsonl(tmp_path / "calls.jsonl")
        refreshed = await run_export(session, attrs.evolve(spec, refresh=True), now=later)
    current = truth(sim, events=False, recordings=False)
    assert plain.changed_calls == 0 and stale != current  # a plain rerun keeps finished days as they were
    assert refreshed.changed_calls == len(set(edited) | set(transcribed))
    assert read_jsonl(tmp_path / "calls.jsonl") == current


@pytest.mark.anyio
async def test_a_call_listed_after_its_day_ended_is_exported_by_a_rerun(tmp_path: Path) -> None:
    sim = Simulator(calls=100, days=3, seed=33)
    yesterday = (sim.now - timedelta(days=1)).date()
    spec = ExportSpec(date(2026, 10, 29), yesterday, out=tmp_path / "calls.sqlite")
    async with sim.session() as session:
        await run_export(session, spec, now=sim.now)
        late = Changes(sim, seed=4).arrive_late(2)  # begun yesterday before midnight, written at hangup
        again = await run_export(session, spec, now=sim.now + timedelta(minutes=5))
    assert set(late) <= set(read_sqlite(tmp_path / "calls.sqlite"))
    assert again.new_calls == 2


def test_a_second_writer_into_one_output_exits_2_naming_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator(calls=30, days=2, seed=34)
    out = tmp_path / "calls.jsonl"
    with served(sim) as env, OutputLock(tmp_path / "calls.jsonl.lock", str(out)):  # as another run holds it
        capsys.readouterr()
        code = run_cli(monkeypatch, env, "export", "--from", FIRST, "--to", LAST, "--out", str(out), "--quiet")
    assert code == 2
    assert f"is in use by process {os.getpid()}" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "calls.jsonl.tmp").exists()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content", "taken"),
    [(b"pbx-async lock\npid 999999999\n", True), (b"", True), (b"my own notes\n", False)],
    ids=["left by a killed run", "empty", "a file of the user's"],
)
async def test_a_stale_lock_is_taken_over_and_a_foreign_file_is_left_alone(
    tmp_path: Path, content: bytes, taken: bool
) -> None:
    sim = Simulator(calls=10, days=1, seed=35)
    lock = tmp_path / "calls.sqlite.lock"
    lock.write_bytes(content)
    run: Callable[..., object] = run_sync
    async with sim.session() as session:
        if taken:
            await run(session, SyncSpec(out=tmp_path / "calls.sqlite", since=date(2026, 11, 1)), now=sim.now)
            assert not lock.exists()  # released: the file goes with it
        else:
            with pytest.raises(Exception, match="no pbx-async wrote it"):
                await run(session, SyncSpec(out=tmp_path / "calls.sqlite", since=date(2026, 11, 1)), now=sim.now)
            assert lock.read_bytes() == content
