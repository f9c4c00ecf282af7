"""The two sinks: one schema in step, migrations (old files, concurrent processes), shards run into each.

PostgreSQL tests use the server of tests/postgres.py (``.ci/run`` starts one, or the tests start a throwaway one).
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import attrs
import psycopg
import pytest

from pbx_async import RecordingFile, RetryPolicy, SinkError, ValidationError
from pbx_async.export import Account, AccountConfig, Shard, Window, Work, open_sink, run_shard
from pbx_async.export.sinks import _schema
from pbx_async.export.sinks._postgres import PostgresSink
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Faults, Simulator

pytestmark = pytest.mark.anyio
PATIENT = RetryPolicy(max_attempts=12, initial_backoff=0.001, max_backoff=0.01)

# The SQLite export file as it was written before the schema had versions.
V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    uuid TEXT PRIMARY KEY,
    date TEXT NOT NULL,
    direction TEXT NOT NULL,
    cid_name TEXT, cid_num TEXT, num_dialed TEXT,
    duration INTEGER,
    recorded INTEGER NOT NULL,
    recording_url TEXT, did_description TEXT, cid_prefix TEXT, last_event TEXT,
    flagged INTEGER NOT NULL,
    severity INTEGER,
    notes TEXT,
    went_to_voicemail INTEGER NOT NULL,
    spoke_to_person INTEGER NOT NULL,
    did_group TEXT, transcription TEXT,
    details_done INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS calls_by_date ON calls (date);
CREATE TABLE IF NOT EXISTS events (
    uuid TEXT PRIMARY KEY,
    call_uuid TEXT NOT NULL REFERENCES calls (uuid),
    date TEXT NOT NULL,
    type_id INTEGER NOT NULL,
    type_name TEXT NOT NULL,
    data1 TEXT, data2 TEXT, data3 TEXT, data4 TEXT,
    fields TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_call ON events (call_uuid, date);
CREATE TABLE IF NOT EXISTS recordings (
    call_uuid TEXT PRIMARY KEY REFERENCES calls (uuid),
    path TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS export_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS export_chunks (start TEXT PRIMARY KEY, end_ TEXT NOT NULL);
"""


def sqlite_columns(path: Path) -> dict[str, list[str]]:
    db = sqlite3.connect(path)
    tables = [
        r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name != 'schema_version'")
    ]
    return {t: [r[1] for r in db.execute(f"PRAGMA table_info({t})")] for t in tables}


def postgres_columns(url: str) -> dict[str, list[str]]:
    query = (
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' "
        "AND table_name != 'schema_version' ORDER BY table_name, ordinal_position"
    )
    out: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        for table, column in conn.execute(query):
            out.setdefault(table, []).append(column)
    return out


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_both_sinks_have_the_same_tables_and_columns(postgres_url: str, tmp_path: Path) -> None:
    sqlite = await open_sink(f"sqlite:///{tmp_path}/calls.sqlite")
    postgres = await open_sink(postgres_url)
    try:
        expected = _schema.columns()
        assert sqlite_columns(tmp_path / "calls.sqlite") == expected
        assert postgres_columns(postgres_url) == expected
        assert isinstance(sqlite, SqliteSink) and isinstance(postgres, PostgresSink)
        assert await sqlite.version() == await postgres.version() == _schema.VERSION
    finally:
        await sqlite.close()
        await postgres.close()


