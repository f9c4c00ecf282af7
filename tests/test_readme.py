"""The README's examples run, against the simulator over loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pbx_async.testing import Simulator, serve

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)
FRAGMENT = """
import anyio, pbx_async
from datetime import date

async def main() -> None:
    async with pbx_async.PbxSession.from_env() as session:
        day = date(2026, 11, 1)
        calls = [c async for c in session.iter_calls(from_date=day, to_date=date(2026, 11, 2))]
        call = [c for c in calls if c.recorded][0]
{body}

anyio.run(main)
"""


def run(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    script = cwd / "example.py"
    script.write_text(code, encoding="utf-8")
    return subprocess.run(
        [sys.executable, str(script)], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, timeout=120
    )


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_session_and_fragment_examples_run(tmp_path: Path) -> None:
    sim = Simulator(calls=400, days=3, seed=3)
    async with serve(sim) as base_url:
        env = {"PBX_AUTH": sim.auth, "PBX_CONTAINER_ID": sim.container_id, "PBX_BASE_URL": base_url}
        standalone = [b for b in BLOCKS if "anyio.run(main)" in b]
        starts = ("details =", "rec =", "await session", "async with session", "seen")
        fragments = [b for b in BLOCKS if b.startswith(starts)]
        assert len(standalone) == 1
        assert len(fragments) == 5
        result = run(standalone[0], tmp_path, env)
        assert result.returncode == 0, result.stderr
        assert len(result.stdout.splitlines()) > 50
        for block in fragments:
            result = run(FRAGMENT.format(body=textwrap.indent(block, " " * 8)), tmp_path, env)
            assert result.returncode == 0, (block, result.stderr)
    assert list((tmp_path / "recordings").glob("*.wav"))
    assert any(c.notes == "Called back" for c in sim.truth_calls())


def test_testing_example_passes_under_pytest(tmp_path: Path) -> None:
    [block] = [b for b in BLOCKS if "pytest_plugins" in b]
    conftest, test = block.split("# test_my_report.py")
    (tmp_path / "conftest.py").write_text(conftest, encoding="utf-8")
    (tmp_path / "test_my_report.py").write_text(test, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "-k", "asyncio"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
