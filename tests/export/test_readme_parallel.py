"""The README's ``plan`` and GNU ``parallel`` lines, run exactly as written, against the simulator and PostgreSQL.

The README's accounts file (its base URL pointed at the simulator, which
serves those three accounts), the keys in the variables it names, the sink in
``PBX_SINK``: then the lines as the README has them, in a folder of their own.
The first ``parallel`` line runs while one account's key is wrong (its shards
fail, are retried, and stay failed), the "after a crash" line once it is right;
then the server changes and the keep-current lines (``plan --lookback``,
``export --refresh``) bring the warehouse up to date. ``.ci/run`` installs
Debian's ``parallel`` and sets ``PBX_REQUIRE_PARALLEL=1``, so there this test
cannot be skipped.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pbx_async.testing import Changes, Simulator
from tests.export.current import read_postgres, served, truth

pytestmark = pytest.mark.slow  # GNU parallel starting pbx-async processes
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _logical_lines(block: str) -> list[str]:
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


SH = [line for block in re.findall(r"```sh\n(.*?)```", README, flags=re.S) for line in _logical_lines(block)]
TOML = next(b for b in re.findall(r"```toml\n(.*?)```", README, flags=re.S) if "[[account]]" in b)


def _one(*words: str, without: str = "\0") -> str:
    (line,) = [line for line in SH if all(w in line for w in words) and without not in line]
    return line


PLAN = _one("pbx-async plan", "--from", "shards.jsonl")
EXPORT = _one("parallel", "--retries 3", "shards.jsonl")
RESUME = _one("parallel", "--resume-failed", "shards.jsonl")
PLAN_RECENT = _one("pbx-async plan", "--lookback", "recent.jsonl")
REFRESH = _one("parallel", "--refresh", "recent.jsonl")


def _accounts() -> list[dict[str, Any]]:
    """The README's accounts, as the TOML says them."""
    import tomllib

    data = tomllib.loads(TOML)
    return [{"tenant_id": 0, "utc_offset": 0, **a} for a in data["account"]]


def _simulator(now: datetime) -> Simulator:
    """One simulator serving the README's three accounts at one address."""
    sims = [
        Simulator(calls=240, days=40, seed=60 + i, container_id=a["container_id"], tenant_id=a["tenant_id"],
                  auth=f"key-of-{a['name']}", now=now, sample_rate=200)
        for i, a in enumerate(_accounts())
    ]  # fmt: skip
    sims[0].hosted.extend(sims[1:])
    for sim in sims[1:]:
        sim.stats = sims[0].stats
    return sims[0]


def _run(line: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    bash = shutil.which("bash") or "/bin/bash"
    return subprocess.run([bash, "-c", line], cwd=folder, env=env, capture_output=True, text=True, timeout=600)


def _windows(folder: Path) -> list[tuple[str, int, datetime, datetime]]:
    """Every shard window the two plans printed: (container, tenant, from, to)."""
    lines = [*(folder / "shards.jsonl").read_text().splitlines(), *(folder / "recent.jsonl").read_text().splitlines()]
    shards = [json.loads(line) for line in lines]
    moment = datetime.fromisoformat
    return [(s["container_id"], s["tenant_id"], moment(s["from"]), moment(s["to"])) for s in shards]


def _planned(call: tuple[Any, ...], windows: list[tuple[str, int, datetime, datetime]]) -> bool:
    moment = datetime.fromisoformat(call[2])
    return any(call[:2] == (c, t) and a <= moment < b + timedelta(seconds=1) for c, t, a, b in windows)


def test_the_readme_parallel_commands_run_as_written(tmp_path: Path, postgres_url: str) -> None:
    if shutil.which("parallel") is None:
        if os.environ.get("PBX_REQUIRE_PARALLEL"):
            raise AssertionError("GNU parallel is not installed (apt-get install parallel)")
        pytest.skip("GNU parallel is not installed")
    assert "--from 2026-08-01 --to 2026-10-31" in PLAN
    now = datetime.now(UTC).replace(microsecond=0)
    sim = _simulator(now)
    accounts = _accounts()
    with served(sim) as served_env:
        (tmp_path / "accounts.toml").write_text(TOML.replace("https://api.example.com/", served_env["PBX_BASE_URL"]))
        keys = {a["auth_env"]: f"key-of-{a['name']}" for a in accounts}
        env = {**os.environ, **keys, "PBX_SINK": postgres_url}
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"  # pbx-async of this Python
        for name in ("PBX_AUTH", "PBX_CONTAINER_ID", "PBX_TENANT_ID", "PBX_BASE_URL"):
            env.pop(name, None)

        planned = _run(PLAN, tmp_path, env)
        assert planned.returncode == 0, planned.stderr
        assert len((tmp_path / "shards.jsonl").read_text().splitlines()) >= 3
        wrong = {**env, accounts[-1]["auth_env"]: "not-the-key"}
        failed = _run(EXPORT, tmp_path, wrong)  # the last account's shards fail, three times each
        assert failed.returncode != 0
        resumed = _run(RESUME, tmp_path, env)  # after the fix: only what failed runs again
        assert resumed.returncode == 0, resumed.stderr

        for i, account in enumerate(sim.all_accounts()):
            changes = Changes(account, seed=i)
            changes.edit(4)
            changes.transcribe(1)
            changes.arrive(3)
            changes.arrive_late(1)
        planned = _run(PLAN_RECENT, tmp_path, env)
        assert planned.returncode == 0, planned.stderr
        refreshed = _run(REFRESH, tmp_path, env)
        assert refreshed.returncode == 0, refreshed.stderr

    windows = _windows(tmp_path)
    expected = {u: c for u, c in truth(sim).items() if _planned(c, windows)}
    assert len(expected) > 200
    assert read_postgres(postgres_url) == expected
    for name in ("export.log", "refresh.log"):
        assert (tmp_path / name).exists()
    assert list((tmp_path / "recordings").iterdir())
