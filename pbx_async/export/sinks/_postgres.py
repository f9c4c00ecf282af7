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
import itertools
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from ..._errors import SinkError, ValidationError
from ..._records.calls import CallDetails, CallSummary
from ..._records.recordings import RecordingFile
from . import _schema
from . import _statements as sql
from ._protocol import Account, SyncState, Upserted

_MIGRATION_LOCK = 0x70627861  # "pbxa": one migrator at a time across processes
_SYNC_LOCKS = 0x70627873  # "pbxs": with the account's checksum, one sync of an account at a time
_ATTEMPTS = 5
T = TypeVar("T")


def _numbered(statement: str) -> str:
    """asyncpg's placeholders: ``?`` -> ``$1``, ``$2``, ... (the shared statements hold no literal ``?``)."""
    number = itertools.count(1)
    return re.sub(r"\?", lambda _: f"${next(number)}", statement)


_UPSERT_CALL = _numbered(sql.UPSERT_CALL)
_UPSERT_EVENT = _numbered(sql.UPSERT_EVENT)
_UPSERT_JOURNEY = _numbered(sql.UPSERT_JOURNEY)
_STORED_EVENTS = _numbered(sql.STORED_EVENTS)
_DETAILS_DONE = _numbered(sql.DETAILS_DONE)
_UPSERT_RECORDING = _numbered(sql.UPSERT_RECORDING)
_UPSERT_SHARD = _numbered(sql.UPSERT_SHARD)
_SHARD_DONE = _numbered(sql.SHARD_DONE)
_UPSERT_SYNC = _numbered(sql.UPSERT_SYNC)
_SYNC_STATE = _numbered(sql.SYNC_STATE)
_NEEDING_DETAILS = _numbered(sql.NEEDING_DETAILS)
_NEEDING_RECORDINGS = _numbered(sql.NEEDING_RECORDINGS)


# password=, sslpassword=, ...: the value runs to the next "&" (a password may hold ? # / @).
_SECRET_PARAM = re.compile(r"(?i)([?&][^=&#]*pass[^=&#]*=)([^&]*)")


def _split_secrets(url: str) -> tuple[str, list[str]]:
    """The URL with its passwords masked, and the passwords it held."""
    found = [m.group(2) for m in _SECRET_PARAM.finditer(url) if m.group(2)]
    url = _SECRET_PARAM.sub(lambda m: m.group(1) + "***", url)
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "the sink URL", found  # not a URL: nothing of it is repeated
    # The user part runs to the last "@": a password may hold / ? # or @, which a parser misreads.
    userinfo, at, host_and_rest = rest.rpartition("@")
    if at and ":" in userinfo:
        user, password = userinfo.split(":", 1)
        found.append(password)
        rest = f"{user}:***@{host_and_rest}"
    return f"{scheme}://{rest}", found


def redact_url(url: str) -> str:
    """The URL with any password (in the user part or a ``*pass*=`` query value) replaced by ``***``."""
    return _split_secrets(url)[0]


