"""The real ``pbx-async`` processes: a sync killed with SIGKILL at random points, two writers into one output."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pbx_async.testing import Changes, Simulator
from tests.export.current import read_jsonl, served, truth

pytestmark = pytest.mark.slow  # every test runs the command as a process


def pbx(*args: str) -> list[str]:
    return [sys.executable, "-m", "pbx_async", *args]


def recent_sim(**options: object) -> Simulator:
    """A simulator whose calls end now: the command's clock is the real one."""
    return Simulator(now=datetime.now(UTC).replace(microsecond=0), **options)  # type: ignore[arg-type]


def work_served(sim: Simulator) -> int:
    """Timelines and recordings the simulator has served: how far a sync has got."""
    return sim.stats["requests /api/call_details.php"] + sim.stats["requests /api/call_recording.php"]


def test_a_sync_killed_at_random_points_and_rerun_ends_equal_to_the_ground_truth(tmp_path: Path) -> None:
    sim = recent_sim(calls=500, days=3, seed=41, sample_rate=300, latency=0.01)
    changes = Changes(sim, seed=42)
    out, recordings = tmp_path / "calls.jsonl", tmp_path / "recordings"
    since = (sim.now - timedelta(days=4)).date().isoformat()
    command = pbx("sync", "--since", since, "--details", "--recordings", str(recordings), "--out", str(out),
                  "--concurrency", "4", "--quiet", "--json")  # fmt: skip
    seed = int(os.environ.get("PBX_KILL_SEED", str(time.time_ns() % 10_000)))
    rng = random.Random(seed)
    print(f"SIGKILL seed {seed} (PBX_KILL_SEED replays it)")
    work = len(sim) + sum(c.recorded for c in sim.truth_calls())

    def killed_at(target: int, env: dict[str, str]) -> int:
        """Start the sync, SIGKILL it once the simulator has served ``target`` timelines and recordings."""
        quiet = subprocess.DEVNULL
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=quiet, stderr=quiet)
        deadline = time.monotonic() + 120
        while work_served(sim) < target and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        process.send_signal(signal.SIGKILL)
        return process.wait()

    with served(sim) as env:
        # The first run killed twice midway (by work served, not by time: a loaded machine kills at the same points).
        for share in sorted(rng.uniform(0.05, 0.9) for _ in range(2)):
            assert killed_at(int(share * work), env) == -signal.SIGKILL, "the sync ended before it could be killed"
        edited, transcribed = changes.edit(15), changes.transcribe(4)
        arrived, late = changes.arrive(12), changes.arrive_late(3)
        killed_at(work_served(sim) + rng.randint(0, 20), env)  # anywhere in the run that catches up, or after it
        final = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert (summary["failures"], summary["incomplete_calls"]) == (0, 0)
    assert read_jsonl(out) == truth(sim)  # every call, event and recording once, as the server has them now
    assert summary["calls"] == len(sim)
    assert {*arrived, *late, *edited, *transcribed} <= set(read_jsonl(out))
    assert summary["fetched_this_run"]["details"] < len(sim)  # what the killed runs stored was not fetched again
    leftovers = [p.name for p in tmp_path.rglob("*") if p.suffix in (".part", ".tmp", ".lock")]
    assert leftovers == []


def test_two_exports_into_one_output_at_once_one_runs_and_the_other_exits_2(tmp_path: Path) -> None:
    sim = Simulator(calls=400, days=3, seed=43, latency=0.02)
    out = tmp_path / "calls.jsonl"
    command = pbx("export", "--from", "2026-10-30", "--to", "2026-11-02", "--details", "--out", str(out),
                  "--concurrency", "4", "--quiet", "--json")  # fmt: skip
    with served(sim) as env:
        first = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not (tmp_path / "calls.jsonl.lock").exists() and time.monotonic() < deadline:
            time.sleep(0.01)  # the first holds its lock
        second = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=120)
        first_out, first_err = first.communicate(timeout=300)
    assert second.returncode == 2, second.stderr
    assert f"is in use by process {first.pid}" in second.stderr
    assert "Traceback" not in second.stderr
    assert first.returncode == 0, first_err
    assert json.loads(first_out)["calls"] == len(read_jsonl(out)) == 400
    assert not list(tmp_path.glob("*.tmp")) and not (tmp_path / "calls.jsonl.lock").exists()
