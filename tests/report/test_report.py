"""The HTML report of an export: the same page from every format, numbers that match the calls, safe writes."""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pbx_async import StorageError, ValidationError
from pbx_async.report import read_export, write_html_report
from pbx_async.testing import Simulator

from .exports import export, simulator

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return simulator(600, seed=11)


@pytest.fixture(scope="module")
def sqlite_export(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(sim, tmp_path_factory.mktemp("sqlite") / "calls.sqlite")


def _page(source: Path, dest: Path) -> str:
    write_html_report(source, dest, now=NOW)
    return dest.read_text(encoding="utf-8").replace(source.name, "SOURCE")


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_every_export_format_gives_the_same_report(
    sim: Simulator, sqlite_export: Path, fmt: str, tmp_path: Path
) -> None:
    other = export(sim, tmp_path / f"calls.{fmt}", fmt)
    assert _page(other, tmp_path / "other.html") == _page(sqlite_export, tmp_path / "sqlite.html")


def test_the_figures_match_what_the_simulator_made(sim: Simulator, sqlite_export: Path, tmp_path: Path) -> None:
    report = write_html_report(sqlite_export, tmp_path / "report.html", now=NOW)
    html = report.path.read_text(encoding="utf-8")
    assert (report.calls, report.calls_with_events) == (len(sim), len(sim))
    per_did: Counter[tuple[str, str]] = Counter()
    for uuid in sim.uuids():
        truth = sim.truth_scenario(uuid)
        if truth.entry_did is not None:
            per_did[truth.entry_did, "calls"] += 1
            per_did[truth.entry_did, "answered"] += truth.outcome == "answered"
    for did in {d for d, _ in per_did}:
        calls, answered = per_did[did, "calls"], per_did[did, "answered"]
        description = next(c.did_description for c in sim.truth_calls() if c.num_dialed == did)
        assert f"<td>{did}</td><td>{description}</td><td>{calls}</td><td>{answered}</td>" in html
    inbound = sum(v for (_, k), v in per_did.items() if k == "calls")
    answered = sum(v for (_, k), v in per_did.items() if k == "answered")
    assert f"<b>{round(100 * answered / inbound)}%</b><span>inbound answered</span>" in html


def test_the_page_needs_nothing_from_the_network(sqlite_export: Path, tmp_path: Path) -> None:
    html = write_html_report(sqlite_export, tmp_path / "report.html").path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "@import" not in html and "url(" not in html
    assert html.count("<svg") >= 15 and "<script>" in html


def test_a_folder_holding_the_export_is_a_source(sqlite_export: Path, tmp_path: Path) -> None:
    assert write_html_report(sqlite_export.parent, tmp_path / "r.html").calls == 600
    assert sum(1 for _ in read_export(sqlite_export.parent)) == 600


def test_an_existing_file_is_replaced_only_when_it_is_a_report_we_wrote(sqlite_export: Path, tmp_path: Path) -> None:
    theirs = tmp_path / "notes.html"
    theirs.write_text("<html>my own notes</html>")
    with pytest.raises(StorageError, match="not a report pbx-async wrote"):
        write_html_report(sqlite_export, theirs)
    assert theirs.read_text() == "<html>my own notes</html>"
    ours = tmp_path / "report.html"
    write_html_report(sqlite_export, ours, title="First")
    write_html_report(sqlite_export, ours, title="Second")
    assert "<title>Second</title>" in ours.read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.html", "report.html"]  # no temporary file left


def test_what_is_not_an_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    for source, message in ((tmp_path / "missing.sqlite", "no export at"), (tmp_path / "notes.txt", "not an export"),
                            (tmp_path, "holds no export")):  # fmt: skip
        with pytest.raises(ValidationError, match=message):
            write_html_report(source, tmp_path / "r.html")
    broken = tmp_path / "calls.jsonl"
    broken.write_text('{"uuid": "x"}\n')
    with pytest.raises(ValidationError, match="not a readable export"):
        write_html_report(broken, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_an_export_without_events_still_reports_its_calendar(tmp_path: Path) -> None:
    sim = simulator(200, seed=4)
    source = export(sim, tmp_path / "calls.sqlite", recordings=False)
    with sqlite3.connect(source) as db:
        db.execute("DELETE FROM events")
    report = write_html_report(source, tmp_path / "r.html")
    html = report.path.read_text(encoding="utf-8")
    assert (report.calls, report.calls_with_events) == (200, 0)
    assert 'data-chart="week"' in html and "export with --details" in html
