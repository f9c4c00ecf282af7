"""The report as a person sees it: opened in headless Chromium, no console error, every chart drawn, a screenshot.

Skipped when no Chromium is installed, unless ``PBX_REQUIRE_BROWSER=1`` (CI
sets it). The screenshot goes to ``PBX_ARTIFACTS`` (default: the test's
temporary folder).
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import anyio
import pytest

from pbx_async.report import write_html_report

from .browser import artifacts_dir, find_chromium, visit
from .exports import export, simulator

CHARTS = {"week", "outcomes", "dids", "hours", "answer-times", "queues", "ivr", "extensions", "recordings"}
PROBE = """(() => {
  const drawn = f => Array.from(f.querySelectorAll("svg .mark")).filter(m => {
    const box = m.getBBox(); return box.width > 0 || box.height > 0;
  }).length;
  const describe = f => ({
    name: f.dataset.chart, svgs: f.querySelectorAll("svg").length,
    marks: f.querySelectorAll("svg .mark").length, drawn: drawn(f),
  });
  const charts = Array.from(document.querySelectorAll("figure.chart")).filter(f => !f.closest(".sample"));
  const tabs = Array.from(document.querySelectorAll(".tabs button"));
  const samples = tabs.map(tab => {  // as a reader would: click each sample's tab, look at what shows
    tab.click();
    const shown = Array.from(document.querySelectorAll(".sample")).filter(s => !s.hidden);
    return {...describe(shown[0].querySelector("figure.chart")), shown: shown.length,
            selected: tab.getAttribute("aria-selected")};
  });
  if (tabs.length) { tabs[0].click(); }
  return {ready: document.documentElement.getAttribute("data-ready"), charts: charts.map(describe), samples};
})()"""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = find_chromium()
    if found is None:
        if os.environ.get("PBX_REQUIRE_BROWSER") == "1":
            pytest.fail("PBX_REQUIRE_BROWSER=1 but no chromium is installed (apt-get install chromium)")
        pytest.skip("no chromium installed (apt-get install chromium); PBX_REQUIRE_BROWSER=1 makes this a failure")
    return found


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_report_opens_offline_without_errors_and_draws_every_chart(chromium: str, tmp_path: Path) -> None:
    source = export(simulator(1_500), tmp_path / "export" / "calls.sqlite")
    page = write_html_report(source, tmp_path / "report.html").path
    shot = artifacts_dir(tmp_path) / "report.png"

    seen = anyio.run(visit, chromium, page, shot, PROBE)

    assert seen.errors == ()
    assert all(url.startswith(("file:", "data:")) for url in seen.requests), seen.requests  # nothing from the network
    probe = seen.probe
    assert probe["ready"] == "true"  # the page's script ran to its end
    charts = {c["name"]: c for c in probe["charts"]}
    assert set(charts) == CHARTS
    for name, chart in charts.items():
        assert chart["svgs"] >= 1 and chart["marks"] > 0, f"{name} has no marks"
        assert chart["drawn"] == chart["marks"], f"{name}: {chart['marks'] - chart['drawn']} marks have no size"
    assert charts["week"]["marks"] == 7 * 24
    samples = probe["samples"]
    assert len(samples) >= 6
    for i, sample in enumerate(samples):  # each tab shows its own sample, and only that one
        assert (sample["name"], sample["shown"], sample["selected"]) == (f"sample-{i}", 1, "true")
        assert sample["marks"] >= 2 and sample["drawn"] == sample["marks"]  # at least a start and an end
    width, height = _png_size(seen.screenshot)
    assert width == 1400 and height > 2000


def test_the_browser_check_sees_script_errors_and_network_requests(chromium: str, tmp_path: Path) -> None:
    page = tmp_path / "broken.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/logo.png" alt="">'
        '<script>console.error("boom"); null.x;</script></body></html>'
    )
    seen = anyio.run(visit, chromium, page, tmp_path / "broken.png", "document.title")
    assert len(seen.errors) >= 2  # the console.error and the uncaught TypeError
    assert "http://127.0.0.1:9/logo.png" in seen.requests
