"""Scale-out export: shard processes into one PostgreSQL database, against the multi-account simulator.

The headline test runs the real commands: ``pbx-async plan`` on an accounts
file, then every shard as its own ``pbx-async export --shard`` process, four at
a time, with a duplicate and an overlapping shard among them, one killed midway
and run again; the database must then hold exactly the simulator's ground truth.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

import psycopg
import pytest

from pbx_async.export import Shard
from pbx_async.testing import Simulator, serve_process

pytestmark = pytest.mark.slow  # shard processes and a simulator process
ACCOUNTS, CALLS, RECORDING_BYTES = 3, 1_200, 20_000
KEYS = {f"PBX_KEY_{i}": "sim-secret-key" + (f"-{i}" if i else "") for i in range(ACCOUNTS)}
ACCOUNTS_TOML = """
[defaults]
base_url = "{base_url}"

[[account]]
name = "north"
container_id = "123456"
auth_env = "PBX_KEY_0"

[[account]]
name = "north-tenant-1"
container_id = "123456"
tenant_id = 1
auth_env = "PBX_KEY_1"
utc_offset = -300

[[account]]
name = "south"
container_id = "123457"
auth_env = "PBX_KEY_2"
utc_offset = 330
"""


def pbx(*args: str) -> list[str]:
    return [sys.executable, "-m", "pbx_async", *args]


def shard_command(line: str, sink: str, recordings: Path) -> list[str]:
    return pbx("export", "--shard", line, "--sink", sink, "--details", "--recordings", str(recordings), "--json")


def start(command: list[str], env: dict[str, str], logs: list[Path], folder: Path) -> subprocess.Popen[bytes]:
    log = folder / f"shard-{len(logs)}.log"
    logs.append(log)
    with log.open("wb") as fh:
        return subprocess.Popen(command, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT)


def db_rows(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()  # type: ignore[arg-type]


def truth(sim: Simulator) -> dict[str, Any]:
    """Per call: account, summary fields, events and recording checksum, as the database should hold them."""
    out: dict[str, Any] = {}
    for account in sim.all_accounts():
        for call in account.truth_calls():
            details = account.truth_details(call.uuid)
            out[call.uuid] = (
                account.container_id, account.tenant_id, call.date.astimezone(UTC), call.direction.name.lower(),
                call.duration, call.num_dialed, call.flagged, call.notes,
                sorted((e.uuid, e.date.astimezone(UTC), e.type_id, e.data1, e.data2, e.data3, e.data4)
                       for e in details.events),
                account.recording_sha256(call.uuid) if call.recorded else None,
            )  # fmt: skip
    return out


def exported(url: str) -> dict[str, Any]:
    events: dict[str, list[tuple[Any, ...]]] = {}
    for uuid, call_uuid, date, type_id, *data in db_rows(
        url, "SELECT uuid, call_uuid, date, type_id, data1, data2, data3, data4 FROM events"
    ):
        events.setdefault(call_uuid, []).append((uuid, date, type_id, *data))
    query = (
        "SELECT c.uuid, c.container_id, c.tenant_id, c.date, c.direction, c.duration, c.num_dialed, c.flagged, "
        "c.notes, c.details_done, r.sha256 FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid"
    )
    out = {}
    for uuid, container, tenant, date, direction, duration, dialed, flagged, notes, done, sha in db_rows(url, query):
        assert done, f"call {uuid} has no details"
        out[uuid] = (container, tenant, date, direction, duration, dialed, flagged, notes,
                     sorted(events.get(uuid, [])), sha)  # fmt: skip
    return out


def test_four_shard_processes_one_killed_leave_exactly_the_ground_truth(postgres_url: str, tmp_path: Path) -> None:
    sim = Simulator.accounts(ACCOUNTS, calls=CALLS, recording_bytes=RECORDING_BYTES)
    recordings = tmp_path / "recordings"
    with serve_process(accounts=ACCOUNTS, calls=CALLS, recording_bytes=RECORDING_BYTES, latency=0.01) as base_url:
        config = tmp_path / "accounts.toml"
        config.write_text(ACCOUNTS_TOML.format(base_url=base_url))
        env = {**KEYS, "PYTHONWARNINGS": "error"}
        planned = subprocess.run(
            pbx("plan", "--config", str(config), "--from", "2026-10-26", "--to", "2026-11-02", "--pages", "1"),
            env={**os.environ, **env}, capture_output=True, text=True, timeout=120, check=True,
        )  # fmt: skip
        lines = planned.stdout.splitlines()
        assert not any(key in planned.stdout + planned.stderr for key in KEYS.values())
        shards = [json.loads(line) for line in lines]
        assert {s["account"] for s in shards} == {"north", "north-tenant-1", "south"}
        assert all(s["calls"] <= 500 for s in shards), "each shard's listing fits the asked-for page"
        assert sum(s["calls"] for s in shards) == ACCOUNTS * CALLS
        assert len(shards) >= 9

        # The queue: every shard; the first again right behind it (same shard twice at once); a shard that
        # overlaps two planned ones of another account, running beside them.
        tenant = [s for s in shards if s["account"] == "north-tenant-1"]
        overlapping = json.dumps({**tenant[0], "to": tenant[1]["to"], "calls": None})
        queue = [lines[0], lines[0], overlapping, *lines[1:]]
        logs: list[Path] = []
        running: list[subprocess.Popen[bytes]] = []
        codes: list[int] = []
        victim_line, victim, killed = next(line for line in lines if '"south"' in line), None, False
        seed = int(os.environ.get("PBX_KILL_SEED", str(time.time_ns() % 10_000)))
        stage = random.Random(seed).choice(list(STAGES))
        print(f"kill stage {stage!r} (PBX_KILL_SEED={seed} replays it)")
        while queue or running:
            while queue and len(running) < 4:
                line = queue.pop(0)
                running.append(start(shard_command(line, postgres_url, recordings), env, logs, tmp_path))
                if line == victim_line:
                    victim = running[-1]
            if (
                victim is not None
                and not killed
                and victim.poll() is None
                and reached(postgres_url, victim_line, stage)
            ):
                victim.send_signal(signal.SIGKILL)  # midway: listing, timelines or recordings begun, not ended
                victim.wait()
                running.remove(victim)
                killed = True
            for process in list(running):
                if process.poll() is not None:
                    codes.append(process.returncode)
                    running.remove(process)
            time.sleep(0.02)
        assert killed, f"the shard to kill finished before it could be killed (PBX_KILL_SEED={seed})"
        assert codes and all(code == 0 for code in codes), [log.read_text()[-2000:] for log in logs]

        # The killed shard is not finished; its rerun finishes it.
        key = Shard.from_json(victim_line).key
        assert not db_rows(postgres_url, "SELECT 1 FROM export_shards WHERE key = %s", key), "killed, yet finished?"
        assert exported_incomplete(postgres_url), f"the kill left nothing undone (PBX_KILL_SEED={seed})"
        rerun = subprocess.run(
            shard_command(victim_line, postgres_url, recordings), env={**os.environ, **env},
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        assert json.loads(rerun.stdout)["finished"] is True

    # Exactly the ground truth: every call, event and recording once, nothing else.
    assert exported(postgres_url) == truth(sim)
    counts = db_rows(postgres_url, "SELECT (SELECT count(*) FROM calls), (SELECT count(*) FROM events)")[0]
    assert counts == (len(truth(sim)), sum(len(t[8]) for t in truth(sim).values()))
    # Recordings: each file whole, where its row says, checksum as recorded; no partial files left.
    for call_uuid, path, size, sha in db_rows(postgres_url, "SELECT call_uuid, path, size, sha256 FROM recordings"):
        data = Path(path).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha), call_uuid
        assert Path(path).resolve().is_relative_to(recordings.resolve())
    assert not list(recordings.rglob("*.part"))
    # Every planned shard is recorded as finished; a rerun of the plan finds nothing to do.
    finished = db_rows(postgres_url, "SELECT count(*) FROM export_shards")[0][0]
    assert finished == len(lines) + 1  # and the overlapping one
    # The keys never reached the logs or the database.
    text = " ".join(log.read_text() for log in logs) + rerun.stdout + rerun.stderr
    dump = json.dumps([list(map(str, r)) for r in db_rows(postgres_url, "SELECT * FROM calls")])
    for key in KEYS.values():
        assert key not in text
        assert key not in dump


# Where in a shard's run the kill lands: calls listed, some timelines stored, some recordings stored.
STAGES = {
    "listing": "SELECT count(*) FROM calls c WHERE {window}",
    "timelines": "SELECT count(*) FROM calls c WHERE c.details_done AND {window}",
    "recordings": "SELECT count(*) FROM recordings r JOIN calls c ON c.uuid = r.call_uuid WHERE {window}",
}


def reached(url: str, line: str, stage: str) -> bool:
    shard = json.loads(line)
    window = "c.container_id = %s AND c.tenant_id = %s AND c.date BETWEEN %s AND %s"
    params = (shard["container_id"], shard["tenant_id"], shard["from"], shard["to"])
    return bool(db_rows(url, STAGES[stage].format(window=window), *params)[0][0])


def exported_incomplete(url: str) -> bool:
    missing = db_rows(url, "SELECT count(*) FROM calls WHERE NOT details_done")[0][0]
    unsaved = db_rows(
        url, "SELECT count(*) FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid "
        "WHERE c.recorded AND r.call_uuid IS NULL"
    )[0][0]  # fmt: skip
    return bool(missing or unsaved) or db_rows(url, "SELECT count(*) FROM calls")[0][0] < ACCOUNTS * CALLS
