"""The HTML report at scale: build time and size for 100,000 calls, and the charting approach measured.

    python -m benchmarks.report                       # 100,000 calls (the export is made once, then cached)
    python -m benchmarks.report --calls 20000 --runs 5
    python -m benchmarks.report --chartjs node_modules/chart.js/dist/chart.umd.min.js

The export is a real one: the simulator's calls and events written by the
export's own SQLite sink (``open_sink``), as ``pbx-async export --details``
leaves them (with its ``journeys`` table), kept in ``--cache``. Each run is
``write_html_report`` end to end (reading the calls and their stored journeys,
counting, rendering, writing). The reference, once in the same run, is the
same page with every journey read again from its events (``stored=False``:
what an export without stored journeys costs), compared byte for byte; its
phases are then timed apart. With ``--chartjs`` (the file from ``npm pack chart.js``) the same
charts are also rendered the other way, a bundled JS library drawing on
canvases from inline JSON, and both pages are timed in headless Chromium.
Figures go to stdout as JSON lines; nothing here passes or fails. The machine's
load average is printed beside the times: on a shared machine wall time is
only as good as the neighbours let it be (``cpu_seconds`` is this process's).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from pbx_async import call_journey
from pbx_async.export import Account, open_sink
from pbx_async.report import write_html_report
from pbx_async.report._facts import call_of, facts
from pbx_async.report._gather import gather
from pbx_async.report._page import render
from pbx_async.report._read import locate, read_calls
from pbx_async.report._stats import BUCKET_LABELS, Stats
from pbx_async.testing import Simulator

TARGET_SECONDS, TARGET_BYTES = 10.0, 5_000_000
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # the pages' "made on", so the two ways' pages can be compared


def emit(**figures: Any) -> None:
    print(json.dumps(figures), flush=True)


async def _make_export(path: Path, calls: int) -> None:
    sim = Simulator(calls=calls, days=28, seed=0)
    sink = await open_sink(f"sqlite:///{path}")
    try:
        uuids = sim.uuids()
        for start in range(0, len(uuids), 5_000):
            chunk = uuids[start : start + 5_000]
            await sink.upsert_calls(Account(sim.container_id, sim.tenant_id), [sim.truth_call(u) for u in chunk])
            await sink.save_details([sim.truth_details(u) for u in chunk])
    finally:
        await sink.close()


def export_for(calls: int, cache: Path) -> Path:
    path = cache / f"calls-{calls}-v4.sqlite"  # schema 4: with the journeys table
    if not path.exists():
        cache.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        partial = path.with_suffix(".partial.sqlite")
        partial.unlink(missing_ok=True)
        anyio.run(_make_export, partial, calls)
        partial.rename(path)
        emit(step="export made once", calls=calls, seconds=round(time.perf_counter() - started, 1), path=str(path))
    return path


def recomputed(source: Path, out: Path) -> dict[str, Any]:
    """The reference, in the same run: the same page with every journey read again from its events, not the stored."""
    path, kind = locate(source)
    load_before = os.getloadavg()[0]
    started, used = time.perf_counter(), time.process_time()
    stats = gather(path, kind, stored=False)
    page = render(stats, title="Call report", source=path.name, generated=NOW)
    seconds, cpu = time.perf_counter() - started, time.process_time() - used
    return {
        "seconds": round(seconds, 2), "cpu_seconds": round(cpu, 2),
        "machine_load": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "same_page_as_stored": page == out.read_text(encoding="utf-8"),
    }  # fmt: skip


def phases(source: Path) -> dict[str, float]:
    """Recomputing: CPU seconds of reading the export, reading journeys and counting, by difference of passes."""
    path, kind = locate(source)

    def cpu(journeys: bool, count: bool) -> float:
        used, stats = time.process_time(), Stats()
        for item in read_calls(path, kind):
            if journeys:
                journey = call_journey(item.details)
                if count:
                    stats.add(call_of(item), facts(journey), (item, journey))
        if count:
            render(stats, title="Call report", source=path.name, generated=datetime.now(UTC))
        return time.process_time() - used

    read, journeyed, counted = cpu(False, False), cpu(True, False), cpu(True, True)
    return {
        "read_cpu": round(read, 2),
        "journeys_cpu": round(journeyed - read, 2),
        "count_and_render_cpu": round(counted - journeyed, 2),
    }


def _bar(labels: list[str], *series: Sequence[float]) -> dict[str, Any]:
    sets = [{"data": list(data)} for data in series]
    return {"type": "bar", "data": {"labels": labels, "datasets": sets}, "options": {"animation": False}}


def _scatter(points: Sequence[Mapping[str, float]], **style: Any) -> dict[str, Any]:
    return {"type": "scatter", "data": {"datasets": [{"data": points, **style}]}, "options": {"animation": False}}


def chartjs_page(stats: Stats, library: str) -> str:
    """The same figures drawn by Chart.js on canvases: the library inline, the data as JSON."""
    week = [{"x": h, "y": d, "v": stats.week[d][h]} for d in range(7) for h in range(24)]
    top = max(p["v"] for p in week) or 1
    shades = [f"rgba(8,48,107,{0.1 + 0.9 * p['v'] / top:.2f})" for p in week]
    dids, queues, extensions = list(stats.dids.values()), list(stats.queues.values()), list(stats.extensions.values())
    funnel = ("heard", "chose", "reached", "answered")
    configs = [
        _scatter(week, pointStyle="rect", radius=9, backgroundColor=shades),
        _bar(list(stats.outcomes), list(stats.outcomes.values())),
        _bar(list(stats.dids), [a for _, a in dids], [c - a for c, a in dids]),
        _bar([f"{h:02d}" for h in range(24)], [100 * a / c if c else 0 for c, a in stats.hours]),
        _bar(list(BUCKET_LABELS), *stats.answer_buckets.values()),
        _bar(list(stats.queues), *([q[k] for q in queues] for k in ("answered", "abandoned", "failover", "callback"))),
        _bar(list(BUCKET_LABELS), *stats.wait_buckets.values()),
        _bar(list(funnel), [stats.ivr[k] for k in funnel]),
        _bar(list(stats.options), [c for c, _ in stats.options.values()]),
        _bar(list(stats.extensions)[:12], [a for a, _ in extensions[:12]]),
        _bar(list(stats.recordings), [r[1] for r in stats.recordings.values()]),
    ]
    for sample in stats.samples.values():  # each sample call as a scatter of its events over time
        start = sample.journey.start
        events = sample.call.details.events
        configs.append(_scatter([{"x": (e.date - start).total_seconds(), "y": i} for i, e in enumerate(events)]))
    canvases = "".join(f'<canvas id="c{i}" width="640" height="260"></canvas>' for i in range(len(configs)))
    script = (
        f"const configs = {json.dumps(configs)};"
        "configs.forEach((c, i) => new Chart(document.getElementById('c' + i), c));"
        "document.documentElement.setAttribute('data-ready', 'true');"
    )
    head = f"<meta charset='utf-8'><script>{library}</script>"
    return f"<!DOCTYPE html><html><head>{head}</head><body>{canvases}<script>{script}</script></body></html>"


PROBE = """(() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const marks = document.querySelectorAll("svg .mark");
  return {ready: document.documentElement.getAttribute("data-ready"), load_ms: Math.round(nav.loadEventEnd),
          charts: document.querySelectorAll("svg[role=img], canvas").length,
          marks_with_text: Array.from(marks).filter(m => m.querySelector("title")).length,
          canvases: document.querySelectorAll("canvas").length};
})()"""


def browser_times(pages: dict[str, Path], folder: Path) -> None:
    try:
        from tests.report.browser import find_chromium, visit
    except ImportError:
        return
    chromium = find_chromium()
    if chromium is None:
        emit(step="browser", skipped="no chromium")
        return
    for name, page in pages.items():
        loads = []
        for run in range(3):
            seen = anyio.run(visit, chromium, page, folder / f"{name}-{run}.png", PROBE)
            loads.append(seen.probe["load_ms"])
        emit(
            step="browser",
            page=name,
            load_ms_median=statistics.median(loads),
            errors=len(seen.errors),
            **{k: v for k, v in seen.probe.items() if k != "load_ms"},
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "pbx-report-bench")
    parser.add_argument("--chartjs", type=Path, help="chart.umd.min.js, to measure the bundled-library way too")
    args = parser.parse_args()
    source = export_for(args.calls, args.cache)
    out = Path(tempfile.mkdtemp(prefix="pbx-report-")) / "report.html"
    seconds, cpu = [], []
    load_before = os.getloadavg()[0]
    for _ in range(args.runs):
        started, used = time.perf_counter(), time.process_time()
        report = write_html_report(source, out, now=NOW)
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - used)
    emit(
        step="write_html_report", calls=report.calls, runs=args.runs, seconds_min=round(min(seconds), 2),
        seconds_median=round(statistics.median(seconds), 2), cpu_seconds_min=round(min(cpu), 2),
        machine_load=[round(load_before, 1), round(os.getloadavg()[0], 1)], cores=os.cpu_count(), bytes=report.size,
        under_10_s=max(seconds) < TARGET_SECONDS, under_5_mb=report.size < TARGET_BYTES, path=str(out),
    )  # fmt: skip
    emit(step="recomputed", **recomputed(source, out))
    emit(step="phases", **phases(source))
    if args.chartjs:
        path, kind = locate(source)
        stats = gather(path, kind)
        started = time.perf_counter()
        page = chartjs_page(stats, args.chartjs.read_text(encoding="utf-8"))
        built = time.perf_counter() - started
        other = out.with_name("report-chartjs.html")
        other.write_text(page, encoding="utf-8")
        svg_bytes = sum(len(chunk) for chunk in out.read_text(encoding="utf-8").split("<svg")[1:])
        emit(step="charting", way="inline SVG", bytes=report.size, chart_markup_bytes=svg_bytes)
        emit(
            step="charting",
            way="Chart.js",
            bytes=len(page.encode()),
            library_bytes=args.chartjs.stat().st_size,
            render_seconds=round(built, 3),
        )
        browser_times({"svg": out, "chartjs": other}, out.parent)


if __name__ == "__main__":
    main()
