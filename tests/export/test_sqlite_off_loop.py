"""The SQLite sink works off the event loop: another process holding the file's write lock never stalls it.

Several processes may share one SQLite file (shards, syncs); a writer waits for
the lock in a worker thread, so the loop keeps serving timers and sockets.
"""

from __future__ import annotations

import gc
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import anyio.abc
import anyio.lowlevel
import pytest

from pbx_async import PbxSession
from pbx_async.export import ExportSpec, run_export
from pbx_async.export.sinks import Account
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator, serve

pytestmark = pytest.mark.anyio
HOLD = 2.0  # seconds the other process keeps the write lock

# Another process: takes the write lock, says so, keeps it HOLD seconds, commits.
_HOLDER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


async def _tick(
    gaps: list[tuple[float, float]], *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
) -> None:
    """Wake every 5 ms and record when, and how long each sleep really took: the loop's stalls."""
    last = time.perf_counter()
    task_status.started()
    while True:
        await anyio.sleep(0.005)
        now = time.perf_counter()
        gaps.append((now, now - last))
        last = now


async def test_an_export_waiting_for_another_processes_write_lock_never_stalls_the_loop(tmp_path: Path) -> None:
    sim = Simulator(calls=40, days=2, seed=3)
    out = tmp_path / "calls.sqlite"
    await (await SqliteSink.open(out)).close()  # the file exists, so the other process can lock it
    spec = ExportSpec((sim.now - timedelta(days=2)).date(), sim.now.date(), out=out, details=True)
    gaps: list[tuple[float, float]] = []
    async with (
        serve(sim) as base_url,
        PbxSession(sim.auth, sim.container_id, base_url=base_url) as session,
        await anyio.open_process([sys.executable, "-c", _HOLDER, str(out), str(HOLD)]) as holder,
    ):
        assert holder.stdout is not None
        assert (await holder.stdout.receive()).startswith(b"locked")
        locked = time.perf_counter()
        released: list[float] = []

        async def commits() -> None:
            assert await holder.wait() == 0
            released.append(time.perf_counter())

        async with anyio.create_task_group() as tasks:
            await tasks.start(_tick, gaps)  # ticking before the export begins
            tasks.start_soon(commits)
            result = await run_export(session, spec, now=sim.now)
            assert released  # the export could not finish before the other process let go
            tasks.cancel_scope.cancel()
    assert result.calls == len(sim) and result.failures == 0
    # The stalls begun while the lock was held (one blocked on it would end after). The simulator
    # serves from a thread of this process: its work after the lock is let go is not the sink's.
    stall = max(gap for woke, gap in gaps if locked <= woke - gap < released[0])
    print(f"longest event loop stall while another process held the lock {HOLD:.0f} s: {stall * 1000:.1f} ms")
    assert stall < 0.050


class _TrackedCursor:
    """A cursor that notes the thread it is let go on (closed or dropped)."""

    def __init__(self, cursor: sqlite3.Cursor, released: list[str]) -> None:
        self._cursor, self._released = cursor, released

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Any:
        return iter(self._cursor)

    def close(self) -> None:
        self._released.append(threading.current_thread().name)
        self._cursor.close()

    def __del__(self) -> None:
        self._released.append(threading.current_thread().name)


class _TrackedConnection:
    def __init__(self, db: sqlite3.Connection, released: list[str]) -> None:
        self._db, self._released = db, released

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def execute(self, *args: Any) -> _TrackedCursor:
        return _TrackedCursor(self._db.execute(*args), self._released)


async def test_no_cursor_is_let_go_on_the_event_loop_while_other_stages_use_the_connection(tmp_path: Path) -> None:
    # The pipeline's stages call the sink at once: a cursor finalised on the loop's thread while a
    # worker thread runs a statement on the same connection is SQLITE_MISUSE (or worse).
    sink = await SqliteSink.open(tmp_path / "calls.sqlite")
    released: list[str] = []
    real = sink.db
    sink.db = _TrackedConnection(real, released)  # type: ignore[assignment]
    try:
        await sink.set_meta("spec", "{}")
        await sink.mark_day("2026-11-01", datetime(2026, 11, 1, 23, 59, 59, tzinfo=UTC))
        assert await sink.meta("spec") == "{}" and await sink.day_done("2026-11-01")
        await sink.mark_shard("k", Account("123456", 0), datetime(2026, 11, 1, tzinfo=UTC), datetime.now(UTC))
        await sink.counts()
        gc.collect()
        loop_thread = threading.current_thread().name
        assert released and loop_thread not in released
    finally:
        sink.db = real
        await sink.close()


async def test_a_sink_opened_while_another_connection_holds_the_files_lock_waits_for_it(tmp_path: Path) -> None:
    # Shards and syncs open one file beside each other: switching it to WAL meets their locks.
    path = tmp_path / "calls.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("CREATE TABLE t (x)")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.5, lambda: (other.execute("COMMIT"), other.close()))
    release.start()
    try:
        sink = await SqliteSink.open(path)
    finally:
        release.join()
    try:
        assert await sink.run(lambda: sink.db.execute("PRAGMA journal_mode").fetchone()[0]) == "wal"
    finally:
        await sink.close()


async def test_a_big_batch_of_timelines_gives_the_loop_turns_while_its_rows_are_made(tmp_path: Path) -> None:
    # Rows are made on the event loop (made on the worker thread they held the GIL for long
    # runs); a few calls at a time, so replies in flight are read between them.
    sim = Simulator(calls=300, seed=4)
    batch = [sim.truth_details(c.uuid) for c in sim.truth_calls()[:200]]
    sink = await SqliteSink.open(tmp_path / "calls.sqlite")
    turns = 0
    seen_at_store: list[int] = []
    real_run = sink.run

    stop_ticking = anyio.Event()

    async def run(function: Any, *args: Any) -> Any:
        seen_at_store.append(turns)  # how often the loop ran other tasks before the rows were ready
        # The rows are made: a ticker spinning on the loop would only compete with the worker
        # thread for the GIL (on Trio that made the store take 30 s).
        stop_ticking.set()
        return await real_run(function, *args)

    async def ticker() -> None:
        nonlocal turns
        while not stop_ticking.is_set():
            await anyio.lowlevel.checkpoint()
            turns += 1

    try:
        await sink.upsert_calls(Account(sim.container_id, sim.tenant_id), [d.call for d in batch])
        sink.run = run  # type: ignore[method-assign]
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker)
            await anyio.lowlevel.checkpoint()
            start = turns
            await sink.save_details(batch)
            tg.cancel_scope.cancel()
        assert seen_at_store[0] - start >= 200 // 16 - 1
        assert len(await sink.details_missing([d.call.uuid for d in batch])) == 0
    finally:
        await sink.close()
