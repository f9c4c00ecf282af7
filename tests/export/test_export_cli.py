"""The real ``pbx-async export`` command against the simulator over loopback, checked against ground truth."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pbx_async.testing import Simulator

from .current import served

pytestmark = pytest.mark.slow  # every test runs the command as a process
WINDOW = ["--from", "2026-10-28", "--to", "2026-11-02"]


def export_command(out: Path, fmt: str, recordings: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "pbx_async", "export", *WINDOW, "--details", "--recordings", str(recordings),
        "--format", fmt, "--out", str(out), "--quiet", "--json", *extra,
    ]  # fmt: skip


def run(command: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def truth_of(sim: Simulator) -> dict[str, dict[str, Any]]:
    """Every call as the export should hold it: summary fields, events, recording checksum."""
    out = {}
    for call in sim.truth_calls():
        details = sim.truth_details(call.uuid)
        out[call.uuid] = {
            "date": call.date.isoformat(),
            "direction": call.direction.name.lower(),
            "duration": call.duration,
            "num_dialed": call.num_dialed,
            "events": [
                (e.uuid, e.date.isoformat(), e.type_id, e.data1, e.data2, e.data3, e.data4) for e in details.events
            ],
            "sha256": sim.recording_sha256(call.uuid) if call.recorded else None,
        }
    return out


def read_export(fmt: str, out: Path) -> dict[str, dict[str, Any]]:
    """The exported calls in the same shape as ``truth_of``, whatever the format."""
    calls: dict[str, dict[str, Any]] = {}
    events: dict[str, list[tuple[Any, ...]]] = {}

    def event_key(e: dict[str, Any]) -> tuple[Any, ...]:
        return (e["uuid"], e["date"], int(e["type_id"]), *(e[f"data{i}"] or None for i in range(1, 5)))

    if fmt == "sqlite":
        db = sqlite3.connect(out)
        db.row_factory = sqlite3.Row
        rows = [
            dict(r)
            for r in db.execute("SELECT c.*, r.sha256 FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid")
        ]
        for e in db.execute("SELECT * FROM events ORDER BY call_uuid, date, uuid"):
            events.setdefault(e["call_uuid"], []).append(event_key(dict(e)))
        db.close()
    elif fmt == "jsonl":
        rows = []
        for line in out.read_text(encoding="utf-8").splitlines():
            call = json.loads(line)
            call["sha256"] = call["recording"]["sha256"] if call["recording"] else None
            events[call["uuid"]] = [event_key(e) for e in call["events"]]
            rows.append(call)
    elif fmt == "csv":
        with out.open(newline="", encoding="utf-8") as fh:
            rows = [{**r, "sha256": r["recording_sha256"] or None} for r in csv.DictReader(fh)]
        with out.with_name(f"{out.stem}-events.csv").open(newline="", encoding="utf-8") as fh:
            for e in csv.DictReader(fh):
                events.setdefault(e["call_uuid"], []).append(event_key(e))
    else:
        import pyarrow.parquet as pq

        rows = [{**r, "sha256": r["recording_sha256"]} for r in pq.read_table(out).to_pylist()]
        for e in pq.read_table(out.with_name(f"{out.stem}-events.parquet")).to_pylist():
            events.setdefault(e["call_uuid"], []).append(event_key(e))
    for row in rows:
        assert row["uuid"] not in calls, f"call {row['uuid']} exported twice"
        duration = row["duration"]
        calls[row["uuid"]] = {
            "date": row["date"],
            "direction": row["direction"],
            "duration": int(duration) if duration not in (None, "") else None,
            "num_dialed": row["num_dialed"] or None,
            "events": sorted(events.get(row["uuid"], []), key=lambda e: (e[1], e[0])),
            "sha256": row["sha256"],
        }
    for uuid in calls:
        calls[uuid]["events"] = sorted(calls[uuid]["events"], key=lambda e: (e[1], e[0]))
    return calls


def normalised(truth: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {u: {**c, "events": sorted(c["events"], key=lambda e: (e[1], e[0]))} for u, c in truth.items()}


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(calls=400, days=5, seed=44, sample_rate=200, quirks=True)


@pytest.mark.parametrize("fmt", ["sqlite", "jsonl", "csv", "parquet"])
def test_every_format_holds_the_ground_truth(sim: Simulator, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"calls.{fmt}"
    with served(sim) as env:
        result = run(export_command(out, fmt, tmp_path / "recordings"), env)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["calls"] == len(sim) and summary["failures"] == 0
    assert read_export(fmt, out) == normalised(truth_of(sim))
    recordings = sorted(p.name for p in (tmp_path / "recordings").iterdir())
    assert recordings == sorted(f"{c.uuid}.wav" for c in sim.truth_calls() if c.recorded)


def work_served(sim: Simulator) -> int:
    """Timelines and recordings the simulator has served so far."""
    return sim.stats["requests /api/call_details.php"] + sim.stats["requests /api/call_recording.php"]


def test_an_export_killed_three_times_ends_exactly_once(tmp_path: Path) -> None:
    sim = Simulator(calls=900, days=5, seed=45, sample_rate=400, latency=0.02)
    out, recordings = tmp_path / "calls.jsonl", tmp_path / "recordings"
    command = export_command(out, "jsonl", recordings, "--concurrency", "4")
    with served(sim) as env:
        # Three SIGKILLs at random points of the work, by requests served rather than by time,
        # so a slow machine kills at the same points (seed printed to replay).
        seed = int(os.environ.get("PBX_KILL_SEED", str(time.time_ns() % 10_000)))
        rng = random.Random(seed)
        print(f"SIGKILL seed {seed}")
        served_so_far = 0
        for share in sorted(rng.uniform(0.05, 0.45) for _ in range(3)):
            quiet = subprocess.DEVNULL
            process = subprocess.Popen(command, env={**os.environ, **env}, stdout=quiet, stderr=quiet)
            target = served_so_far + max(5, int(share * len(sim) / 3))
            deadline = time.monotonic() + 120
            while work_served(sim) < target and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait()
            assert process.returncode == -signal.SIGKILL, "the export finished before it could be killed"
            served_so_far = work_served(sim)
        final = run(command, env)
    assert final.returncode == 0, final.stderr
    summary = json.loads(final.stdout)
    assert summary["fetched_this_run"]["details"] < len(sim)  # finished work was not fetched again
    assert read_export("jsonl", out) == normalised(truth_of(sim))
    leftovers = [p for p in tmp_path.rglob("*") if p.suffix in (".part", ".tmp") or p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_rerun_of_a_finished_export_fetches_no_details(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "calls.sqlite"
    with served(sim) as env:
        first = run(export_command(out, "sqlite", tmp_path / "rec"), env)
        again = run(export_command(out, "sqlite", tmp_path / "rec"), env)
    assert first.returncode == again.returncode == 0
    fetched = json.loads(again.stdout)["fetched_this_run"]
    assert fetched["details"] == fetched["recordings"] == 0
    assert json.loads(again.stdout)["calls"] == len(sim)


def test_a_different_export_into_the_same_file_is_refused(sim: Simulator, tmp_path: Path) -> None:
    out = tmp_path / "calls.sqlite"
    with served(sim) as env:
        assert run(export_command(out, "sqlite", tmp_path / "rec"), env).returncode == 0
        other = run([*export_command(out, "sqlite", tmp_path / "rec"), "--no-show-internal"], env)
    assert other.returncode == 2
    assert "holds a different export" in other.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-11-05", "--to", "2026-11-01"], "is after"),
        (["--from", "yesterday", "--to", "2026-11-01"], "YYYY-MM-DD"),
        (["--severity", "9"], "0 to 5"),
    ],
)
def test_unusable_input_exits_2_before_any_request(tmp_path: Path, args: list[str], message: str) -> None:
    command = [sys.executable, "-m", "pbx_async", "export", "--from", "2026-11-01", "--to", "2026-11-02",
               "--out", str(tmp_path / "x.sqlite"), "--quiet", *args]  # fmt: skip
    env = {"PBX_AUTH": "k", "PBX_CONTAINER_ID": "123456", "PBX_BASE_URL": "http://127.0.0.1:9/"}
    result = run(command, env)
    assert result.returncode == 2
    assert message in result.stderr
