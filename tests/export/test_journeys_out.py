"""Journeys in every output: one row per call with details, as the journey code reads the simulator's calls.

For SQLite and PostgreSQL (a ``journeys`` table) and beside JSON lines, CSV
and Parquet (``OUT-journeys.*``): each row equals
``journey_row(call_journey(sim.truth_details(uuid)))``. A sync that fetches a
call's events again writes its journey again; a file from before journeys
(schema version 3), SQLite or PostgreSQL, migrates and gets them from its stored events.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from pbx_async import PbxSession
from pbx_async._journey import JOURNEY_COLUMNS, JOURNEY_JSON_COLUMNS, call_journey, journey_row
from pbx_async.export import SyncSpec, open_sink, run_sync
from pbx_async.export.sinks import _schema
from pbx_async.export.sinks._postgres import PostgresSink
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator, serve

pytestmark = pytest.mark.anyio
SINCE = date(2026, 10, 25)  # before every simulated call
_KINDS = dict(JOURNEY_COLUMNS)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the PostgreSQL sink is asyncpg's


def _plain(name: str, value: Any) -> Any:
    """One column's value in one shape whatever the output: CSV's text, SQLite's 0/1 and JSON text alike."""
    kind = _KINDS[name]
    if value is None or value == "":
        return None
    if kind == "time":
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
        return moment.astimezone(UTC).isoformat()
    if kind == "real":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return value in (True, 1, "True", "1")
    if kind == "json":
        return json.loads(value) if isinstance(value, str) else value
    return str(value)


def _shape(row: dict[str, Any]) -> dict[str, Any]:
    assert list(row) == [name for name, _ in JOURNEY_COLUMNS]  # every column, in order
    return {name: _plain(name, value) for name, value in row.items()}


def expected(sim: Simulator) -> dict[str, dict[str, Any]]:
    """Each call's journey row as the journey code reads the simulator's own record of the call."""
    return {c.uuid: _shape(journey_row(call_journey(sim.truth_details(c.uuid)))) for c in sim.truth_calls()}


def _keyed(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    shaped = [_shape(r) for r in rows]
    keyed = {r["call_uuid"]: r for r in shaped}
    assert len(keyed) == len(shaped), "a call's journey written twice"
    return keyed


def read_journeys(kind: str, where: str | Path) -> dict[str, dict[str, Any]]:
    """The journeys an output holds, by call UUID."""
    names = ", ".join(name for name, _ in JOURNEY_COLUMNS)
    if kind == "sqlite":
        db = sqlite3.connect(where)
        db.row_factory = sqlite3.Row
        try:
            return _keyed([dict(r) for r in db.execute(f"SELECT {names} FROM journeys")])  # noqa: S608
        finally:
            db.close()
    if kind == "postgresql":
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(str(where), row_factory=dict_row) as conn:
            return _keyed(list(conn.execute(f"SELECT {names} FROM journeys")))  # noqa: S608
    path = Path(where)
    journeys = path.with_name(f"{path.stem}-journeys{path.suffix}")
    if kind == "jsonl":
        rows = [json.loads(line) for line in journeys.read_text(encoding="utf-8").splitlines()]
        for row in rows:  # JSON columns are objects here, not JSON text
            assert all(not isinstance(row[name], str) for name in JOURNEY_JSON_COLUMNS)
        return _keyed(rows)
    if kind == "csv":
        with journeys.open(encoding="utf-8", newline="") as fh:
            return _keyed(list(csv.DictReader(fh)))
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(journeys)
    arrow = {"text": pa.string(), "json": pa.string(), "time": pa.string(), "real": pa.float64()}
    arrow |= {"bool": pa.bool_(), "int": pa.int64()}
    assert [(f.name, f.type) for f in table.schema] == [(n, arrow[k]) for n, k in JOURNEY_COLUMNS]
    return _keyed(table.to_pylist())


def _spec(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> tuple[SyncSpec, str | Path]:
    if kind == "postgresql":
        url = request.getfixturevalue("postgres_url")
        return SyncSpec(sink=url, since=SINCE, details=True), url
    out = tmp_path / f"calls.{kind}"
    return SyncSpec(out=out, format=kind, since=SINCE, details=True), out


def _run_statements(kind: str, where: str | Path, statements: list[str]) -> None:
    """Change the output behind the library's back, as a person with a SQL shell would."""
    if kind == "sqlite":
        with sqlite3.connect(where) as db:
            for statement in statements:
                db.execute(statement)
        return
    import psycopg

    with psycopg.connect(str(where)) as conn:
        for statement in statements:
            conn.execute(statement.encode())


@pytest.mark.parametrize("kind", ["sqlite", "postgresql", "jsonl", "csv", "parquet"])
async def test_every_output_holds_each_calls_journey_as_the_journey_code_reads_it(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim = Simulator(calls=250, days=4, seed=8)
    spec, where = _spec(kind, tmp_path, request)
    async with serve(sim) as base_url, PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
        result = await run_sync(session, spec, now=sim.now)
    assert (result.failures, result.incomplete) == (0, 0)
    journeys, truth = read_journeys(kind, where), expected(sim)
    assert len(journeys) == len(sim) and {j["outcome"] for j in journeys.values()} > {"answered"}
    assert journeys == truth


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_sync_fetching_a_calls_events_again_writes_its_journey_again(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim = Simulator(calls=60, days=2, seed=9)
    spec, where = _spec(kind, tmp_path, request)
    uuid = next(c.uuid for c in sim.truth_calls() if len(sim.truth_details(c.uuid).events) > 2)
    # The call's journey is stale and its events are lost: the next sync fetches them again.
    statements = [
        "UPDATE journeys SET outcome = 'stale', talk_time = -1, ring_attempts = '[]' WHERE call_uuid = '%s'",
        "DELETE FROM events WHERE call_uuid = '%s'",
        "UPDATE calls SET details_done = FALSE WHERE uuid = '%s'",
    ]
    async with serve(sim) as base_url, PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
        await run_sync(session, spec, now=sim.now)
        _run_statements(kind, where, [statement % uuid for statement in statements])
        assert read_journeys(kind, where)[uuid]["outcome"] == "stale"
        second = await run_sync(session, spec, now=sim.now)
    assert (second.failures, second.incomplete) == (0, 0)
    assert read_journeys(kind, where) == expected(sim)


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_database_from_before_journeys_migrates_and_gets_them_from_its_events(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    sim = Simulator(calls=120, days=3, seed=10)
    spec, where = _spec(kind, tmp_path, request)
    async with serve(sim) as base_url, PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
        await run_sync(session, spec, now=sim.now)
    downgrade = ["DROP TABLE journeys", "UPDATE schema_version SET version = 3"]  # as version 3 wrote it
    _run_statements(kind, where, downgrade)
    sink = await open_sink(f"sqlite:///{where}" if kind == "sqlite" else str(where))
    try:
        assert isinstance(sink, SqliteSink | PostgresSink)
        assert await sink.version() == _schema.VERSION == _schema.JOURNEYS_SINCE
    finally:
        await sink.close()
    assert read_journeys(kind, where) == expected(sim)