async def test_an_export_file_from_before_versioning_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.executemany(
        "INSERT INTO calls (uuid, date, direction, recorded, flagged, went_to_voicemail, spoke_to_person, "
        "details_done) VALUES (?, ?, 'inbound', 0, 0, 0, 1, 1)",
        [("c1", "2026-11-01T05:00:00-05:00"), ("c2", "2026-11-01T15:30:00.250000+05:30")],
    )
    db.execute("INSERT INTO export_chunks (start, end_) VALUES ('a', 'b')")
    db.commit()
    db.close()
    sink = await SqliteSink.open(path)
    try:
        assert await sink.version() == _schema.VERSION
        assert (await sink.counts()).calls == 2 and await sink.day_done("a")  # nothing lost
        assert sqlite_columns(path)["calls"][-4:] == ["container_id", "tenant_id", "first_seen", "last_changed"]
        # Times in UTC since version 3: text order is time order, whatever offset a file was written in.
        assert [r[0] for r in sink.db.execute("SELECT date FROM calls ORDER BY uuid")] == [
            "2026-11-01T10:00:00+00:00",
            "2026-11-01T10:00:00.250000+00:00",
        ]
    finally:
        await sink.close()
    again = await SqliteSink.open(path)  # opening a current file changes nothing
    assert await again.version() == _schema.VERSION
    await again.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_both_sinks_count_the_same_rows_alike(postgres_url: str, tmp_path: Path) -> None:
    sim = Simulator(calls=80, days=2, seed=6)
    calls = sim.truth_calls()
    recorded = [c for c in calls if c.recorded][:3]
    counted = []
    for url in (f"sqlite:///{tmp_path}/calls.sqlite", postgres_url):
        sink = await open_sink(url)
        try:
            await sink.upsert_calls(Account(sim.container_id), calls)
            await sink.save_details([sim.truth_details(c.uuid) for c in calls])
            for i, call in enumerate(recorded):
                file = RecordingFile(call.uuid, tmp_path / f"{i}.wav", 1000 + i, "0" * 64)
                await sink.save_recording(call.uuid, file)
            assert isinstance(sink, SqliteSink | PostgresSink)
            counted.append(await sink.counts())
        finally:
            await sink.close()
    inbound = [c for c in calls if c.direction.name == "INBOUND"]
    assert counted[0] == counted[1]
    assert counted[0] == _schema.Counts(
        calls=len(calls),
        inbound=len(inbound),
        outbound=sum(c.direction.name == "OUTBOUND" for c in calls),
        internal=sum(c.direction.name == "INTERNAL" for c in calls),
        answered=sum(c.spoke_to_person for c in calls),
        inbound_answered=sum(c.spoke_to_person for c in inbound),
        voicemail=sum(c.went_to_voicemail for c in calls),
        events=sum(len(sim.truth_details(c.uuid).events) for c in calls),
        recordings=3,
        recording_bytes=3003,
    )


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_shard_processes_starting_together_migrate_once(postgres_url: str) -> None:
    sinks: list[Any] = []

    async def connect() -> None:
        sinks.append(await open_sink(postgres_url))

    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(connect)
    try:
        assert [await s.version() for s in sinks] == [_schema.VERSION] * 6
        with psycopg.connect(postgres_url) as conn:
            assert conn.execute("SELECT count(*) FROM schema_version").fetchone() == (1,)
    finally:
        for sink in sinks:
            await sink.close()


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_database_password_never_shows(tmp_path: Path) -> None:
    url = "postgresql://export:hunter2-secret@127.0.0.1:9/calls"  # port 9: nothing listens
    with pytest.raises(SinkError) as caught:
        await open_sink(url)
    assert "hunter2" not in str(caught.value)
    assert "export:***@127.0.0.1:9" in str(caught.value)
    for unusable in (
        "mysql://export:hunter2-secret@db/calls",
        "postgresql://export:hunter2-secret@db:notaport/calls",
        "postgresql://export:hunter2-secret@[::1/calls",
    ):
        with pytest.raises(ValidationError) as bad:
            await open_sink(unusable)
        assert "hunter2" not in str(bad.value)
    with pytest.raises(SinkError) as refused:  # the driver's own complaint, scrubbed
        await open_sink("postgresql://export:hunter2-secret@127.0.0.1:9/calls?sslmode=bogus")
    assert "hunter2" not in str(refused.value)


@pytest.mark.parametrize("anyio_backend", ["trio"])
async def test_the_postgres_sink_says_it_needs_asyncio() -> None:
    with pytest.raises(ValidationError, match="asyncio"):
        await open_sink("postgresql://export@127.0.0.1:9/calls")


@pytest.mark.parametrize("url", ["sqlite://calls.sqlite", "sqlite:///", "file:///calls.sqlite"])
async def test_bad_sink_urls_are_refused(url: str) -> None:
    with pytest.raises(ValidationError, match="sqlite:///"):
        await open_sink(url)


def shard_of(sim: Simulator, start: str, end: str) -> Shard:
    account = AccountConfig("main", sim.container_id, sim.tenant_id, "UNUSED", sim.public_url, 0)
    return Shard(account, Window(datetime.fromisoformat(start), datetime.fromisoformat(end)))


async def stored(sink: Any) -> tuple[set[str], int, int]:
    if isinstance(sink, SqliteSink):
        uuids = {r[0] for r in sink.db.execute("SELECT uuid FROM calls WHERE details_done = 1")}
    else:
        uuids = {r[0] for r in await sink._conn.fetch("SELECT uuid FROM calls WHERE details_done")}
    counts = await sink.counts()
    return uuids, counts.events, counts.calls


