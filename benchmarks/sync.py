"""Keep-current benchmark: one ``pbx-async sync`` of a 10,000-call output after 1% changed and 50 new calls.

    python -m benchmarks.sync                # about three minutes (the first sync builds the output)
    python -m benchmarks.sync --latency 0    # the client's own cost

The simulator (a week of 10,000 calls, every reply ``--latency`` late) runs
in this process on a thread, so the benchmark can change its calls between
runs. A first ``pbx-async sync --details --recordings`` builds the output;
then 1% of the calls (100, among the 48 hours a run lists again: people work
the calls the next day) get new notes, flag and severity, and 50 new calls
arrive. The second sync is measured: requests made by kind (counted by the
simulator), wall time of the command (process start included, as cron sees
it), and what it reported. The goal for requests is the lookback's list
pages, plus one timeline and one download per new call, nothing else.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pbx_async.export._sync import LOOKBACK, spans
from pbx_async.testing import Changes, Simulator
from tests.export.current import read_sqlite, served, truth

ROOT = Path(__file__).resolve().parent.parent


def _kinds(stats: Counter[str]) -> dict[str, int]:
    return {
        "list": stats["requests /api/call_list.php"],
        "details": stats["requests /api/call_details.php"],
        "downloads": stats["requests /api/call_recording.php"]
        + sum(n for k, n in stats.items() if k.startswith("requests /recordings/")),
    }


def _sync(command: list[str], env: dict[str, str], sim: Simulator) -> tuple[dict[str, Any], dict[str, int], float]:
    before = _kinds(sim.stats)
    started = time.perf_counter()
    done = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    after = _kinds(sim.stats)
    return json.loads(done.stdout), {k: after[k] - before[k] for k in after}, wall


def _list_pages(sim: Simulator, start: datetime, now: datetime) -> int:
    """What listing the lookback costs at best: a request per window, one per 500 calls."""
    pages = 0
    for window in spans(start, now, 0):
        calls = sum(window.start <= c.date <= window.end + timedelta(seconds=1) for c in sim.truth_calls())
        pages += max(1, math.ceil(calls / 500))
    return pages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds added to every reply (default 0.05)")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    sim = Simulator(calls=args.calls, days=7, seed=1, recording_bytes=20_000, latency=args.latency, now=now)
    changes = Changes(sim, seed=2)
    with tempfile.TemporaryDirectory() as folder, served(sim) as env:
        out = Path(folder) / "calls.sqlite"
        command = [sys.executable, "-m", "pbx_async", "sync", "--since", (now - timedelta(days=8)).date().isoformat(),
                   "--details", "--recordings", str(Path(folder) / "recordings"), "--out", str(out),
                   "--concurrency", str(args.concurrency), "--json"]  # fmt: skip
        first, first_requests, first_wall = _sync(command, env, sim)
        watermark = datetime.fromisoformat(first["watermark"])
        changed = changes.edit(args.calls // 100)
        arrived = changes.arrive(50)
        second, made, wall = _sync(command, env, sim)
        assert read_sqlite(out) == truth(sim), "the output is not the ground truth"
        recorded = sum(sim.truth_call(u).recorded for u in arrived)
        goal = {"list": _list_pages(sim, watermark - LOOKBACK, datetime.fromisoformat(second["watermark"])),
                "details": len(arrived), "downloads": recorded}  # fmt: skip
    result = {
        "when": now.isoformat(),
        "calls": args.calls,
        "latency_s": args.latency,
        "concurrency": args.concurrency,
        "first_sync": {"requests": first_requests, "wall_s": round(first_wall, 2)},
        "second_sync": {
            "changed_on_server": len(changed),
            "new_on_server": len(arrived),
            "reported": {k: second[k] for k in ("new_calls", "changed_calls", "failures", "incomplete_calls")},
            "requests": made,
            "goal": goal,
            "wall_s": round(wall, 2),
            "client_elapsed_s": second["elapsed_seconds"],
        },
    }
    print(f"first sync: {args.calls} calls, requests {first_requests}, {first_wall:.1f} s")
    print(f"second sync: {len(changed)} changed and {len(arrived)} new on the server; reported "
          f"{second['changed_calls']} changed, {second['new_calls']} new")  # fmt: skip
    print(f"  requests {made} (goal {goal}), wall {wall:.2f} s (inside the command {second['elapsed_seconds']} s)")
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    (results / f"sync-{now:%Y%m%dT%H%M%S}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
