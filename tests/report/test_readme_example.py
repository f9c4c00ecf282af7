"""The README's journey and report example runs on a real export and prints what the README shows."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from .exports import export, simulator

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_readme_journey_example_runs(tmp_path: Path) -> None:
    [block] = [b for b in re.findall(r"```python\n(.*?)```", README, flags=re.S) if "write_html_report(" in b]
    export(simulator(800, seed=0), tmp_path / "pbx-demo" / "calls.sqlite")
    (tmp_path / "example.py").write_text(block, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"INBOUND 800555\d{4} answered", lines[0])
    assert lines[1].startswith("['menu")
    assert re.fullmatch(r"800 calls, \d+ KB: open file://.*/pbx-demo/report\.html", lines[-1])
    assert (tmp_path / "pbx-demo" / "report.html").stat().st_size > 50_000
