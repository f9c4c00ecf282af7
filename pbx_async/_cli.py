"""The ``pbx-async`` command line."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Sequence

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2


def _simulate(args: argparse.Namespace) -> int:
    from .testing import Faults, Simulator
    from .testing._server import run_forever

    sim = Simulator(
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
    print(
        f"Simulating {len(sim)} calls over {args.days} days up to {sim.now:%Y-%m-%d %H:%M} UTC on "
        f"http://{args.host}:{args.port}/\n"
        f"  PBX_AUTH={sim.auth} PBX_CONTAINER_ID={sim.container_id} PBX_BASE_URL=http://{args.host}:{args.port}/\n"
        "Press Ctrl-C to stop.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(sim, host=args.host, port=args.port)
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pbx-async", description="Pull call history, call timelines and recordings from the PBX."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = commands.add_parser(
        "simulate",
        help="serve the built-in PBX simulator over HTTP",
        description="Serve a seeded, simulated PBX API over HTTP, for trying the library without credentials.",
        epilog=(
            "examples:\n"
            "  pbx-async simulate --port 8080 --calls 5000\n"
            "  pbx-async simulate --latency 0.05 --fault-rate 0.1 --quirks"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080; 0 picks a free one)")
    sim.add_argument("--calls", type=int, default=5000, help="calls in the dataset (default 5000)")
    sim.add_argument("--days", type=int, default=7, help="days the dataset spans (default 7)")
    sim.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    sim.add_argument("--latency", type=float, default=0.0, help="seconds added to every reply")
    sim.add_argument("--jitter", type=float, default=0.0, help="random extra seconds, 0..JITTER")
    sim.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that meet a fault")
    sim.add_argument("--live-arrivals", type=int, default=0, help="new calls before each list request")
    sim.add_argument("--quirks", action="store_true", help="numbers as strings, [] for no rows, ...")
    sim.add_argument("--recording-bytes", type=int, default=None, help="size of every recording in bytes")
    sim.set_defaults(run=_simulate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return code
