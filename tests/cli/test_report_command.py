"""``pbx-async report OUT --html FILE`` and the demo's HTML report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pbx_async._cli import Exit

from .conftest import Ran


def demo(cli: Callable[..., Ran], folder: Path) -> Ran:
    ran = cli("demo", "--out", str(folder), "--calls", "120", "--seed", "2")
    assert ran.code == Exit.OK, ran.err
    return ran


def test_the_demo_writes_the_html_report_and_says_how_to_open_it(cli: Callable[..., Ran], tmp_path: Path) -> None:
    ran = demo(cli, tmp_path / "demo")
    page = tmp_path / "demo" / "report.html"
    text = page.read_text(encoding="utf-8")
    assert text.lstrip().lower().startswith("<!doctype html>") and "<svg" in text
    assert page.resolve().as_uri() in ran.out


def test_report_html_over_an_export(cli: Callable[..., Ran], tmp_path: Path) -> None:
    demo(cli, tmp_path / "demo")
    ran = cli("report", str(tmp_path / "demo" / "calls.sqlite"), "--html", str(tmp_path / "mine.html"))
    assert ran.code == Exit.OK, ran.err
    assert "<svg" in (tmp_path / "mine.html").read_text(encoding="utf-8")
    assert ran.out.startswith(f"wrote {tmp_path / 'mine.html'}")


def test_report_html_never_overwrites_a_file_it_did_not_write(cli: Callable[..., Ran], tmp_path: Path) -> None:
    demo(cli, tmp_path / "demo")
    theirs = tmp_path / "notes.html"
    theirs.write_text("<p>my notes</p>")
    ran = cli("report", str(tmp_path / "demo" / "calls.sqlite"), "--html", str(theirs))
    assert ran.code in (Exit.USAGE, Exit.FAILED)
    assert theirs.read_text() == "<p>my notes</p>"
    assert len(ran.err.strip().splitlines()) == 1 and "Traceback" not in ran.err
