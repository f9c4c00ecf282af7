"""The main job at the bound: the export, pipelined, beside the same export run phase by phase.

    python -m benchmarks.export            # every row (about ten minutes)
    python -m benchmarks.export --quick    # 16 in flight at 100 ms, and RSS at 3,000 and 9,000 calls
    python -m benchmarks.export --rss-only # only peak RSS at 3,000 and 30,000 calls (about four minutes)

The simulator (``pbx-async simulate``, a process of its own, every reply
``latency`` after its request arrived, 20 kB recordings) serves 3,000 calls over 15 days. Each
row is one ``run_export`` with details (and recordings) in a client process
of its own, so CPU time and peak RSS are its own. "phase by phase" is the
same export as it ran before the pipeline, a day at a time, each day's list,
then timelines, then recordings, each drained before the next
(``export_window``, kept as the reference), measured in the same run.
The bound is Little's law: requests x latency / in flight. Efficiency is
the bound over the wall time. Then peak RSS of the pipelined export from
3,000 to 30,000 calls (64 in flight, 50 ms): it must stay flat.

Every row writes its store and recordings into a new folder under ``--folder``
(default: the system's temporary folder). Making a file costs from 20 us to
1.5 ms of kernel CPU on this machine's disk, by the hour, and both clients make
one per recording; so each row also reports that cost, measured in its folder
just before it runs ("create us"). ``--folder /dev/shm`` measures without the
disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import anyio

from benchmarks.scenarios import peak_rss_mb
from pbx_async import PbxSession
from pbx_async._records.recordings import RecordingRef
from pbx_async._wire import params as wire
from pbx_async.export import ExportSpec, Progress, run_export
from pbx_async.export._single import days
from pbx_async.export._window import export_window
from pbx_async.export.sinks import Account
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import serve_process
from pbx_async.testing._simulator import DEFAULT_AUTH, DEFAULT_CONTAINER, DEFAULT_NOW

ROOT = Path(__file__).resolve().parent.parent
RECORDING_BYTES = 20_000  # small: the latency, not the transfer, is what the bound counts


async def _phase_by_phase(session: PbxSession, spec: ExportSpec, progress: Progress) -> None:
    """The export as it ran before the pipeline: a day at a time, list, then timelines, then recordings."""
    store = await SqliteSink.open(spec.store_path)
    try:
        account, now = Account(session.container_id, session.tenant_id), datetime.now(UTC)
        for day in days(spec.first, spec.last, spec.utc_offset, now):
            await export_window(session, store, account, day, spec.work, progress, seen=now)
    finally:
        await store.close()


def _list_pages(store: Path) -> int:
    """The list requests an export makes: one a day, one more for each further 500 calls."""
    with closing(sqlite3.connect(store)) as db:
        per_day = [n for (n,) in db.execute("SELECT count(*) FROM calls GROUP BY substr(date, 1, 10)")]
    return sum(max(1, math.ceil(n / 500)) for n in per_day)


async def _raw(session: PbxSession, spec: ExportSpec, width: int, folder: Path) -> dict[str, Any]:
    """The reference: the export's timelines and recordings with raw aiohttp, ``width`` at a time, all at once.

    No records, no store, no file safety: ``json.loads`` of each timeline, each recording written to a
    part file and renamed. The calls are listed first, untimed, so only those requests are counted.
    """
    calls = [c async for c in session.iter_calls(from_date=spec.first, to_date=spec.last)]
    root = session.base_url.rstrip("/") + "/"
    # What the session would send (its wire parameters): the raw client makes the same requests.
    jobs: list[tuple[str, dict[str, str], RecordingRef | None]]
    jobs = [(root + session.paths.call_details, session._params(wire.call_details(c.uuid, 0, 1)), None) for c in calls]
    if spec.recordings is not None:
        spec.recordings.mkdir(parents=True, exist_ok=True)
        refs = [RecordingRef.from_url(c.uuid, c.recording_url) for c in calls if c.recorded and c.recording_url]
        jobs += [(root + session.paths.recording, session._params(wire.recording(r.file_name)), r) for r in refs]
    gate = asyncio.Semaphore(width)

    async def one(http: aiohttp.ClientSession, url: str, params: dict[str, str], ref: RecordingRef | None) -> None:
        async with gate, http.get(url, params=params) as reply:
            body = await reply.read()
        if ref is None:
            json.loads(body)
            return
        assert spec.recordings is not None
        part = spec.recordings / f".{ref.call_uuid}.part"
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            os.write(fd, body)
        finally:
            os.close(fd)
        os.replace(part, spec.recordings / f"{ref.call_uuid}.wav")

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=width)) as http:
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(one(http, *job) for job in jobs))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    made = {"list": 0, "details": len(calls), "recordings": len(jobs) - len(calls), "failed": 0, "retries": 0}
    return {
        "requests": len(jobs),
        "by_kind": made,
        "wall": wall,
        "cpu": cpu,
        "rss_mb": peak_rss_mb(),
        "limit_use": None,
    }


async def _client(shape: str, base_url: str, width: int, recordings: bool, span: int, folder: Path) -> dict[str, Any]:
    first = (DEFAULT_NOW - timedelta(days=span + 1)).date()
    spec = ExportSpec(
        first,
        DEFAULT_NOW.date(),
        out=folder / "calls.sqlite",
        details=True,
        recordings=folder / "recordings" if recordings else None,
        concurrency=width,
    )
    # Requests are counted from what was done, not by a hook: a hook's per-request cost would be measured too.
    session = PbxSession(DEFAULT_AUTH, DEFAULT_CONTAINER, base_url=base_url, max_concurrency=width, timeout=120)
    progress = Progress()
    async with session:
        if shape == "raw aiohttp":
            return await _raw(session, spec, width, folder)
        cpu, wall = time.process_time(), time.perf_counter()
        if shape == "pipelined":
            await run_export(session, spec, progress)
        else:
            await _phase_by_phase(session, spec, progress)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        retries = sum(session.retry_counts.values())
    made = {"list": _list_pages(spec.store_path), "details": progress.detailed, "recordings": progress.recorded,
            "failed": progress.failed, "retries": retries}  # fmt: skip
    return {"requests": sum(made.values()), "by_kind": made, "wall": wall, "cpu": cpu, "rss_mb": peak_rss_mb(),
            "limit_use": progress.limit_use}  # fmt: skip


def create_cost_us(folder: Path, files: int = 200) -> float:
    """Median CPU of making one new file in ``folder`` (O_CREAT | O_EXCL, as a download's part), in us."""
    took: list[float] = []
    for i in range(files):
        start = time.process_time()
        fd = os.open(folder / f".probe-{i}", os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        took.append(time.process_time() - start)
        os.close(fd)
    for i in range(files):
        os.unlink(folder / f".probe-{i}")
    return sorted(took)[files // 2] * 1e6


def _row(
    shape: str, base_url: str, latency: float, width: int, recordings: bool, span: int, under: str | None
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(dir=under) as folder:
        create_us = create_cost_us(Path(folder))
        command = [sys.executable, "-m", "benchmarks.export", "--client", shape, base_url, str(width),
                   str(int(recordings)), str(span), folder]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=1800)
    if done.returncode:
        raise RuntimeError(f"the {shape} export failed:\n{done.stderr}")
    row: dict[str, Any] = json.loads(done.stdout)
    row |= {"shape": shape, "latency": latency, "in_flight": width, "recordings": recordings, "create_us": create_us}
    row["bound"] = row["requests"] * latency / width
    row["efficiency"] = row["bound"] / row["wall"]
    row["cpu_us_per_call"] = row["cpu"] / max(row["by_kind"]["details"], 1) * 1e6
    return row


def _print(label: str, row: dict[str, Any]) -> None:
    print(f"{label:58} {row['requests']:>6} {row['wall']:>7.2f} {row['bound']:>7.2f} {row['efficiency']:>5.2f} "
          f"{row['cpu_us_per_call']:>9.0f} {row['rss_mb']:>6.0f} {row['create_us']:>9.0f}", flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="16 in flight at 100 ms; RSS at 3,000 and 9,000 calls")
    parser.add_argument("--rss-only", action="store_true", help="only peak RSS at 3,000 and 30,000 calls")
    parser.add_argument("--calls", type=int, default=3_000)
    parser.add_argument("--folder", help="where each row's store and recordings go (default: the temporary folder)")
    parser.add_argument("--client", nargs=6, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        shape, base_url, width, recordings, span, folder = args.client
        result = anyio.run(_client, shape, base_url, int(width), recordings == "1", int(span), Path(folder))
        print(json.dumps(result))
        return
    rows: list[dict[str, Any]] = []
    print(f"{'export of ' + format(args.calls, ',') + ' calls over 15 days':58} {'reqs':>6} {'wall s':>7} "
          f"{'bound s':>7} {'eff':>5} {'CPU us/c':>9} {'RSS MB':>6} {'create us':>9}")  # fmt: skip
    for latency in () if args.rss_only else (0.1,) if args.quick else (0.05, 0.1):
        with serve_process(calls=args.calls, days=15, latency=latency, recording_bytes=RECORDING_BYTES) as url:
            for width in (16,) if args.quick else (16, 64):
                for recordings in (True, False):
                    for shape in ("raw aiohttp", "phase by phase", "pipelined"):
                        row = _row(shape, url, latency, width, recordings, 15, args.folder)
                        rows.append(row)
                        what = "timelines + recordings" if recordings else "timelines"
                        _print(f"{width} in flight, {latency * 1000:.0f} ms, {what}, {shape}", row)
    rss: list[dict[str, Any]] = []
    for calls in (3_000, 9_000) if args.quick else (3_000, 30_000):
        span = max(15, calls // 200)  # 200 calls a day, as above
        with serve_process(calls=calls, days=span, latency=0.05, recording_bytes=RECORDING_BYTES) as url:
            row = _row("pipelined", url, 0.05, 64, True, span, args.folder)
            rss.append(row | {"calls_in_range": calls})
            _print(f"RSS: {calls:,} calls, 64 in flight, 50 ms, pipelined", row)
    small, large = rss[0], rss[-1]
    print(f"peak RSS {large['rss_mb']:.0f} MB at {large['calls_in_range']:,} calls, {small['rss_mb']:.0f} MB at "
          f"{small['calls_in_range']:,}: ratio {large['rss_mb'] / small['rss_mb']:.3f}")  # fmt: skip
    results = ROOT / "benchmarks" / "results"
    results.mkdir(exist_ok=True)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    report = {"rows": rows, "rss": rss, "load_average": os.getloadavg(), "date": date.today().isoformat(),
              "folder": args.folder or tempfile.gettempdir()}  # fmt: skip
    (results / f"export-{stamp}.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
