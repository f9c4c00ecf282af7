"""The report of a SQLite export reads the journeys the export stored, and gives what reading every event gives."""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pbx_async import ValidationError
from pbx_async.report import write_html_report

from .exports import export, simulator

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(simulator(600, seed=7), tmp_path_factory.mktemp("stored") / "calls.sqlite")


def _changed(source: Path, folder: Path, *statements: str) -> Path:
    """A copy of the export with ``statements`` run on it."""
    copy = folder / "changed" / source.name
    copy.parent.mkdir()
    shutil.copy(source, copy)
    with closing(sqlite3.connect(copy)) as db, db:
        for statement in statements:
            db.execute(statement)
    return copy


def _page(source: Path, dest: Path) -> str:
    write_html_report(source, dest, now=NOW)
    return dest.read_text(encoding="utf-8").replace(str(source.name), "SOURCE")


def test_stored_journeys_give_the_page_that_reading_every_event_gives(source: Path, tmp_path: Path) -> None:
    recomputed = _changed(source, tmp_path, "DROP TABLE journeys")
    assert _page(source, tmp_path / "stored.html") == _page(recomputed, tmp_path / "recomputed.html")


def test_the_stored_journeys_are_what_is_read(source: Path, tmp_path: Path) -> None:
    # An export whose stored journeys say every call went to voicemail: the page says so, not the events.
    told = _changed(source, tmp_path, "UPDATE journeys SET outcome = 'voicemail', answered_at = NULL")
    page = _page(told, tmp_path / "told.html")
    assert page != _page(source, tmp_path / "stored.html")
    assert "<b>0%</b><span>inbound answered</span>" in page


def test_a_call_with_events_but_no_stored_journey_has_every_journey_read_from_the_events(
    source: Path, tmp_path: Path
) -> None:
    # The stored journeys are wrong except for one missing: the events are read instead, for every call.
    partial = _changed(
        source,
        tmp_path,
        "UPDATE journeys SET outcome = 'voicemail', answered_at = NULL",
        "DELETE FROM journeys WHERE call_uuid = (SELECT min(call_uuid) FROM journeys)",
    )
    assert _page(partial, tmp_path / "partial.html") == _page(source, tmp_path / "stored.html")


def test_a_stored_journey_that_is_not_json_is_refused(source: Path, tmp_path: Path) -> None:
    broken = _changed(source, tmp_path, "UPDATE journeys SET queue_visits = '[{' WHERE queue_visits != '[]'")
    with pytest.raises(ValidationError, match="not a readable export"):
        write_html_report(broken, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_json_lines_read_the_journeys_file_beside_them(tmp_path: Path) -> None:
    (tmp_path / "export").mkdir()
    source = export(simulator(300, seed=5), tmp_path / "export" / "calls.jsonl", "jsonl")
    journeys = tmp_path / "export" / "calls-journeys.jsonl"
    stored = _page(source, tmp_path / "stored.html")
    lines = journeys.read_text(encoding="utf-8").splitlines()
    told = [json.dumps({**json.loads(line), "outcome": "voicemail", "answered_at": None}) for line in lines]
    journeys.write_text("\n".join(told) + "\n", encoding="utf-8")
    assert "<b>0%</b><span>inbound answered</span>" in _page(source, tmp_path / "told.html")
    journeys.write_text("\n".join(told[1:]) + "\n", encoding="utf-8")  # one call's journey missing: all recomputed
    assert _page(source, tmp_path / "partial.html") == stored
    journeys.unlink()
    assert _page(source, tmp_path / "recomputed.html") == stored


def _tell_voicemail(journeys: Path, fmt: str, keep: slice) -> None:
    """Rewrite a CSV or Parquet journeys file: every call went to voicemail; only the rows in ``keep`` stay."""
    if fmt == "csv":
        with journeys.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        with journeys.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows({**row, "outcome": "voicemail", "answered_at": ""} for row in rows[keep])
        return
    pq = pytest.importorskip("pyarrow.parquet")
    table = pq.read_table(journeys)
    changed = [{**row, "outcome": "voicemail", "answered_at": None} for row in table.to_pylist()[keep]]
    pq.write_table(table.from_pylist(changed, schema=table.schema), journeys)


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_csv_and_parquet_read_the_journeys_file_beside_them(fmt: str, tmp_path: Path) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    (tmp_path / "export").mkdir()
    source = export(simulator(300, seed=5), tmp_path / "export" / f"calls.{fmt}", fmt)
    journeys = tmp_path / "export" / f"calls-journeys.{fmt}"
    stored = _page(source, tmp_path / "stored.html")
    original = journeys.read_bytes()
    _tell_voicemail(journeys, fmt, slice(None))
    assert "<b>0%</b><span>inbound answered</span>" in _page(source, tmp_path / "told.html")
    journeys.write_bytes(original)
    _tell_voicemail(journeys, fmt, slice(1, None))  # one call's journey missing: all recomputed
    assert _page(source, tmp_path / "partial.html") == stored
    journeys.unlink()
    assert _page(source, tmp_path / "recomputed.html") == stored
