"""The benchmark: the simulator over loopback HTTP with injected latency, every scenario, one table.

    python -m benchmarks.run            # full run (a few minutes)
    python -m benchmarks.run --quick    # under a minute

Each scenario runs in its own process against simulator servers in other
processes, so client CPU and peak RSS are the scenario's own. Efficiency is the
Little's-law bound (requests x latency / in flight) over the wall time; for
the list, (1 + ceil((pages - 1) / in flight)) x latency. Ratios are what to
compare: the machine is shared and absolute times drift between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path

from benchmarks.micro import parse_costs
from pbx_async.testing import Simulator, serve_process

ROOT = Path(__file__).resolve().parent.parent


def simulator(calls: int, latency: float, recording_bytes: int) -> AbstractContextManager[str]:
    """The simulator in its own process (a core of its own), seeded like ``Simulator(seed=0)``."""
    return serve_process(calls=calls, days=60, latency=latency, recording_bytes=recording_bytes)


def run_scenario(name: str, base_url: str, latency: float, in_flight: int, items: list[str] | None = None) -> dict:
    args = [sys.executable, "-m", "benchmarks.scenarios", name, base_url, str(latency), str(in_flight)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(items or [], fh)
    try:
        out = subprocess.run([*args, fh.name], capture_output=True, text=True, check=True, cwd=ROOT, timeout=1800)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"scenario {name} failed:\n{exc.stderr}") from None
    finally:
        os.unlink(fh.name)
    result = json.loads(out.stdout)
    result["efficiency"] = result["bound"] / result["wall"]
    result["cpu_us_per_request"] = result["cpu"] / result["requests"] * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts, under a minute")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency in seconds (default 0.05)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="folder for the JSON")
    args = parser.parse_args()
    quick, latency = args.quick, args.latency
    calls = 10_000 if quick else 50_000
    n_details = 1_000 if quick else 5_000
    n_recordings, big = (100, 100_000_000) if quick else (500, 500_000_000)
    n_sequential = 40 if quick else 200
    n_gather = 200 if quick else 1_000  # a plain gather is slow enough that more adds minutes, nothing else

    # Inputs come from the same seeded dataset the servers generate (seed 0).
    truth = Simulator(calls=calls, days=60, seed=0)
    sized = sorted(
        ((len(truth.sim_call(u).events), u) for u in truth.uuids() if len(truth.sim_call(u).events) <= 12),
        reverse=True,
    )
    details_uuids = [u for _, u in sized[:n_details]]
    events_per_call = sum(n for n, _ in sized[:n_details]) / n_details
    recorded = [truth.file_name(u) for u in truth.uuids() if truth.sim_call(u).recorded]

    rows: list[tuple[str, dict]] = []
    with simulator(calls, latency, 1_000_000) as base_url:
        # Warm-up, untimed: the simulator caches the replies it renders, so that in the
        # timed runs it is not the bottleneck (on 2 cores it shares the CPU with the client).
        run_scenario("list", base_url, latency, 32)
        run_scenario("details-raw-aiohttp", base_url, latency, 64, details_uuids)
        rows.append(("list 4 in flight", run_scenario("list", base_url, latency, 4)))
        rows.append(("list 8 in flight", run_scenario("list", base_url, latency, 8)))
        rows.append(("list 32 in flight", run_scenario("list", base_url, latency, 32)))
        rows.append(("list, sequential httpx", run_scenario("list-sequential-httpx", base_url, latency, 1)))
        for width in (32, 64):
            rows.append(
                (f"details {width} in flight", run_scenario("details", base_url, latency, width, details_uuids))
            )
        rows.append(
            ("details 64, raw aiohttp", run_scenario("details-raw-aiohttp", base_url, latency, 64, details_uuids))
        )
        rows.append(
            (
                "details, gather + httpx",
                run_scenario("details-gather-httpx", base_url, latency, 100, details_uuids[:n_gather]),
            )
        )
        rows.append(
            (
                "details, sequential httpx",
                run_scenario("details-sequential-httpx", base_url, latency, 1, details_uuids[:n_sequential]),
            )
        )
        rows.append(
            (
                f"{n_recordings} recordings x 1 MB, 16 in flight",
                run_scenario("recordings", base_url, latency, 16, recorded[:n_recordings]),
            )
        )
    small = Simulator(calls=50, days=60, seed=0)
    big_name = next(small.file_name(u) for u in small.uuids() if small.sim_call(u).recorded)
    with simulator(50, latency, big) as base_url:
        rows.append(
            (f"1 recording x {big // 1_000_000} MB", run_scenario("recordings", base_url, latency, 1, [big_name]))
        )

    micro = parse_costs()
    loop = os.environ.get("PBX_BENCH_LOOP", "asyncio")
    ours = dict(rows)["details 64 in flight"]["cpu_us_per_request"]
    raw = dict(rows)["details 64, raw aiohttp"]["cpu_us_per_request"]
    header = f"{'scenario':38} {'requests':>8} {'wall s':>8} {'bound s':>8} {'eff':>5} {'CPU us/req':>10} {'RSS MB':>7}"
    print(f"client loop {loop}; latency {latency * 1000:.0f} ms; details calls average {events_per_call:.1f} events")
    print(header)
    for label, r in rows:
        print(
            f"{label:38} {r['requests']:>8} {r['wall']:>8.2f} {r['bound']:>8.2f} {r['efficiency']:>5.2f} "
            f"{r['cpu_us_per_request']:>10.0f} {r['rss_mb']:>7.0f}"
        )
    print(f"\nCPU per details request, ours / (raw aiohttp + json.loads): {ours / raw:.2f}")
    print("parse micro-benchmark (us each):", ", ".join(f"{k} {v:.1f}" for k, v in micro.items()))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"{'quick' if quick else 'full'}-{loop}-{stamp}.json"
    report = {
        "latency": latency,
        "quick": quick,
        "client_loop": loop,
        "events_per_details_call": events_per_call,
        "scenarios": {label: r for label, r in rows},
        "cpu_ratio_vs_raw_aiohttp": ours / raw,
        "parse_us": micro,
    }
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


if __name__ == "__main__":
    main()
