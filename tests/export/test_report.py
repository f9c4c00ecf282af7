"""The export's counts (summary, sinks) and the demo's text report, checked against the simulator's truth."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from pbx_async import ValidationError
from pbx_async.export import ExportResult, ExportSpec, report, run_export
from pbx_async.testing import Simulator

pytestmark = pytest.mark.anyio
SIM = Simulator(calls=300, days=3, seed=9)


async def _export(tmp_path: Path) -> tuple[ExportSpec, ExportResult]:
    spec = ExportSpec(date(2026, 10, 30), date(2026, 11, 2), out=str(tmp_path / "calls.sqlite"), details=True)
    async with SIM.session() as session:
        return spec, await run_export(session, spec, now=SIM.now)


async def test_the_summary_counts_the_exported_calls(tmp_path: Path) -> None:
    _, result = await _export(tmp_path)
    calls = SIM.truth_calls()
    directions = Counter(c.direction.name.lower() for c in calls)
    assert result.summary["by_direction"] == {d: directions[d] for d in ("inbound", "outbound", "internal")}
    assert result.summary["calls"] == result.calls == len(SIM)
    assert result.summary["answered"] == sum(c.spoke_to_person for c in calls)
    assert result.summary["voicemail"] == sum(c.went_to_voicemail for c in calls)
    assert result.summary["events"] == result.events == sum(len(SIM.truth_details(c.uuid).events) for c in calls)
    assert result.summary["recordings"] == result.summary["recording_bytes"] == 0
    assert result.summary["fetched_this_run"] == {"calls_listed": len(SIM), "details": len(SIM), "recordings": 0}


async def test_the_report_shows_each_day_the_answer_rate_and_the_top_numbers(tmp_path: Path) -> None:
    spec, _ = await _export(tmp_path)
    text = report(spec.out)
    calls = SIM.truth_calls()
    for day in sorted({c.date.date() for c in calls}):
        of_day = Counter(c.direction.name.lower() for c in calls if c.date.date() == day)
        counts = f"{of_day['inbound']:>7}  {of_day['outbound']:>8}  {of_day['internal']:>8}"
        assert f"  {day.isoformat()}             {counts}" in text.splitlines()
    inbound = [c for c in calls if c.direction.name == "INBOUND"]
    rate = 100 * sum(c.spoke_to_person for c in inbound) / len(inbound)
    assert f"Answer rate (inbound): {rate:.1f}% of {len(inbound)} calls" in text
    dialed = Counter(c.num_dialed for c in inbound)
    top = text.splitlines()[text.splitlines().index("Top DIDs:") + 1].split()
    assert int(top[-1]) == dialed[top[0]] == max(dialed.values())
    assert "Busiest extensions (calls answered):" in text


async def test_the_report_of_a_file_that_is_not_an_export_says_so_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="no such file"):
        report(tmp_path / "missing.sqlite")
    assert not (tmp_path / "missing.sqlite").exists()
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database\n" * 100)
    with pytest.raises(ValidationError, match="not an export file"):
        report(notes)
    assert notes.read_text() == "not a database\n" * 100


async def test_a_str_path_is_taken_for_out_and_recordings() -> None:
    spec = ExportSpec(date(2026, 11, 1), date(2026, 11, 2), out="calls.jsonl", format="jsonl", recordings="recs")
    assert spec.out == Path("calls.jsonl") and spec.recordings == Path("recs")
    assert spec.store_path == Path("calls.jsonl.export.sqlite")
