"""The benchmark: every scenario against servers on loopback with injected latency, one table.

    python -m benchmarks.run            # full run (about a quarter of an hour)
    python -m benchmarks.run --quick    # a few minutes
    python -m benchmarks.run --only "64 in flight" --only parse --repeat 3   # a few rows, raw beside them

Details and listing go to benchmarks/server.py, which builds and encodes every
reply per request (10 events a details reply, 500 rows a page) after its
latency; recordings to the simulator (``pbx-async simulate``). Each scenario
runs in its own client process, so CPU time and peak RSS are its own. Raw
aiohttp + ``json.loads`` runs in the same run at each width as the reference.
Efficiency is the Little's-law bound (requests x latency / in flight) over
the wall time; for the list, (1 + ceil((pages - 1) / in flight)) x latency.
Then parsing from bytes (benchmarks/micro.py) and the rate-limited servers
(benchmarks/rate_limits.py). Ratios are what to compare: the machine is
shared and absolute times drift between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from benchmarks import rate_limits
from benchmarks.micro import parse_costs
from benchmarks.server import serve
from pbx_async.testing import Simulator, serve_process

ROOT = Path(__file__).resolve().parent.parent


def run_scenario(
    name: str, base_url: str, latency: float, in_flight: int, items: list[str] | None = None, loop: str = ""
) -> dict[str, Any]:
    args = [sys.executable, "-m", "benchmarks.scenarios", name, base_url, str(latency), str(in_flight)]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(items or [], fh)
    env = {**os.environ, "PBX_BENCH_LOOP": loop} if loop else None
    try:
        out = subprocess.run(
            [*args, fh.name], capture_output=True, text=True, check=True, cwd=ROOT, timeout=1800, env=env
        )
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"scenario {name} failed:\n{exc.stderr}") from None
    finally:
        os.unlink(fh.name)
    result: dict[str, Any] = json.loads(out.stdout)
    result["efficiency"] = result["bound"] / result["wall"]
    result["cpu_us_per_request"] = result["cpu"] / result["requests"] * 1e6
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller counts")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency in seconds (default 0.05)")
    parser.add_argument("--seconds", type=float, help="each rate-limited run's length (default 30, quick 10)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="folder for the JSON")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="run only the rows whose label holds TEXT (repeatable; raw aiohttp runs at their widths; "
        "'parse' and 'rate' name the parsing and rate-limited parts)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="run the details rows this many times, interleaved")
    args = parser.parse_args()
    quick, latency = args.quick, args.latency
    n_details = 1_000 if quick else 3_000
    n_recordings, big = (100, 100_000_000) if quick else (500, 500_000_000)
    uuids = [f"c-{i:06d}" for i in range(4 * n_details)]
    rows: list[tuple[str, dict[str, Any]]] = []

    def wanted(label: str) -> bool:
        return not args.only or any(text in label for text in args.only)

    def add(label: str, result: dict[str, Any]) -> None:
        rows.append((label, result))
        print(f"{label:44} eff {result['efficiency']:.2f}  cpu {result['cpu_us_per_request']:7.0f} us", flush=True)

    details_rows = [
        (width, name, f"details, {width} in flight, {label}")
        for width in (32, 64)
        for name, label in (
            ("details-raw-aiohttp", "raw aiohttp + json.loads"),
            ("details", "async with"),
            ("details-bare", "bare async for"),
            ("details-raw-aiohttp-kept", "raw aiohttp + json.loads, kept a batch at a time"),
        )
    ]
    widths = {width for width, _, label in details_rows if wanted(label)}  # raw runs beside what is asked
    with serve(latency=latency, calls=50_000) as base_url:
        run_scenario("details-raw-aiohttp", base_url, latency, 64, uuids[:500])  # warm-up, untimed
        for width in (4, 8, 32):
            if wanted(label := f"list 50,000 calls, {width} in flight"):
                add(label, run_scenario("list", base_url, latency, width))
            if wanted(label := f"list 50,000 calls, {width} in flight, bare async for"):
                add(label, run_scenario("list-bare", base_url, latency, width))
        for _ in range(args.repeat):
            for width, name, label in details_rows:
                if wanted(label) or (width in widths and name == "details-raw-aiohttp"):
                    add(label, run_scenario(name, base_url, latency, width, uuids[:n_details]))
        if wanted(label := f"details x4 ({4 * n_details:,}), 64 in flight, async with"):
            add(label, run_scenario("details", base_url, latency, 64, uuids))
        for name, label in (("details", "async with"), ("details-bare", "bare async for")):
            if wanted(f"details, 64 in flight, {label}, Trio"):
                add(
                    f"details, 64 in flight, {label}, Trio",
                    run_scenario(name, base_url, latency, 64, uuids[:n_details], loop="trio"),
                )
        if wanted(label := "details, gather + plain httpx.AsyncClient"):
            add(label, run_scenario("details-gather-httpx", base_url, latency, 100, uuids[: n_details // 3]))
        if wanted(label := "details, sequential httpx loop"):
            add(label, run_scenario("details-sequential-httpx", base_url, latency, 1, uuids[:100]))
    if wanted(label := f"{n_recordings} recordings x 1 MB, 16 in flight"):
        truth = Simulator(calls=5_000, days=60, seed=0)
        recorded = [f"{u}|{truth.file_name(u)}" for u in truth.uuids() if truth.sim_call(u).recorded]
        with serve_process(calls=5_000, days=60, latency=latency, recording_bytes=1_000_000) as base_url:
            add(label, run_scenario("recordings", base_url, latency, 16, recorded[:n_recordings]))
    if wanted(label := f"1 recording x {big // 1_000_000} MB"):
        small = Simulator(calls=50, days=60, seed=0)
        big_name = next(f"{u}|{small.file_name(u)}" for u in small.uuids() if small.sim_call(u).recorded)
        with serve_process(calls=50, days=60, latency=latency, recording_bytes=big) as base_url:
            add(label, run_scenario("recordings", base_url, latency, 1, [big_name]))

    micro = parse_costs() if wanted("parse") else {}
    limited: list[dict[str, Any]] = []
    for server, (options, calls) in rate_limits.SERVERS.items() if wanted("rate") else ():
        for limit in ("auto", 4, 16, 64):
            result = rate_limits.run_real(server, options, limit, calls(args.seconds or (10 if quick else 30)))
            limited.append(result)
            print(json.dumps(result), flush=True)

    by_label: dict[str, dict[str, Any]] = {}  # with --repeat, the median run of each row by efficiency
    for label in dict(rows):
        runs = sorted((r for row, r in rows if row == label), key=lambda r: r["efficiency"])
        by_label[label] = runs[len(runs) // 2]
    print(f"\nlatency {latency * 1000:.0f} ms; 10 events a details reply; 500 rows a page")
    print(f"{'scenario':52} {'requests':>8} {'wall s':>7} {'bound s':>7} {'eff':>5} {'CPU us/req':>10} {'RSS MB':>6}")
    for label, r in rows:
        print(
            f"{label:52} {r['requests']:>8} {r['wall']:>7.2f} {r['bound']:>7.2f} {r['efficiency']:>5.2f} "
            f"{r['cpu_us_per_request']:>10.0f} {r['rss_mb']:>6.0f}"
        )
    ratios: dict[str, float] = {}
    for width in (32, 64):
        raw_label = f"details, {width} in flight, raw aiohttp + json.loads"
        raw = by_label.get(raw_label)
        for label in ("async with", "bare async for"):
            if raw is None or (ours := by_label.get(f"details, {width} in flight, {label}")) is None:
                continue
            ratios[f"{width} in flight, {label}: efficiency / raw's"] = ours["efficiency"] / raw["efficiency"]
            ratios[f"{width} in flight, {label}: CPU / raw's"] = ours["cpu_us_per_request"] / raw["cpu_us_per_request"]
            if args.repeat > 1:  # the medians of the runs' own ratios, each against the raw run beside it
                ours_runs = _runs(rows, f"details, {width} in flight, {label}")
                pairs = list(zip(ours_runs, _runs(rows, raw_label), strict=True))
                for key, name in (("efficiency", "efficiency"), ("cpu_us_per_request", "CPU")):
                    paired = sorted(o[key] / r[key] for o, r in pairs)
                    ratios[f"{width} in flight, {label}: {name} / raw's, median of pairs"] = paired[len(paired) // 2]
        # Context, not a criterion: bare against a raw client that also holds its results a batch at a time.
        kept = by_label.get(f"details, {width} in flight, raw aiohttp + json.loads, kept a batch at a time")
        if kept is not None and (bare := by_label.get(f"details, {width} in flight, bare async for")) is not None:
            ratios[f"{width} in flight, bare async for: CPU / raw kept's"] = (
                bare["cpu_us_per_request"] / kept["cpu_us_per_request"]
            )
            if raw is not None:
                kept_cpu = kept["cpu_us_per_request"] / raw["cpu_us_per_request"]
                ratios[f"{width} in flight, raw kept: CPU / raw's"] = kept_cpu
    asyncio_64 = by_label.get("details, 64 in flight, async with")
    for label in ("async with", "bare async for"):
        if asyncio_64 is not None and (trio := by_label.get(f"details, 64 in flight, {label}, Trio")) is not None:
            ratios[f"Trio wall / asyncio's, 64 in flight, {label}"] = trio["wall"] / asyncio_64["wall"]
    for label, value in ratios.items():
        print(f"{label:60} {value:6.2f}")
    print("parse (us each; rows/s; ratio):", ", ".join(f"{k} {v:,.1f}" for k, v in micro.items()))

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = args.out / f"{'quick' if quick else 'full'}-{stamp}.json"
    report = {
        "latency": latency,
        "quick": quick,
        "scenarios": by_label,
        "runs": rows,
        "ratios": ratios,
        "parse": micro,
        "rate_limited": limited,
        "load_average": os.getloadavg(),
    }
    path.write_text(json.dumps(report, indent=2))
    print(f"written to {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")


def _runs(rows: list[tuple[str, dict[str, Any]]], label: str) -> list[dict[str, Any]]:
    return [result for row, result in rows if row == label]


if __name__ == "__main__":
    main()
