"""Scale-out benchmark: calls per second into PostgreSQL with 1, 2, 4 and 8 shard processes.

    python -m benchmarks.shards                  # about 5 minutes
    python -m benchmarks.shards --quick          # about a minute
    python -m benchmarks.shards --postgres postgresql://postgres@127.0.0.1:5432/postgres

The simulator serves four accounts in a process of its own, every reply 50 ms
late. ``pbx-async plan`` cuts them into shards of at most one page; each run
executes that same plan with ``pbx-async export --shard ... --details`` processes
(GNU-parallel style: N at a time, the next shard when one ends), into a fresh
database of one PostgreSQL server (the one given, or a throwaway cluster).
Reported per N: wall seconds, calls per second (every call with its events),
speedup over one process and efficiency (speedup / N), the CPU seconds the
shard processes used per 1,000 calls, the cores they kept busy, and the cores
the whole machine kept busy (shards, simulator, PostgreSQL and any neighbour),
all measured in this one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

from pbx_async.testing import Simulator, serve_process
from tests.postgres import fresh_database, server

ROOT = Path(__file__).resolve().parent.parent
ACCOUNTS = 4


def _accounts_file(folder: Path, base_url: str) -> tuple[Path, dict[str, str]]:
    sim = Simulator.accounts(ACCOUNTS, calls=1)  # only for the accounts' ids and keys
    lines, env = [f'[defaults]\nbase_url = "{base_url}"\n'], {}
    for i, account in enumerate(sim.all_accounts()):
        lines.append(
            f'[[account]]\nname = "a{i}"\ncontainer_id = "{account.container_id}"\n'
            f'tenant_id = {account.tenant_id}\nauth_env = "BENCH_KEY_{i}"\n'
        )
        env[f"BENCH_KEY_{i}"] = account.auth
    path = folder / "accounts.toml"
    path.write_text("\n".join(lines))
    return path, env


def _run_plan(shards: list[str], processes: int, sink: str, env: dict[str, str], concurrency: int) -> float:
    queue, running = list(shards), list[subprocess.Popen[bytes]]()
    started = time.perf_counter()
    while queue or running:
        while queue and len(running) < processes:
            command = [sys.executable, "-m", "pbx_async", "export", "--shard", queue.pop(0), "--sink", sink,
                       "--details", "--quiet", "--concurrency", str(concurrency)]  # fmt: skip
            running.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL))
        for process in list(running):
            if process.poll() is not None:
                if process.returncode != 0:
                    raise RuntimeError(f"a shard process exited {process.returncode}")
                running.remove(process)
        time.sleep(0.005)
    return time.perf_counter() - started


def _machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]
    return (sum(fields) - idle) / tick, sum(fields) / tick


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer calls")
    parser.add_argument("--latency", type=float, default=0.05, help="server latency in seconds (default 0.05)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight per process (default 8)")
    parser.add_argument("--processes", default="1,2,4,8", help="shard processes to compare (default 1,2,4,8)")
    parser.add_argument("--postgres", help="URL of a server's maintenance database (default: a throwaway cluster)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results", help="folder for the JSON")
    args = parser.parse_args()
    per_account = 1_000 if args.quick else 4_000
    pages = 1 if args.quick else 2
    counts = [int(n) for n in args.processes.split(",")]
    with ExitStack() as stack, tempfile.TemporaryDirectory() as tmp:
        if args.postgres:
            os.environ["PBX_TEST_POSTGRES"] = args.postgres
        postgres = stack.enter_context(server())
        base_url = stack.enter_context(
            serve_process(accounts=ACCOUNTS, calls=per_account, days=7, latency=args.latency)
        )
        config, keys = _accounts_file(Path(tmp), base_url)
        env = {**os.environ, **keys}
        plan = subprocess.run(
            [sys.executable, "-m", "pbx_async", "plan", "--config", str(config), "--from", "2026-10-26",
             "--to", "2026-11-02", "--pages", str(pages)],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        shards = plan.stdout.splitlines()
        total = ACCOUNTS * per_account
        print(f"{ACCOUNTS} accounts, {total} calls with details, {len(shards)} shards, "
              f"{args.latency * 1000:.0f} ms latency, {args.concurrency} requests in flight per process")  # fmt: skip
        results = []
        for processes in counts:
            sink = fresh_database(postgres)
            cpu, machine = _children_cpu(), _machine_busy()
            wall = _run_plan(shards, processes, sink, env, args.concurrency)
            cpu, busy = _children_cpu() - cpu, _machine_busy()[0] - machine[0]
            import psycopg

            with psycopg.connect(sink) as conn:
                stored = conn.execute("SELECT count(*) FROM calls WHERE details_done").fetchone()
            if stored is None or stored[0] != total:
                raise RuntimeError(f"{processes} processes stored {stored} calls of {total}")
            results.append({"processes": processes, "wall": wall, "calls_per_second": total / wall,
                            "cpu_per_1000_calls": cpu / total * 1000, "shard_cores": cpu / wall,
                            "machine_cores": busy / wall})  # fmt: skip
        one = results[0]["calls_per_second"] if results[0]["processes"] == 1 else None
        print(f"{'processes':>9} {'wall s':>8} {'calls/s':>9} {'speedup':>8} {'efficiency':>10} "
              f"{'CPU s/1k calls':>15} {'shard cores':>12} {'machine cores':>14}")  # fmt: skip
        for r in results:
            speedup = r["calls_per_second"] / one if one else float("nan")
            r["speedup"], r["efficiency"] = speedup, speedup / r["processes"]
            print(f"{r['processes']:>9} {r['wall']:>8.1f} {r['calls_per_second']:>9.0f} {speedup:>7.2f}x "
                  f"{r['efficiency']:>10.2f} {r['cpu_per_1000_calls']:>15.2f} {r['shard_cores']:>12.2f} "
                  f"{r['machine_cores']:>14.2f}")  # fmt: skip
        bound = args.concurrency / args.latency
        print(f"latency bound of one process: {bound:.0f} calls/s ({args.concurrency} in flight / latency)")
        args.out.mkdir(parents=True, exist_ok=True)
        name = args.out / f"shards-{datetime.now():%Y%m%d-%H%M%S}.json"
        name.write_text(json.dumps({"calls": total, "shards": len(shards), "cpus": os.cpu_count(),
                                    "latency": args.latency, "results": results}, indent=2))  # fmt: skip
        print(f"wrote {name}")


if __name__ == "__main__":
    main()
