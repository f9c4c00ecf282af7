"""The PostgreSQL sink: one database shared by any number of shard processes (asyncpg, asyncio only).

asyncpg was chosen by measurement over psycopg 3 (``benchmarks/pg_drivers.py``):
the same wall time on the export's writes, a third of the client CPU, which a
shard process needs for parsing replies. Writes are upserts keyed by UUID;
rows go in sorted by key, so two shards writing overlapping calls take their
row locks in one order and cannot deadlock each other, and a transaction that
still meets a deadlock or serialization failure is run again.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from .._errors import SinkError, ValidationError
from .._records.calls import CallDetails, CallSummary
from .._records.recordings import RecordingFile
from . import _schema
from ._schema import ACCOUNT_COLUMNS, CALL_COLUMNS, EVENT_COLUMNS
from ._sink import Account, after, redact_url
from ._sqlite import call_row, event_row

_MIGRATION_LOCK = 0x70627861  # "pbxa": one migrator at a time across processes
_ATTEMPTS = 5
T = TypeVar("T")


def _upsert(table: str, names: Sequence[str], key: str) -> str:
    values = ", ".join(f"${i}" for i in range(1, len(names) + 1))
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values}) "  # noqa: S608 - fixed names
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


_CALLS_SQL = _upsert("calls", (*CALL_COLUMNS, *ACCOUNT_COLUMNS), "uuid")
_EVENTS_SQL = _upsert("events", EVENT_COLUMNS, "uuid")
_DONE_SQL = "UPDATE calls SET details_done = TRUE WHERE uuid = ANY($1::text[])"
_RECORDING_SQL = _upsert("recordings", ("call_uuid", "path", "size", "sha256"), "call_uuid")
_SHARD_SQL = _upsert("export_shards", ("key", "container_id", "tenant_id", "start", "end_", "finished_at"), "key")


class PostgresSink:
    """A connection to one PostgreSQL database, its schema created or migrated on connect.

    sink = await PostgresSink.connect("postgresql://export@db.internal/calls")
    """

    def __init__(self, connection: Any, url: str) -> None:
        self._conn = connection
        self._where = redact_url(url)

    def __repr__(self) -> str:
        return f"PostgresSink({self._where!r})"

    @classmethod
    async def connect(cls, url: str) -> PostgresSink:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ValidationError("the PostgreSQL sink runs on asyncio (asyncpg has no Trio support)") from None
        try:
            import asyncpg
        except ImportError:
            raise ValidationError("the PostgreSQL sink needs asyncpg: pip install 'pbx-async[postgresql]'") from None
        where = redact_url(url)
        try:
            conn = await asyncpg.connect(url, timeout=30)
        except (OSError, ValueError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise SinkError(f"cannot connect to {where}: {_scrub(exc, url)}") from None
        sink = cls(conn, url)
        try:
            await sink._migrate()
        except BaseException:
            await conn.close()
            raise
        return sink

    async def _migrate(self) -> None:
        async def migrate() -> None:
            async with self._conn.transaction():
                await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK)
                await self._conn.execute(_schema.VERSION_TABLE)
                version = await self._conn.fetchval("SELECT max(version) FROM schema_version") or 0
                for number, statements in _schema.pending(int(version), "postgresql", self._where):
                    for statement in statements:
                        await self._conn.execute(statement)
                    await self._conn.execute("DELETE FROM schema_version")
                    await self._conn.execute("INSERT INTO schema_version (version) VALUES ($1)", number)

        await self._run(migrate)

    async def version(self) -> int:
        return int(await self._conn.fetchval("SELECT max(version) FROM schema_version"))

    async def close(self) -> None:
        await self._conn.close()

    async def _run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run a transaction, again after a deadlock or serialization failure; errors typed and scrubbed."""
        import asyncpg

        for attempt in range(_ATTEMPTS):
            try:
                return await work()
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                if attempt == _ATTEMPTS - 1:
                    raise SinkError(f"{self._where}: a write kept meeting deadlocks") from None
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise SinkError(f"{self._where}: {_scrub(exc, '')}") from None
        raise AssertionError("unreachable")

    # -- the Sink protocol -----------------------------------------------------------------------------

    async def upsert_calls(self, account: Account, calls: Sequence[CallSummary]) -> None:
        rows = sorted(((*call_row(c), account.container_id, account.tenant_id) for c in calls), key=_key)

        async def write() -> None:
            async with self._conn.transaction():
                await self._conn.executemany(_CALLS_SQL, rows)

        await self._run(write)

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        rows = sorted((event_row(d.call.uuid, e) for d in batch for e in d.events), key=_key)
        uuids = sorted(d.call.uuid for d in batch)

        async def write() -> None:
            async with self._conn.transaction():
                if rows:
                    await self._conn.executemany(_EVENTS_SQL, rows)
                await self._conn.execute(_DONE_SQL, uuids)

        await self._run(write)

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        await self._run(lambda: self._conn.execute(_RECORDING_SQL, call_uuid, str(rec.path), rec.size, rec.sha256))

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        query = (
            "SELECT uuid FROM calls WHERE NOT details_done AND container_id = $1 AND tenant_id = $2 "
            "AND date >= $3 AND date < $4 ORDER BY date"
        )
        rows = await self._run(
            lambda: self._conn.fetch(query, account.container_id, account.tenant_id, start, after(end))
        )
        return [r[0] for r in rows]

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        query = (
            "SELECT c.uuid, c.recording_url FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid "
            "WHERE c.recorded AND c.recording_url IS NOT NULL AND r.call_uuid IS NULL "
            "AND c.container_id = $1 AND c.tenant_id = $2 AND c.date >= $3 AND c.date < $4 ORDER BY c.date"
        )
        rows = await self._run(
            lambda: self._conn.fetch(query, account.container_id, account.tenant_id, start, after(end))
        )
        return [(r[0], r[1]) for r in rows]

    async def shard_done(self, key: str) -> bool:
        found = await self._run(lambda: self._conn.fetchval("SELECT 1 FROM export_shards WHERE key = $1", key))
        return found is not None

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        now = datetime.now(UTC)
        await self._run(
            lambda: self._conn.execute(_SHARD_SQL, key, account.container_id, account.tenant_id, start, end, now)
        )

    async def counts(self) -> dict[str, int]:
        return {
            table: int(await self._conn.fetchval(f"SELECT count(*) FROM {table}"))  # noqa: S608 - fixed names
            for table in ("calls", "events", "recordings")
        }


def _key(row: tuple[Any, ...]) -> str:
    return str(row[0])


def _scrub(exc: BaseException, url: str) -> str:
    """The driver's message without the connection string or a password in it."""
    text = str(exc) or type(exc).__name__
    if url:
        text = text.replace(url, redact_url(url))
    return re.sub(r"(password\s*[=:]\s*)\S+", r"\1***", text, flags=re.IGNORECASE)
