"""``demo`` (a simulated week exported and reported on), ``report FILE`` and ``simulate`` (the simulator over HTTP)."""

from __future__ import annotations

import argparse
import contextlib
import math
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .. import PbxSession
from ..export import ExportSpec, report, run_export
from ..report import write_html_report
from ..testing import Faults, Simulator, run_forever, serve
from . import _options as opt
from . import _output as out
from ._demo_folder import DemoFolder
from ._exit import Exit, UsageError, require

DEMO_CALLS, DEMO_DAYS, DEMO_SAMPLE_RATE = 2_000, 7, 100  # 100 Hz keeps a week of recordings near 50 MB


def register(commands: Any) -> None:
    demo = opt.add_command(
        commands,
        "demo",
        f"export a simulated week ({DEMO_CALLS} calls, with recordings) into ./pbx-demo/ and report on it",
        "  pbx-async demo\n  pbx-async demo --out /tmp/pbx-demo --seed 7",
        run_demo,
    )
    opt.FOLDER.add(
        demo, default="pbx-demo", help="folder to export into (default ./pbx-demo); a rerun replaces only what an "
        "earlier demo wrote there"
    )  # fmt: skip
    opt.SEED.add(demo)
    opt.CALLS.add(demo, default=DEMO_CALLS, help=f"calls in the simulated week (default {DEMO_CALLS})")
    opt.add_output(demo)

    show = opt.add_command(
        commands,
        "report",
        "print a short report of an export (calls per day, answer rate, top DIDs, busiest extensions), "
        "or write the HTML report (charts, call journeys) with --html",
        "  pbx-async report calls.sqlite\n  pbx-async report pbx-demo/calls.sqlite --html report.html\n"
        "  pbx-async report november.jsonl --html november.html",
        run_report,
    )
    show.add_argument(
        "file", metavar="OUT", help="an export's output: its SQLite file (or, with --html, JSON lines, CSV or Parquet)"
    )
    show.add_argument(
        "--html", metavar="FILE", help="write one self-contained HTML file (works offline) instead of the text report"
    )

    sim = opt.add_command(
        commands,
        "simulate",
        "serve the built-in PBX simulator over HTTP",
        "  pbx-async simulate --port 8080 --calls 5000\n"
        "  pbx-async simulate --port 0 --latency 0.05 --fault-rate 0.1 --quirks  # 0: any free port",
        run_simulate,
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0 picks a free one)")
    opt.CALLS.add(sim, default=5000, help="calls in the dataset (default 5000)")
    sim.add_argument("--days", type=int, default=7, help="days the dataset spans (default 7)")
    opt.SEED.add(sim)
    sim.add_argument("--latency", type=float, default=0.0, help="seconds from a request's arrival to its reply")
    sim.add_argument("--jitter", type=float, default=0.0, help="random extra seconds, 0..JITTER")
    sim.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that meet a fault")
    sim.add_argument("--live-arrivals", type=int, default=0, help="new calls before each list request")
    sim.add_argument("--quirks", action="store_true", help="numbers as strings, [] for no rows, ...")
    sim.add_argument("--recording-bytes", type=int, default=None, help="size of every recording in bytes")
    sim.add_argument(
        "--accounts", type=int, default=1, help="accounts served (keys sim-secret-key-N; two tenants a container)"
    )


async def run_demo(args: argparse.Namespace) -> int:
    require("uvicorn")
    folder = DemoFolder(Path(args.out))
    earlier = folder.earlier_demo()  # refuses a folder holding what no demo wrote, before anything is made
    now = datetime.now(UTC).replace(microsecond=0)
    out.say(args, f"Simulating a PBX with {args.calls} calls over the last {DEMO_DAYS} days on a loopback port...")
    sim = Simulator(calls=args.calls, days=DEMO_DAYS, seed=args.seed, now=now, sample_rate=DEMO_SAMPLE_RATE)
    folder.replace(earlier, [c.recording_url for c in sim.truth_calls() if c.recorded and c.recording_url])
    spec = ExportSpec(
        first=(now - timedelta(days=DEMO_DAYS)).date(),
        last=now.date(),
        out=folder.database,
        details=True,
        recordings=folder.recordings,
    )
    async with serve(sim) as base_url:
        out.say(args, f"Exporting every call, its timeline and its recording from {base_url} into {folder.path}/ ...")
        async with PbxSession(sim.auth, sim.container_id, base_url=base_url, max_concurrency=16) as session:
            result = await run_export(session, spec, out.progress(args))
    page = write_html_report(spec.out, folder.path / "report.html", title="pbx-async demo")
    out.summary(args, result.summary, [spec.out, folder.recordings, page.path])
    if not (args.quiet or args.json):
        print()
        print(report(spec.out))
        example = "SELECT direction, count(*) FROM calls GROUP BY direction"
        print(f"\nQuery it: sqlite3 {spec.out} '{example}'")
        print(f"See it: open {page.path.resolve().as_uri()} in a browser (charts and call journeys, works offline)")
    return Exit.PARTIAL if result.failures else Exit.OK


def run_report(args: argparse.Namespace) -> int:
    path = Path(args.file)
    if args.html is not None:
        page = write_html_report(path, args.html)
        out.say(
            args, f"wrote {page.path} ({page.size:,} bytes, {page.calls:,} calls): open {page.path.resolve().as_uri()}"
        )
        return Exit.OK
    if not path.is_file():
        raise UsageError(f"{path} is not a file: give the SQLite file of an export (e.g. pbx-demo/calls.sqlite)")
    print(report(path))
    return Exit.OK


def run_simulate(args: argparse.Namespace) -> int:
    for option, seconds in (("--latency", args.latency), ("--jitter", args.jitter)):
        if not 0 <= seconds < math.inf:  # NaN too
            raise UsageError(f"{option} takes seconds, 0 or more (got {seconds})")
    if not 0 <= args.fault_rate <= 1:
        raise UsageError(f"--fault-rate takes a share of requests from 0 to 1 (got {args.fault_rate})")
    require("uvicorn")
    port = _free_port(args.host, args.port)  # a busy port is said before a large dataset is built
    sim = Simulator.accounts(
        args.accounts,
        calls=args.calls,
        days=args.days,
        seed=args.seed,
        latency=args.latency,
        jitter=args.jitter,
        faults=Faults.uniform(args.fault_rate) if args.fault_rate else None,
        live_arrivals=args.live_arrivals,
        quirks=args.quirks,
        recording_bytes=args.recording_bytes,
    )
    url = f"http://{f'[{args.host}]' if ':' in args.host else args.host}:{port}/"
    lines = [
        f"  PBX_AUTH={a.auth} PBX_CONTAINER_ID={a.container_id} PBX_TENANT_ID={a.tenant_id} PBX_BASE_URL={url}"
        for a in sim.all_accounts()
    ]
    print(
        f"Simulating {args.accounts} account(s) of {len(sim)} calls over {args.days} days up to "
        f"{sim.now:%Y-%m-%d %H:%M} UTC on {url}\n" + "\n".join(lines) + "\nPress Ctrl-C to stop.",
        flush=True,
    )
    # uvicorn in the foreground: Ctrl-C (or SIGTERM) stops it, a second Ctrl-C without waiting.
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(sim, host=args.host, port=port)
    return Exit.OK


def _free_port(host: str, port: int) -> int:
    """``port`` if a server can listen there (else the OSError it would meet); for 0, a free port.

    TODO(lead): a ``ready(url)`` callback of ``run_forever`` would print the port it bound
    and close the short gap between this probe and its bind.
    """
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server sets it
        probe.bind((host, port))
        bound: int = probe.getsockname()[1]
        return bound
