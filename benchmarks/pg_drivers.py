"""Which PostgreSQL driver the sink uses: psycopg 3 (async) against asyncpg, on the sink's own writes.

    python -m benchmarks.pg_drivers postgresql://postgres@127.0.0.1:5432/postgres

The workload is the export's: calls upserted 500 to a transaction, then each
call's events (about 20) upserted with its ``details_done`` flag, 50 calls to a
transaction, run twice (the second pass is all conflicts, as a rerun is). Both
drivers run in this one process, one after the other, three rounds each,
alternating; the figure is the best round. Reported: wall seconds and client
CPU seconds, and their ratios.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pbx_async.export.sinks import _schema

CALLS, EVENTS_PER_CALL, CALL_BATCH, DETAIL_BATCH = 5_000, 20, 500, 50
_CALLS = (*_schema.CALL_COLUMNS, *_schema.ACCOUNT_COLUMNS)
_EVENTS = _schema.EVENT_COLUMNS


def _dataset() -> tuple[list[tuple[Any, ...]], dict[str, list[tuple[Any, ...]]]]:
    rng = random.Random(1)
    start = datetime(2026, 11, 1, tzinfo=UTC)
    calls, events = [], {}
    for i in range(CALLS):
        uuid = str(uuidlib.UUID(int=rng.getrandbits(128)))
        when = start + timedelta(seconds=i * 7)
        calls.append(
            (uuid, when, "inbound", "Caller", "5551234", "5559876", 120, True, f"http://x/{uuid}.wav", "Main",
             "US", "hangup", False, 0, None, False, True, "Sales", None, "123456", 0)
        )  # fmt: skip
        events[uuid] = [
            (str(uuidlib.UUID(int=rng.getrandbits(128))), uuid, when + timedelta(seconds=j), 4, "Answered",
             "101", "Alice", None, None, json.dumps({"ext_num": "101", "ext_name": "Alice"}))
            for j in range(EVENTS_PER_CALL)
        ]  # fmt: skip
    return calls, events


def _sql() -> tuple[str, str, str]:
    def upsert(table: str, names: tuple[str, ...], marker: Callable[[int], str]) -> str:
        values = ", ".join(marker(i) for i in range(len(names)))
        updates = ", ".join(f"{n} = excluded.{n}" for n in names[1:])
        into = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values})"
        return f"{into} ON CONFLICT (uuid) DO UPDATE SET {updates}"

    return (
        upsert("calls", _CALLS, lambda i: f"${i + 1}"),
        upsert("events", _EVENTS, lambda i: f"${i + 1}"),
        "UPDATE calls SET details_done = TRUE WHERE uuid = ANY($1)",
    )


async def _reset(url: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        for table in ("calls", "events", "recordings", "export_meta", "export_chunks", "export_shards"):
            await conn.execute(f"DROP TABLE IF EXISTS {table}")
        await conn.execute("DROP TABLE IF EXISTS schema_version")
        await conn.execute(_schema.VERSION_TABLE)
        for statement in _schema.upgrade(0, "postgresql"):
            await conn.execute(statement)


async def _psycopg(url: str, calls: list[tuple[Any, ...]], events: dict[str, list[tuple[Any, ...]]]) -> None:
    import psycopg

    call_sql = _percent(_sql()[0])
    event_sql = _percent(_sql()[1])
    done_sql = "UPDATE calls SET details_done = TRUE WHERE uuid = ANY(%s)"
    async with await psycopg.AsyncConnection.connect(url) as conn:
        for _ in range(2):
            for i in range(0, len(calls), CALL_BATCH):
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.executemany(call_sql, calls[i : i + CALL_BATCH])
            uuids = [c[0] for c in calls]
            for i in range(0, len(uuids), DETAIL_BATCH):
                batch = uuids[i : i + DETAIL_BATCH]
                async with conn.transaction(), conn.cursor() as cur:
                    await cur.executemany(event_sql, [e for u in batch for e in events[u]])
                    await cur.execute(done_sql, (batch,))


def _percent(sql: str) -> str:
    import re

    return re.sub(r"\$\d+", "%s", sql)


async def _asyncpg(url: str, calls: list[tuple[Any, ...]], events: dict[str, list[tuple[Any, ...]]]) -> None:
    import asyncpg

    call_sql, event_sql, done_sql = _sql()
    conn = await asyncpg.connect(url)
    try:
        for _ in range(2):
            for i in range(0, len(calls), CALL_BATCH):
                async with conn.transaction():
                    await conn.executemany(call_sql, calls[i : i + CALL_BATCH])
            uuids = [c[0] for c in calls]
            for i in range(0, len(uuids), DETAIL_BATCH):
                batch = uuids[i : i + DETAIL_BATCH]
                async with conn.transaction():
                    await conn.executemany(event_sql, [e for u in batch for e in events[u]])
                    await conn.execute(done_sql, batch)
    finally:
        await conn.close()


async def _measure(
    url: str, run: Callable[[str, Any, Any], Awaitable[None]], calls: Any, events: Any
) -> tuple[float, float]:
    await _reset(url)
    wall, cpu = time.perf_counter(), time.process_time()
    await run(url, calls, events)
    return time.perf_counter() - wall, time.process_time() - cpu


async def main(url: str) -> None:
    calls, events = _dataset()
    drivers: dict[str, Callable[[str, Any, Any], Awaitable[None]]] = {"psycopg": _psycopg, "asyncpg": _asyncpg}
    best: dict[str, tuple[float, float]] = {}
    for _ in range(3):
        for name, run in drivers.items():
            wall, cpu = await _measure(url, run, calls, events)
            old = best.get(name, (float("inf"), float("inf")))
            best[name] = (min(old[0], wall), min(old[1], cpu))
    rows = 2 * (CALLS + CALLS * EVENTS_PER_CALL)
    for name, (wall, cpu) in best.items():
        print(f"{name:8} wall {wall:6.2f} s  client CPU {cpu:6.2f} s  {rows / wall:9.0f} rows/s")
    p, a = best["psycopg"], best["asyncpg"]
    print(f"psycopg / asyncpg: wall {p[0] / a[0]:.2f}x, client CPU {p[1] / a[1]:.2f}x")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
