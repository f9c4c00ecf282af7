"""The streaming export interrupted: cancelled in-process, or its process killed with SIGKILL at random
points of its overlapped stages; a rerun then completes it, every call, event and recording once."""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import sniffio

from pbx_async import PbxSession
from pbx_async.export import ExportSpec, Progress, run_export
from pbx_async.testing import Simulator, serve_process
from pbx_async.testing._simulator import DEFAULT_AUTH, DEFAULT_CONTAINER
from tests.export.current import read_sqlite, served, truth
from tests.export.test_pipeline import LATER, spec_for


def work_served(sim: Simulator) -> int:
    """Timelines and recordings the simulator has served, over every run so far."""
    return sim.stats["requests /api/call_details.php"] + sim.stats["requests /api/call_recording.php"]


@pytest.mark.slow  # the command runs as a process, five times killed
def test_an_export_killed_at_random_points_and_rerun_holds_every_call_event_and_recording_once(
    tmp_path: Path,
) -> None:
    # Its calls ended days ago by the real clock the command uses: every day of the range is final.
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    sim = Simulator(calls=600, days=4, seed=81, sample_rate=300, latency=0.01, now=now)
    first, last = (now - timedelta(days=4)).date(), now.date()
    out, recordings = tmp_path / "calls.sqlite", tmp_path / "recordings"
    command = [sys.executable, "-m", "pbx_async", "export", "--from", first.isoformat(), "--to", last.isoformat(),
               "--details", "--recordings", str(recordings), "--out", str(out), "--concurrency", "8",
               "--quiet", "--json"]  # fmt: skip
    seed = int(os.environ.get("PBX_KILL_SEED", str(time.time_ns() % 10_000)))
    rng = random.Random(seed)
    print(f"SIGKILL seed {seed} (PBX_KILL_SEED replays it)")
    recorded = [c.uuid for c in sim.truth_calls() if c.recorded]
    work = len(sim) + len(recorded)

    with served(sim) as env:
        # Five kills, each of a run resuming the one before, once the simulator has served a share of the
        # work (by work served, not by time: a loaded machine kills at the same points): while the first
        # days are listed, amid timelines and recordings of several days, near the end.
        for share in sorted(rng.uniform(0.01, 0.9) for _ in range(5)):
            quiet = subprocess.DEVNULL
            process = subprocess.Popen(command, env={**os.environ, **env}, stdout=quiet, stderr=quiet)
            deadline = time.monotonic() + 60
            while work_served(sim) < share * work and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.002)
            process.send_signal(signal.SIGKILL)
            assert process.wait() == -signal.SIGKILL, f"the export ended before {share:.0%} of the work"
        final = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["failures"] == 0
    assert summary["fetched_this_run"]["details"] < len(sim)  # what the killed runs stored was kept

    assert read_sqlite(out) == truth(sim)  # every call with its events and its recording's checksum, each once
    events = sum(len(sim.truth_details(u).events) for u in sim.uuids())
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*), count(DISTINCT uuid) FROM events").fetchone() == (events, events)
        rows = db.execute("SELECT call_uuid, path, size FROM recordings").fetchall()
        chunks = {row[0][:10] for row in db.execute("SELECT start FROM export_chunks")}
    assert (summary["calls"], summary["events"], summary["recordings"]) == (len(sim), events, len(recorded))
    assert sorted(u for u, _, _ in rows) == sorted(recorded)
    for uuid, path, size in rows:
        assert Path(path).stat().st_size == size == len(sim.recording_bytes_of(uuid)), uuid
    assert sorted(p.name for p in recordings.rglob("*") if p.is_file()) == sorted(Path(p).name for _, p, _ in rows)
    assert [p.name for p in tmp_path.rglob("*") if p.suffix in (".part", ".tmp", ".lock")] == []
    days = {(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)}
    assert chunks == days  # every day of the range checkpointed


# -- cancellation ----------------------------------------------------------------------------------------------

# The simulator process's dataset, rebuilt here for its ground truth.
SERVED: dict[str, Any] = {"calls": 150, "days": 4, "seed": 76, "recording_bytes": 3_000}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The simulator in another process, so every descriptor in this one is the client's."""
    with serve_process(latency=0.01, **SERVED) as base_url:
        yield base_url


def live_tasks() -> set[object]:
    """Every task alive now: asyncio's, or Trio's whole task tree."""
    if sniffio.current_async_library() == "asyncio":
        return set(asyncio.all_tasks())
    import trio

    found: set[object] = set()
    root = trio.lowlevel.current_root_task()
    assert root is not None
    todo = [root]
    while todo:
        task = todo.pop()
        found.add(task)
        todo.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return found


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


class CutAt(Progress):
    """Cancels ``scope`` at the export's next checkpoint once it has listed, or stored the timelines of, ``at`` calls.

    The cancellation comes from the event loop's clock, as a timeout's does, wherever the export then
    is (a request, a write, a wait); choosing the moment by progress makes it the same stage on a slow machine.
    """

    def __init__(self, scope: anyio.CancelScope, stage: str, at: int) -> None:
        super().__init__()
        self.scope, self.stage, self.at = scope, stage, at
        self.cut = False

    def _reached(self, count: int) -> None:
        if count >= self.at and not self.cut:
            self.cut = True
            # Due now: it lands at the export's next checkpoint, wherever that is. A few ms later, a
            # batch that stored the last timelines at once could let the export end first.
            self.scope.deadline = anyio.current_time()

    def on_listed(self, count: int) -> None:
        super().on_listed(count)
        if self.stage == "listed":
            self._reached(self.listed)

    def on_detailed(self) -> None:
        super().on_detailed()
        if self.stage == "detailed":
            self._reached(self.detailed)


async def export_from(server: str, spec: ExportSpec, progress: Progress | None = None) -> None:
    async with PbxSession(DEFAULT_AUTH, DEFAULT_CONTAINER, base_url=server, max_concurrency=8) as session:
        await run_export(session, spec, progress, now=LATER)


@pytest.mark.anyio
@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors through /proc")
@pytest.mark.parametrize(("stage", "at"), [("listed", 1), ("detailed", 60)])
async def test_an_export_cancelled_midway_leaves_no_task_or_descriptor_and_a_rerun_completes_it(
    server: str, tmp_path: Path, stage: str, at: int
) -> None:
    baseline, before = open_fds(), live_tasks()
    spec = spec_for(tmp_path)
    with anyio.move_on_after(60) as cut:  # the deadline moves to the moment chosen
        await export_from(server, spec, CutAt(cut, stage, at))
    assert cut.cancelled_caught, "the export ended before it was cancelled"
    await anyio.sleep(0.05)  # closing sockets finishes on the next loop turns
    assert live_tasks() == before, "tasks left behind"
    assert open_fds() <= baseline, "descriptors left behind"
    await export_from(server, spec)
    assert read_sqlite(spec.out) == truth(Simulator(**SERVED))  # every call, event and recording, each once
    assert not [p for p in tmp_path.rglob("*") if p.suffix in (".part", ".tmp", ".lock")]