class PostgresSink:
    """A connection to one PostgreSQL database, its schema created or migrated on connect.

    sink = await PostgresSink.connect("postgresql://export@db.internal/calls")
    """

    def __init__(self, connection: Any, url: str) -> None:
        self._conn = connection
        self._where = redact_url(url)
        # One operation at a time on the connection: an export's stages call the sink concurrently.
        self._one = asyncio.Lock()

    def __repr__(self) -> str:
        return f"PostgresSink({self._where!r})"

    @classmethod
    async def connect(cls, url: str) -> PostgresSink:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ValidationError("the PostgreSQL sink runs on asyncio (asyncpg has no Trio support)") from None
        try:
            import asyncpg  # an optional extra: imported only when a PostgreSQL sink is asked for
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
                version = await self._conn.fetchval(_schema.VERSION_QUERY) or 0
                for statement in _schema.upgrade(int(version), "postgresql", self._where):
                    await self._conn.execute(statement)
                if 0 < int(version) < _schema.JOURNEYS_SINCE:
                    await self._backfill_journeys()

        await self._run(migrate)

    async def _backfill_journeys(self) -> None:
        """Each call with details gets its journey, read from its stored events (in the migration's transaction)."""
        for call in await self._conn.fetch(sql.STORED_CALLS):
            events = await self._conn.fetch(_STORED_EVENTS, call[0])
            await self._conn.execute(_UPSERT_JOURNEY, *sql.journey_values(sql.stored_details(tuple(call), events)))

    async def version(self) -> int:
        return int(await self._conn.fetchval(_schema.VERSION_QUERY))

    async def close(self) -> None:
        await self._conn.close()

    async def _run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run a transaction, again after a deadlock or serialization failure; errors typed and scrubbed."""
        import asyncpg  # present: connect() imported it

        for attempt in range(_ATTEMPTS):
            try:
                async with self._one:
                    return await work()
            except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                if attempt == _ATTEMPTS - 1:
                    raise SinkError(f"{self._where}: a write kept meeting deadlocks") from None
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                raise SinkError(f"{self._where}: {_scrub(exc, '')}") from None
        raise AssertionError("unreachable")

    # -- the Sink protocol -----------------------------------------------------------------------------

    async def upsert_calls(
        self, account: Account, calls: Sequence[CallSummary], *, seen: datetime | None = None
    ) -> Upserted:
        uuids = sorted({c.uuid for c in calls})
        moment = seen or datetime.now(UTC)

        async def write() -> Upserted:
            async with self._conn.transaction():
                stored = [row for part in sql.batches(uuids) for row in await self._among(sql.stored_calls, part)]
                rows, upserted = sql.calls_to_write(account, calls, stored, moment)
                await self._conn.executemany(_UPSERT_CALL, sorted(rows, key=_key))
                return upserted

        return await self._run(write)

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        rows = sorted((sql.event_row(d.call.uuid, e) for d in batch for e in d.events), key=_key)
        uuids = sorted((d.call.uuid,) for d in batch)
        journeys = sorted((sql.journey_values(d) for d in batch), key=_key)  # refreshed with their events

        async def write() -> None:
            async with self._conn.transaction():
                if rows:
                    await self._conn.executemany(_UPSERT_EVENT, rows)
                if journeys:
                    await self._conn.executemany(_UPSERT_JOURNEY, journeys)
                await self._conn.executemany(_DETAILS_DONE, uuids)

        await self._run(write)

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        await self._run(lambda: self._conn.execute(_UPSERT_RECORDING, *sql.recording_row(call_uuid, rec)))

    async def save_recordings(self, batch: Sequence[RecordingFile]) -> None:
        rows = sorted((sql.recording_row(rec.call_uuid, rec) for rec in batch), key=_key)

        async def write() -> None:
            async with self._conn.transaction():
                await self._conn.executemany(_UPSERT_RECORDING, rows)

        await self._run(write)

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        rows = await self._run(lambda: self._conn.fetch(_NEEDING_DETAILS, *sql.window(account, start, end)))
        return [r[0] for r in rows]

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        rows = await self._run(lambda: self._conn.fetch(_NEEDING_RECORDINGS, *sql.window(account, start, end)))
        return [(r[0], r[1]) for r in rows]

    async def details_missing(self, uuids: Sequence[str]) -> list[str]:
        async def read() -> list[str]:
            return [r[0] for part in sql.batches(uuids) for r in await self._among(sql.details_among, part)]

        return await self._run(read)

    async def recordings_missing(self, uuids: Sequence[str]) -> list[tuple[str, str]]:
        async def read() -> list[tuple[str, str]]:
            return [(r[0], r[1]) for part in sql.batches(uuids) for r in await self._among(sql.recordings_among, part)]

        return await self._run(read)

    async def _among(self, statement: Callable[[int], str], uuids: Sequence[str | None]) -> list[Any]:
        return list(await self._conn.fetch(_numbered(statement(len(uuids))), *uuids)) if uuids else []

    async def shard_done(self, key: str) -> bool:
        return await self._run(lambda: self._conn.fetchval(_SHARD_DONE, key)) is not None

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        row = sql.shard_row(key, account, start, end)
        await self._run(lambda: self._conn.execute(_UPSERT_SHARD, *row))

    async def sync_state(self, account: Account) -> SyncState | None:
        row = await self._run(lambda: self._conn.fetchrow(_SYNC_STATE, sql.sync_key(account)))
        return None if row is None else SyncState(*row)

    async def save_sync_state(self, account: Account, state: SyncState) -> None:
        row = sql.sync_row(account, state.base_url, state.spec, state.watermark, state.holder or "")
        await self._run(lambda: self._conn.execute(_UPSERT_SYNC, *row))

    @asynccontextmanager
    async def hold(self, account: Account, holder: str) -> AsyncIterator[None]:
        """A session advisory lock: PostgreSQL releases it when the connection ends, however the process ends."""
        key = zlib.crc32(sql.sync_key(account).encode()) - 2**31  # an int4
        taken = await self._run(lambda: self._conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", _SYNC_LOCKS, key))
        if not taken:
            state = await self.sync_state(account)
            who = state.holder if state is not None and state.holder else "another process"
            raise ValidationError(
                f"{self._where} for account {sql.sync_key(account)} is in use by {who} (another sync into it): "
                "wait for it to finish, or stop it, then run this again"
            )
        try:
            yield
        finally:
            if not self._conn.is_closed():
                await self._run(lambda: self._conn.fetchval("SELECT pg_advisory_unlock($1, $2)", _SYNC_LOCKS, key))

    # -- reading back --------------------------------------------------------------------------------

    async def counts(self) -> _schema.Counts:
        return _schema.Counts.from_row(await self._run(lambda: self._conn.fetchrow(_schema.COUNTS_QUERY)))


def _key(row: tuple[Any, ...]) -> str:
    return str(row[0])


def _scrub(exc: BaseException, url: str) -> str:
    """The driver's message without the connection string, or a password or any piece of one, in it."""
    text = str(exc) or type(exc).__name__
    if url:
        text = text.replace(url, redact_url(url))
        for secret in _passwords(url):
            text = _mask_pieces(text, secret)
    return re.sub(r"(password\s*[=:]\s*)\S+", r"\1***", text, flags=re.IGNORECASE)


def _passwords(url: str) -> list[str]:
    """Every password a sink URL carries."""
    return [p for p in _split_secrets(url)[1] if p]


def _mask_pieces(text: str, secret: str, shortest: int = 4) -> str:
    """``text`` with ``secret`` masked, and any run of ``shortest`` or more of its characters
    (a driver that misreads a ``/`` or ``#`` in a password quotes part of it as a port or path)."""
    for size in range(len(secret), min(shortest, len(secret)) - 1, -1):
        for start in range(len(secret) - size + 1):
            piece = secret[start : start + size]
            if piece in text:
                text = text.replace(piece, "***")
    return text
