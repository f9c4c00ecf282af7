"""rich is the 'cli' extra's, for the bars alone: without it the library and the command work, with plain lines."""

from __future__ import annotations

import argparse
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

from pbx_async._cli import _output as out
from pbx_async._cli import main
from pbx_async.export import LogProgress, RichProgress

from .conftest import WINDOW


def test_rich_is_no_core_dependency_but_the_cli_extras() -> None:
    requires = importlib.metadata.requires("pbx-async") or []
    rich = [r.replace('"', "'") for r in requires if r.startswith("rich")]
    assert all("extra ==" in r for r in rich), rich  # never unconditional
    assert any("extra == 'cli'" in r for r in rich), rich


def test_the_library_and_the_command_import_without_rich() -> None:
    code = (
        "import sys; sys.modules['rich'] = None\n"  # an import of rich now fails, as when it is not installed
        "import pbx_async, pbx_async.export, pbx_async.testing, pbx_async._cli\n"
        "assert pbx_async._cli.main(['--version']) == 0\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith(importlib.metadata.version("pbx-async"))


def test_a_terminal_without_rich_gets_plain_progress_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    args = argparse.Namespace(quiet=False, json=False)
    assert type(out.progress(args)) is RichProgress
    monkeypatch.setitem(sys.modules, "rich", None)  # as when the 'cli' extra is not installed
    assert type(out.progress(args)) is LogProgress
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    monkeypatch.delitem(sys.modules, "rich")
    assert type(out.progress(args)) is LogProgress  # a pipe, as before


def test_an_export_on_a_terminal_without_rich_runs_to_the_end(
    account: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["export", *WINDOW, "--details", "--out", str(tmp_path / "calls.jsonl"), "--quiet"]) == 0
    assert main(["export", *WINDOW, "--details", "--out", str(tmp_path / "calls.sqlite")]) == 0