@pytest.mark.parametrize(
    ("anyio_backend", "kind"), [("asyncio", "sqlite"), ("trio", "sqlite"), ("asyncio", "postgresql")]
)
async def test_a_shard_twice_at_once_and_an_overlapping_one_store_each_row_once(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/calls.sqlite" if kind == "sqlite" else request.getfixturevalue("postgres_url")
    # One request in five meets a fault (500, 503, reset, cut body, truncated JSON); retries absorb them.
    faults = Faults(error_500=0.04, error_503=0.04, reset=0.04, cut_body=0.04, truncated_json=0.04)
    sim = Simulator(calls=600, days=3, seed=4, faults=faults)
    a = shard_of(sim, "2026-10-31T00:00:00+00:00", "2026-11-01T11:59:59+00:00")
    b = shard_of(sim, "2026-11-01T00:00:00+00:00", "2026-11-02T23:59:59+00:00")  # overlaps a by 12 hours
    results = []

    async def run(shard: Shard) -> None:
        sink = await open_sink(url)  # a connection each, as separate processes have
        try:
            async with sim.session(max_concurrency=8, retry=PATIENT) as session:
                results.append(await run_shard(session, sink, shard, Work(details=True)))
        finally:
            await sink.close()

    async with anyio.create_task_group() as tg:
        for shard in (a, a, b):
            tg.start_soon(run, shard)
    window = [c for c in sim.truth_calls() if a.window.start <= c.date <= b.window.end]
    sink = await open_sink(url)
    try:
        uuids, events, calls = await stored(sink)
        assert uuids == {c.uuid for c in window}
        assert calls == len(window)
        assert events == sum(len(sim.truth_details(c.uuid).events) for c in window)
        assert all(r.failures == 0 and r.finished for r in results)
        assert sim.stats["fault reset"] and sim.stats["fault truncated_json"]  # faults were met
        assert await sink.shard_done(a.key) and await sink.shard_done(b.key)
        again = await run_shard_once(sim, sink, a)
        assert again.skipped  # a finished shard is not fetched again
    finally:
        await sink.close()


async def run_shard_once(sim: Simulator, sink: Any, shard: Shard) -> Any:
    async with sim.session() as session:
        return await run_shard(session, sink, shard, Work(details=True), now=datetime.now(UTC))


@pytest.mark.parametrize(("anyio_backend", "kind"), [("asyncio", "sqlite"), ("asyncio", "postgresql")])
async def test_a_call_in_the_last_second_of_a_window_is_inside_it(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/calls.sqlite" if kind == "sqlite" else request.getfixturevalue("postgres_url")
    sim = Simulator(calls=5, seed=1)
    end = datetime(2026, 11, 1, 11, 59, 59, tzinfo=UTC)
    late = attrs.evolve(sim.truth_calls()[0], date=end.replace(microsecond=500_000), recorded=True)
    after = attrs.evolve(sim.truth_calls()[1], date=end + timedelta(seconds=1), recorded=True)
    sink = await open_sink(url)
    try:
        account = Account(sim.container_id, 0)
        await sink.upsert_calls(account, [late, after])
        assert await sink.calls_needing_details(account, end - timedelta(hours=1), end) == [late.uuid]
        pending = await sink.calls_needing_recordings(account, end - timedelta(hours=1), end)
        assert [uuid for uuid, _ in pending] == [late.uuid]
        assert await sink.calls_needing_details(Account(sim.container_id, 1), end - timedelta(hours=1), end) == []
    finally:
        await sink.close()


async def test_a_shard_still_open_is_not_marked_finished(tmp_path: Path) -> None:
    sim = Simulator(calls=100, days=1, seed=2)
    shard = shard_of(sim, "2026-11-02T00:00:00+00:00", "2026-11-02T23:59:59+00:00")
    sink = await open_sink(f"sqlite:///{tmp_path}/calls.sqlite")
    try:
        async with sim.session() as session:
            first = await run_shard(session, sink, shard, Work(), now=sim.now)
            second = await run_shard(session, sink, shard, Work(), now=sim.now)
        assert not first.finished and not await sink.shard_done(shard.key)
        assert not second.skipped and second.listed == first.listed > 0  # listed again: calls may still arrive
    finally:
        await sink.close()


@pytest.mark.parametrize(("anyio_backend", "kind"), [("asyncio", "sqlite"), ("asyncio", "postgresql")])
async def test_a_database_from_a_newer_version_is_refused(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/calls.sqlite" if kind == "sqlite" else request.getfixturevalue("postgres_url")
    await (await open_sink(url)).close()
    if kind == "sqlite":
        with sqlite3.connect(tmp_path / "calls.sqlite") as db:
            db.execute("UPDATE schema_version SET version = 99")
    else:
        with psycopg.connect(url) as conn:
            conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(SinkError, match=f"schema version 99; this pbx-async knows up to {_schema.VERSION}: upgrade"):
        await open_sink(url)
