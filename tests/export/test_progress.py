"""Progress: the counts an export reports, and what the log-line and bar views show of them."""

from __future__ import annotations

import io
import logging
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from pbx_async import PbxSession
from pbx_async.export import ExportSpec, Flow, LogProgress, Progress, RichProgress, run_export
from pbx_async.testing import Simulator, SimulatorTransport


def _run(progress: Progress) -> None:
    """What an export of two days calls: 3 calls listed, 2 timelines, 1 recording of 2 MB, 1 failure."""
    progress.begin(2, True, True)
    progress.on_listed(3)
    progress.on_detailed()
    progress.on_detailed()
    progress.on_recorded(2_000_000)
    progress.on_failed("details", "call-3", RuntimeError("boom"))
    progress.on_window("2026-11-01")
    progress.on_window("2026-11-02 (open)")
    progress.end()


def test_progress_counts_what_the_export_did(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress()
    with caplog.at_level(logging.WARNING, logger="pbx_async.export"):
        _run(progress)
    assert (progress.listed, progress.detailed, progress.recorded, progress.failed) == (3, 2, 1, 1)
    assert (progress.recorded_bytes, progress.windows_done, progress.windows_total) == (2_000_000, 2, 2)
    assert [r.getMessage() for r in caplog.records] == ["details of call call-3 failed: boom"]


def test_log_progress_writes_a_line_per_window() -> None:
    stream = io.StringIO()
    _run(LogProgress(stream, every=3600))  # no time-based line within the test
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "done 2026-11-01: 1/2 days, 3 calls listed, 2 details, 1 recordings (2.0 MB), 1 failures,"
    )
    assert lines[1].startswith("done 2026-11-02 (open): 2/2 days")


def test_log_progress_also_writes_every_few_seconds_while_details_arrive() -> None:
    stream = io.StringIO()
    progress = LogProgress(stream, every=0)  # any time passed is "a few seconds"
    progress.begin(1, True, False, unit="windows")
    progress.on_listed(2)
    progress.on_detailed()
    assert stream.getvalue().startswith("progress: 0/1 windows, 2 calls listed, 1 details")


def test_rich_progress_counts_like_the_others(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RichProgress()
    _run(progress)
    assert (progress.listed, progress.detailed, progress.recorded, progress.failed) == (3, 2, 1, 1)
    assert "details of call call-3 failed" in capsys.readouterr().out


def test_log_progress_shows_each_stage_and_the_requests_in_flight_against_the_limit() -> None:
    stream = io.StringIO()
    progress = LogProgress(stream, every=0)
    progress.begin(3, True, True)
    progress.on_flow(Flow("2026-11-02T00:00:00+00:00", details=120, recordings=40, in_flight=16, limit=16))
    line = stream.getvalue()
    assert line.startswith("progress: 0/3 days")
    assert (
        "[listing 2026-11-02T00:00:00+00:00, 120 timelines and 40 recordings to go, 16/16 requests in flight]" in line
    )


def test_progress_keeps_how_full_the_limit_was_on_average() -> None:
    progress = Progress()
    for in_flight in (16, 16, 8, 0):
        progress.on_flow(Flow("", 0, 0, in_flight, 16))
    assert progress.limit_use == pytest.approx(0.625)
    assert progress.flow == Flow("", 0, 0, 0, 16)


def test_rich_progress_has_a_row_for_the_requests_in_flight(capsys: pytest.CaptureFixture[str]) -> None:
    progress = RichProgress()
    progress.begin(1, True, False)
    progress.on_flow(Flow("", details=7, recordings=0, in_flight=5, limit=8))
    progress.end()
    out = capsys.readouterr().out
    assert "in flight" in out and "5/8" in out and "7 timelines, 0 recordings to go" in out


@pytest.mark.anyio
async def test_an_export_reports_its_stages_while_it_runs(tmp_path: Path) -> None:
    sim = Simulator(calls=300, days=2, seed=5, sample_rate=100, latency=0.02)
    flows: list[Flow] = []

    class Watch(Progress):
        def on_flow(self, flow: Flow) -> None:
            super().on_flow(flow)
            flows.append(flow)

    spec = ExportSpec(sim.now.date() - timedelta(days=2), sim.now.date(), out=tmp_path / "c.sqlite", details=True)
    async with (
        httpx.AsyncClient(transport=SimulatorTransport(sim), base_url=sim.public_url) as client,
        PbxSession(sim.auth, sim.container_id, base_url=sim.public_url, http_client=client, max_concurrency=4) as s,
    ):
        await run_export(s, spec, Watch(), now=sim.now)
    assert flows, "no stage report while the export ran"
    assert all(f.limit == 4 and 0 <= f.in_flight <= 4 for f in flows)
    assert any(f.in_flight == 4 and f.details > 0 for f in flows)  # timelines waiting, the limit full
