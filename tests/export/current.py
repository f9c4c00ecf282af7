"""Helpers of the keep-current tests: the simulator's ground truth and an output, read into one shape."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio.from_thread

from pbx_async.testing import Simulator, serve


@contextmanager
def served(sim: Simulator) -> Iterator[dict[str, str]]:
    """The simulator on a loopback port for the block; yields the environment the command needs."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(sim)) as base_url,
    ):
        yield {"PBX_AUTH": sim.auth, "PBX_CONTAINER_ID": sim.container_id, "PBX_BASE_URL": base_url}


def _instant(value: Any) -> str:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.astimezone(UTC).isoformat()


def truth(sim: Simulator, *, events: bool = True, recordings: bool = True) -> dict[str, Any]:
    """Per call, as an output should hold it now: account, instant, mutable fields, events, recording checksum."""
    out: dict[str, Any] = {}
    for account in sim.all_accounts():
        for call in account.truth_calls():
            details = account.truth_details(call.uuid).events if events else ()
            out[call.uuid] = (
                account.container_id, account.tenant_id, _instant(call.date), call.duration, call.flagged,
                call.severity, call.notes, call.transcription, call.recorded,
                sorted((e.uuid, _instant(e.date), e.type_id) for e in details),
                account.recording_sha256(call.uuid) if recordings and call.recorded else None,
            )  # fmt: skip
    return out


def _row(row: dict[str, Any], events: list[tuple[Any, ...]], sha: str | None) -> tuple[Any, ...]:
    return (
        row["container_id"], int(row["tenant_id"]), _instant(row["date"]), row["duration"], bool(row["flagged"]),
        row["severity"], row["notes"], row["transcription"], bool(row["recorded"]), sorted(events), sha,
    )  # fmt: skip


def read_sqlite(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    db.row_factory = sqlite3.Row
    try:
        events: dict[str, list[tuple[Any, ...]]] = {}
        for e in db.execute("SELECT uuid, call_uuid, date, type_id FROM events"):
            events.setdefault(e["call_uuid"], []).append((e["uuid"], _instant(e["date"]), e["type_id"]))
        rows = db.execute("SELECT c.*, r.sha256 FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid")
        return _unique((dict(r) for r in rows), events)
    finally:
        db.close()


def read_jsonl(path: Path) -> dict[str, Any]:
    calls = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    events = {c["uuid"]: [(e["uuid"], _instant(e["date"]), e["type_id"]) for e in c.get("events", [])] for c in calls}
    return _unique(({**c, "sha256": (c["recording"] or {}).get("sha256")} for c in calls), events)


def read_postgres(url: str) -> dict[str, Any]:
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, row_factory=dict_row) as conn:
        events: dict[str, list[tuple[Any, ...]]] = {}
        for e in conn.execute("SELECT uuid, call_uuid, date, type_id FROM events"):
            events.setdefault(e["call_uuid"], []).append((e["uuid"], _instant(e["date"]), e["type_id"]))
        rows = conn.execute("SELECT c.*, r.sha256 FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid")
        return _unique(rows, events)


def _unique(rows: Any, events: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for row in rows:
        assert row["uuid"] not in out, f"call {row['uuid']} stored twice"
        out[row["uuid"]] = _row(row, events.get(row["uuid"], []), row["sha256"])
    return out
