"""Every code example of docs/*.md runs, against the simulator served on loopback (see tests/examples.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import pytest

from pbx_async.testing import Simulator, serve

from .examples import ROOT, Example, examples

DOCS = sorted((ROOT / "docs").glob("*.md"))
EXAMPLES = [e for page in DOCS for e in examples(page)]
BIN = Path(sys.executable).parent  # where `pbx-async` is installed beside this interpreter


@pytest.fixture(scope="module")
def env() -> Iterator[dict[str, str]]:
    """The environment of a user whose PBX is a served simulator (PBX_AUTH, PBX_CONTAINER_ID, PBX_BASE_URL)."""
    sim = Simulator(calls=400, days=3, seed=3, sample_rate=100)  # small recordings
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(sim)) as base_url,
    ):
        clean = {k: v for k, v in os.environ.items() if not k.startswith(("PBX_", "HTTP_PROXY", "HTTPS_PROXY"))}
        yield {
            **clean,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PBX_AUTH": sim.auth,
            "PBX_CONTAINER_ID": sim.container_id,
            "PBX_BASE_URL": base_url,
        }


def run(example: Example, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Write the example into ``folder`` and run it there as a user would: python, pytest or the shell."""
    example.write(folder)
    if example.kind == "pytest":
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly"]
    elif example.kind == "command":
        command = ["bash", "example.sh"]
    else:
        command = [sys.executable, "example.py"]
    return subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_the_example_runs(example: Example, env: dict[str, str], tmp_path: Path) -> None:
    result = run(example, tmp_path, env)
    assert result.returncode == 0, f"{example.name} failed:\n{example.code}\n{result.stdout}\n{result.stderr}"
    if example.kind == "pytest":
        assert " passed" in result.stdout and "failed" not in result.stdout, result.stdout


def test_every_page_has_its_examples_found() -> None:
    found = {page.name: [e.kind for e in examples(page)] for page in DOCS}
    assert set(found) >= {
        "index.md", "session.md", "listing.md", "details.md", "fanout.md", "downloads.md", "notes.md", "errors.md",
        "retries.md", "observability.md", "export.md", "testing.md", "cli.md",
    }  # fmt: skip
    assert all(found.values()), found  # every page shows its area in code
    assert {kind for kinds in found.values() for kind in kinds} == {"script", "fragment", "pytest", "command"}


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("await session.get_call_details(call)\nassert False, 'a broken example'", "python"),
        ("print(session.no_such_method())", "python"),
        ("import anyio\n\nasync def main() -> None:\n    raise RuntimeError\n\nanyio.run(main)", "python"),
        ("pbx-async calls --from 2026-11-01 --no-such-flag", "sh"),
    ],
)
def test_a_broken_example_fails(code: str, language: str, env: dict[str, str], tmp_path: Path) -> None:
    assert run(Example("docs/broken.md", 1, language, code), tmp_path, env).returncode != 0
