"""CPU per call of the SQLite sink storing timelines: its rows made on the event loop, its statements on its thread.

    python -m benchmarks.store                      # 2,000 timelines, batches of 100, 5 repeats
    python -m benchmarks.store --calls 500 --repeat 3 --profile rows

The timelines are the simulator's (with its quirks: fractional seconds, empty
text), each decoded from its Call Details reply as the client decodes it,
at several UTC offsets (0, +05:30, -08:00), so dates carry the offsets a real
export sees. Each call is listed into a fresh SQLite file first (untimed), then
``save_details`` stores the timelines in batches, as the export's writer does.
CPU time (``time.process_time``, every thread of the process), per call, the
median and the least of the repeats (on a shared machine the least is the steadier):

- rows: ``save_details`` with the statements left out (the sink's ``run`` does
  nothing): the events' and the journey's rows made on the event loop;
- store: the whole ``save_details``, rows and statements on the sink's thread;
- json.loads: the reference, measured in the same run: ``json.loads`` of each
  call's reply, all a raw aiohttp client does with it.

The ratio store / json.loads is what the sink adds to a call against the raw
client's handling of the same bytes.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pbx_async._records.calls import CallDetails
from pbx_async._records.events import Event
from pbx_async._wire.replies import details_page
from pbx_async.export.sinks import Account
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator

OFFSETS = (0, 330, -480)  # minutes: UTC, +05:30, -08:00


def timelines(calls: int, seed: int) -> tuple[list[bytes], list[CallDetails], Account]:
    """Each call's Call Details reply, and the details the client decodes from it, offsets taken in turn."""
    sim = Simulator(calls=calls, days=7, seed=seed, quirks=True)
    bodies: list[bytes] = []
    details: list[CallDetails] = []
    for i, call in enumerate(sim.truth_calls()):
        page, pages, events, summary = 1, 1, list[Event](), None
        while page <= pages:  # a long timeline comes in pages
            params = {"callUUID": call.uuid, "utcOffset": str(OFFSETS[i % len(OFFSETS)]), "page": str(page)}
            body = sim.call_details(params).body
            assert body is not None
            summary, part = details_page.from_bytes(body) or details_page(json.loads(body))  # as the client reads
            bodies.append(body)
            events += part.events
            page, pages = page + 1, part.max_pages
        assert summary is not None
        details.append(CallDetails(summary, tuple(sorted(events, key=lambda e: e.date))))
    return bodies, details, Account(sim.container_id, sim.tenant_id)


def _batches(items: Sequence[CallDetails], size: int) -> list[Sequence[CallDetails]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


async def _store(path: Path, account: Account, details: Sequence[CallDetails], batch: int, statements: bool) -> float:
    """CPU seconds of ``save_details`` for every batch, into a file where the calls are listed already."""
    sink = await SqliteSink.open(path)
    try:
        await sink.upsert_calls(account, [d.call for d in details])
        if not statements:

            async def nothing(function: Callable[..., Any], *args: Any) -> None:
                return None

            sink.run = nothing  # type: ignore[method-assign,assignment]
        start = time.process_time()
        for part in _batches(details, batch):
            await sink.save_details(part)
        return time.process_time() - start
    finally:
        if not statements:
            del sink.run  # the class's own, to close
        await sink.close()


def _loads(bodies: Sequence[bytes]) -> float:
    start = time.process_time()
    for body in bodies:
        json.loads(body)
    return time.process_time() - start


def measure(calls: int, batch: int, repeat: int, seed: int) -> dict[str, float]:
    """Microseconds of CPU per call, the median of ``repeat`` runs of each."""
    bodies, details, account = timelines(calls, seed)
    runs: dict[str, list[float]] = {"json.loads": [], "rows": [], "store": []}
    with tempfile.TemporaryDirectory() as folder:
        for n in range(repeat):
            runs["json.loads"].append(_loads(bodies))
            runs["rows"].append(asyncio.run(_store(Path(folder, f"r{n}.sqlite"), account, details, batch, False)))
            runs["store"].append(asyncio.run(_store(Path(folder, f"s{n}.sqlite"), account, details, batch, True)))
    per_call = {name: [s / len(details) * 1e6 for s in seconds] for name, seconds in runs.items()}
    return {f"{name} {how.__name__}": how(us) for name, us in per_call.items() for how in (statistics.median, min)}


def profile(calls: int, batch: int, seed: int, statements: bool) -> None:
    _, details, account = timelines(calls, seed)
    with tempfile.TemporaryDirectory() as folder:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(_store(Path(folder, "p.sqlite"), account, details, batch, statements))
        profiler.disable()
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--calls", type=int, default=2_000)
    parser.add_argument("--batch", type=int, default=100, help="timelines a save_details stores (default 100)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", choices=("rows", "store"), help="cProfile one run instead of timing")
    args = parser.parse_args()
    if args.profile:
        profile(args.calls, args.batch, args.seed, args.profile == "store")
        return
    figures = measure(args.calls, args.batch, args.repeat, args.seed)
    print(f"{args.calls} timelines, batches of {args.batch}, {args.repeat} runs (process CPU per call, us)")
    print(f"  {'':<11} {'median':>8} {'min':>8}   median / json.loads")
    for name in ("json.loads", "rows", "store"):
        median, least = figures[f"{name} median"], figures[f"{name} min"]
        print(f"  {name:<11} {median:8.1f} {least:8.1f}   {median / figures['json.loads median']:5.2f}x")
    statements = (figures["store median"] - figures["rows median"], figures["store min"] - figures["rows min"])
    print(f"  {'statements':<11} {statements[0]:8.1f} {statements[1]:8.1f}   (store - rows)")


if __name__ == "__main__":
    main()
