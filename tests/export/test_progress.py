"""Progress: the counts an export reports, and what the log-line and bar views show of them."""

from __future__ import annotations

import io
import logging

import pytest

from pbx_async.export import LogProgress, Progress, RichProgress


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
