"""Keeping an output current (``run_sync``) against the simulator over loopback, as the server changes.

A first sync, then server-side changes (new calls, late calls dated
yesterday, changed notes/flag/severity, new transcriptions), then a second
sync: the output equals the server's ground truth, every call once, and the
counts say what changed. For SQLite, JSON lines and PostgreSQL; and for
shards planned with a lookback and run with refresh into PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pbx_async import PbxSession, ValidationError
from pbx_async.export import (
    ShardResult,
    SyncSpec,
    Window,
    Work,
    open_sink,
    plan_shards,
    run_shard,
    run_sync,
    session_for,
)
from pbx_async.export._accounts import parse_accounts
from pbx_async.export._sync import spans
from pbx_async.testing import Changes, Simulator, serve
from tests.export.current import read_jsonl, read_postgres, read_sqlite, truth

SINCE = date(2026, 10, 25)  # before every simulated call


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the PostgreSQL sink is asyncpg's


def requests(sim: Simulator) -> dict[str, int]:
    stats = sim.stats
    return {
        "list": stats["requests /api/call_list.php"],
        "details": stats["requests /api/call_details.php"],
        "recordings": stats["requests /api/call_recording.php"]
        + sum(n for k, n in stats.items() if k.startswith("requests /recordings/")),
    }


@pytest.mark.anyio
@pytest.mark.parametrize("kind", ["sqlite", "jsonl", "postgresql"])
async def test_a_second_sync_after_server_changes_equals_the_ground_truth(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim = Simulator(calls=300, days=4, seed=21, sample_rate=200)
    changes = Changes(sim, seed=5)
    recordings = tmp_path / "recordings"
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        spec = SyncSpec(sink=url, since=SINCE, details=True, recordings=recordings)
    else:
        spec = SyncSpec(out=tmp_path / f"calls.{kind}", format=kind, since=SINCE, details=True, recordings=recordings)

    def output() -> dict[str, Any]:
        if kind == "postgresql":
            return read_postgres(url)
        return read_sqlite(tmp_path / "calls.sqlite") if kind == "sqlite" else read_jsonl(tmp_path / "calls.jsonl")

    async with serve(sim) as base_url, PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
        first = await run_sync(session, spec, now=sim.now)
        assert (first.new_calls, first.changed_calls, first.failures, first.incomplete) == (len(sim), 0, 0, 0)
        assert output() == truth(sim)

        edited = changes.edit(12)
        transcribed = changes.transcribe(4)
        arrived = changes.arrive(7)
        late = changes.arrive_late(3)  # begun before the last midnight, listed only now
        changes.advance(600)
        before = requests(sim)
        second = await run_sync(session, spec, now=sim.now)
        made = {k: n - before[k] for k, n in requests(sim).items()}

    assert output() == truth(sim)  # every call once, each as the server has it now
    assert second.new_calls == len(arrived) + len(late)
    assert second.changed_calls == len(set(edited) | set(transcribed))
    assert (second.failures, second.incomplete) == (0, 0)
    assert second.summary["new_calls"] == second.new_calls and second.summary["changed_calls"] == second.changed_calls
    # One timeline and one download per new call; changed calls cost nothing beyond the listing.
    recorded = sum(sim.truth_call(u).recorded for u in [*arrived, *late])
    assert (made["details"], made["recordings"]) == (len(arrived) + len(late), recorded)
    assert second.watermark == sim.now
    for path in tmp_path.rglob("*"):  # the key is in no file written (the output, its state, its recordings)
        assert path.is_dir() or sim.auth.encode() not in path.read_bytes(), path


@pytest.mark.anyio
async def test_first_seen_and_last_changed_are_recorded_on_each_call(tmp_path: Path) -> None:
    sim = Simulator(calls=80, days=2, seed=22)
    changes = Changes(sim, seed=1)
    out = tmp_path / "calls.sqlite"
    async with sim.session() as session:
        first_now = sim.now
        await run_sync(session, SyncSpec(out=out, since=SINCE), now=first_now)
        edited = set(changes.edit(5))
        arrived = set(changes.arrive(2))
        changes.advance(60)
        await run_sync(session, SyncSpec(out=out, since=SINCE), now=sim.now)
    import sqlite3

    rows = sqlite3.connect(out).execute("SELECT uuid, first_seen, last_changed FROM calls").fetchall()
    seen = {u: (datetime.fromisoformat(f), datetime.fromisoformat(c)) for u, f, c in rows}
    for uuid, (first_seen, last_changed) in seen.items():
        expected_first = sim.now if uuid in arrived else first_now
        expected_change = sim.now if uuid in edited | arrived else first_now
        assert (first_seen, last_changed) == (expected_first, expected_change), uuid


@pytest.mark.anyio
async def test_the_first_sync_needs_since_and_later_ones_keep_their_filters(tmp_path: Path) -> None:
    sim = Simulator(calls=20, days=1, seed=23)
    out = tmp_path / "calls.sqlite"
    async with sim.session() as session:
        with pytest.raises(ValidationError, match="needs --since"):
            await run_sync(session, SyncSpec(out=out), now=sim.now)
        await run_sync(session, SyncSpec(out=out, since=SINCE), now=sim.now)
        again = await run_sync(session, SyncSpec(out=out), now=sim.now)  # later runs start from the watermark
        assert again.new_calls == 0
        with pytest.raises(ValidationError, match="other filters"):
            await run_sync(session, SyncSpec(out=out, filters={"show_internal": False}), now=sim.now)


def test_spans_cut_at_midnight_in_the_offset_and_stop_before_now() -> None:
    east = timedelta(hours=-5)
    start = datetime(2026, 11, 1, 20, 30, tzinfo=UTC)
    now = datetime(2026, 11, 3, 6, 0, 7, tzinfo=UTC)
    windows = list(spans(start, now, -300))
    assert [(w.start.isoformat(), w.end.isoformat()) for w in windows] == [
        ("2026-11-01T15:30:00-05:00", "2026-11-01T23:59:59-05:00"),
        ("2026-11-02T00:00:00-05:00", "2026-11-02T23:59:59-05:00"),
        ("2026-11-03T00:00:00-05:00", "2026-11-03T01:00:06-05:00"),
    ]
    assert all(w.start.utcoffset() == east for w in windows)
    assert list(spans(now, now, 0)) == []
    assert windows == [Window(w.start, w.end) for w in windows]


@pytest.mark.anyio
async def test_shards_planned_with_a_lookback_and_run_with_refresh_keep_a_warehouse_current(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = Simulator.accounts(2, calls=150, days=3)
    for i, account in enumerate(sim.all_accounts()):
        monkeypatch.setenv(f"KEY_{i}", account.auth)
    async with serve(sim) as base_url:
        accounts = parse_accounts({
            "defaults": {"base_url": base_url},
            "account": [
                {"name": "a", "container_id": "123456", "auth_env": "KEY_0", "utc_offset": -300},
                {"name": "b", "container_id": "123456", "tenant_id": 1, "auth_env": "KEY_1"},
            ],
        })  # fmt: skip

        async def run_plan(now: datetime, **window: Any) -> list[ShardResult]:
            shards = await plan_shards(accounts, now=now, pages=1, **window)
            sink = await open_sink(postgres_url)
            try:
                results = []
                for shard in shards:
                    async with session_for(shard) as session:
                        results.append(await run_shard(session, sink, shard, Work(details=True), now=now, refresh=True))
                return results
            finally:
                await sink.close()

        await run_plan(sim.now, first=SINCE, last=sim.now.date())
        touched = []
        for i, account in enumerate(sim.all_accounts()):
            changes = Changes(account, seed=i)
            edited, transcribed = changes.edit(5), changes.transcribe(2)
            touched.append((len(set(edited) | set(transcribed)), len(changes.arrive(4)) + len(changes.arrive_late(2))))
            changes.advance(600)
        results = await run_plan(sim.now, lookback=timedelta(hours=48))
    assert read_postgres(postgres_url) == truth(sim, recordings=False)
    assert sum(r.changed_calls for r in results) == sum(changed for changed, _ in touched)
    assert sum(r.new_calls for r in results) == sum(new for _, new in touched)
    assert all(r.failures == 0 for r in results)
