"""The tables both sinks share, their migrations and counts, written once (rows and statements: ``_statements``).

Both sinks are created and migrated from ``MIGRATIONS``, so their tables and
columns cannot drift apart; only the column types differ by dialect (SQLite
keeps times as ISO 8601 text and flags as 0/1, PostgreSQL has ``timestamptz``,
``boolean`` and ``jsonb``). A database records its version in
``schema_version``; an export file written before versioning is version 1.
Times are instants: PostgreSQL compares ``timestamptz``; SQLite keeps them
as ISO 8601 text in UTC (version 3 rewrote older files' offsets), so text
order is time order and a window compares instants, never offset strings.

- ``calls``: one row per call; the summary fields, the account
  (``container_id``, ``tenant_id``), ``details_done``, and when the call was
  ``first_seen`` and ``last_changed`` (its mutable fields: ``MUTABLE``).
- ``events``: one row per event; ``call_uuid``, ``date``, ``type_id``,
  ``type_name`` (the table's purpose), raw ``data1``..``data4`` and
  ``fields``, the named typed fields as JSON.
- ``recordings``: one row per downloaded recording: ``path``, ``size``, ``sha256``.
- ``export_meta``, ``export_chunks``: a single export's request and finished days
  (the table's name is older than the code's word, days; existing files keep it).
- ``export_shards``: shards finished (closed windows only), by shard key.
- ``export_syncs``: a sync's state per account: its request and watermark.
- ``journeys`` (version 4): one row per call with details, what happened on it
  (``pbx_async.journey_row``: list-shaped fields as JSON), written with the
  call's events; older databases are backfilled from their stored events.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal, cast

import attrs

from ..._errors import SinkError
from ..._journey import JOURNEY_COLUMNS

Dialect = Literal["sqlite", "postgresql"]
Kind = Literal["text", "int", "bigint", "bool", "time", "json", "real"]

_TYPES: dict[Dialect, dict[Kind, str]] = {
    "sqlite": {
        "text": "TEXT",
        "int": "INTEGER",
        "bigint": "INTEGER",
        "bool": "INTEGER",
        "time": "TEXT",
        "json": "TEXT",
        "real": "REAL",
    },
    "postgresql": {
        "text": "TEXT",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "bool": "BOOLEAN",
        "time": "TIMESTAMPTZ",
        "json": "JSONB",
        "real": "DOUBLE PRECISION",
    },
}


@attrs.frozen
class Column:
    name: str
    kind: Kind
    not_null: bool = False
    default: str | None = None  # written the same in both dialects: 'FALSE' is not, so defaults are plain

    def ddl(self, dialect: Dialect) -> str:
        text = f"{self.name} {_TYPES[dialect][self.kind]}"
        if self.not_null:
            text += " NOT NULL"
        if self.default is not None:
            text += f" DEFAULT {_default(self, dialect)}"
        return text


def _default(column: Column, dialect: Dialect) -> str:
    if column.kind == "bool" and dialect == "postgresql":
        return "TRUE" if column.default == "1" else "FALSE"
    return str(column.default)


@attrs.frozen
class CreateTable:
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]


@attrs.frozen
class AddColumn:
    table: str
    column: Column


@attrs.frozen
class CreateIndex:
    name: str
    table: str
    columns: tuple[str, ...]


@attrs.frozen
class ToUtc:
    """SQLite only: rewrite a time column's ISO 8601 text in UTC (PostgreSQL's ``timestamptz`` needs nothing)."""

    table: str
    column: str


Step = CreateTable | AddColumn | CreateIndex | ToUtc


def _c(name: str, kind: Kind, *, not_null: bool = False, default: str | None = None) -> Column:
    return Column(name, kind, not_null, default)


_CALLS = CreateTable(
    "calls",
    (
        _c("uuid", "text", not_null=True),
        _c("date", "time", not_null=True),
        _c("direction", "text", not_null=True),
        _c("cid_name", "text"),
        _c("cid_num", "text"),
        _c("num_dialed", "text"),
        _c("duration", "bigint"),
        _c("recorded", "bool", not_null=True),
        _c("recording_url", "text"),
        _c("did_description", "text"),
        _c("cid_prefix", "text"),
        _c("last_event", "text"),
        _c("flagged", "bool", not_null=True),
        _c("severity", "int"),
        _c("notes", "text"),
        _c("went_to_voicemail", "bool", not_null=True),
        _c("spoke_to_person", "bool", not_null=True),
        _c("did_group", "text"),
        _c("transcription", "text"),
        _c("details_done", "bool", not_null=True, default="0"),
    ),
    ("uuid",),
)
_EVENTS = CreateTable(
    "events",
    (
        _c("uuid", "text", not_null=True),
        _c("call_uuid", "text", not_null=True),
        _c("date", "time", not_null=True),
        _c("type_id", "int", not_null=True),
        _c("type_name", "text", not_null=True),
        _c("data1", "text"),
        _c("data2", "text"),
        _c("data3", "text"),
        _c("data4", "text"),
        _c("fields", "json", not_null=True),
    ),
    ("uuid",),
)
_RECORDINGS = CreateTable(
    "recordings",
    (
        _c("call_uuid", "text", not_null=True),
        _c("path", "text", not_null=True),
        _c("size", "bigint", not_null=True),
        _c("sha256", "text", not_null=True),
    ),
    ("call_uuid",),
)
_V1 = (
    _CALLS,
    CreateIndex("calls_by_date", "calls", ("date",)),
    _EVENTS,
    CreateIndex("events_by_call", "events", ("call_uuid", "date")),
    _RECORDINGS,
    CreateTable("export_meta", (_c("key", "text", not_null=True), _c("value", "text", not_null=True)), ("key",)),
    CreateTable("export_chunks", (_c("start", "text", not_null=True), _c("end_", "text", not_null=True)), ("start",)),
)

# Version 2: many accounts in one database (scale-out export).
_SHARDS = CreateTable(
    "export_shards",
    (
        _c("key", "text", not_null=True),
        _c("container_id", "text", not_null=True),
        _c("tenant_id", "int", not_null=True),
        _c("start", "time", not_null=True),
        _c("end_", "time", not_null=True),
        _c("finished_at", "time", not_null=True),
    ),
    ("key",),
)
_V2 = (
    AddColumn("calls", _c("container_id", "text")),
    AddColumn("calls", _c("tenant_id", "int")),
    CreateIndex("calls_by_account", "calls", ("container_id", "tenant_id", "date")),
    _SHARDS,
)

# Version 3: outputs kept current (sync): when each call was first seen and last changed, times in
# UTC in SQLite, a sync's state per account.
_SYNCS = CreateTable(
    "export_syncs",
    (
        _c("key", "text", not_null=True),
        _c("container_id", "text", not_null=True),
        _c("tenant_id", "int", not_null=True),
        _c("base_url", "text", not_null=True),
        _c("spec", "text", not_null=True),
        _c("watermark", "time"),
        _c("holder", "text"),
    ),
    ("key",),
)
_V3 = (
    AddColumn("calls", _c("first_seen", "time")),
    AddColumn("calls", _c("last_changed", "time")),
    ToUtc("calls", "date"),
    ToUtc("events", "date"),
    _SYNCS,
)

# Version 4: each call's journey, one row per call with details (the sinks backfill older databases).
_JOURNEYS = CreateTable(
    "journeys",
    tuple(_c(name, cast(Kind, kind), not_null=name == "call_uuid") for name, kind in JOURNEY_COLUMNS),
    ("call_uuid",),
)
_V4 = (_JOURNEYS, CreateIndex("journeys_by_start", "journeys", ("start",)))
JOURNEYS_SINCE = 4  # a database migrated from an older version gets its journeys from its stored events

MIGRATIONS: tuple[tuple[Step, ...], ...] = (_V1, _V2, _V3, _V4)
VERSION = len(MIGRATIONS)
VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
VERSION_QUERY = "SELECT max(version) FROM schema_version"

CALL_COLUMNS = tuple(c.name for c in _CALLS.columns if c.name != "details_done")
ACCOUNT_COLUMNS = ("container_id", "tenant_id")
SEEN_COLUMNS = ("first_seen", "last_changed")
# What changes on the server after a call ended; a stored call whose values differ is "changed".
MUTABLE = ("flagged", "severity", "notes", "transcription", "recorded")
EVENT_COLUMNS = tuple(c.name for c in _EVENTS.columns)
JOURNEY_NAMES = tuple(c.name for c in _JOURNEYS.columns)
_KINDS: dict[tuple[str, str], Kind] = {
    (step.table, column.name): column.kind
    for steps in MIGRATIONS
    for step in steps
    if isinstance(step, CreateTable | AddColumn)
    for column in (step.columns if isinstance(step, CreateTable) else (step.column,))
}
FLAG_COLUMNS = tuple(c.name for c in _CALLS.columns if c.kind == "bool" and c.name in CALL_COLUMNS)


def kind_of(table: str, column: str) -> Kind:
    """The kind of a column of ``calls``, ``events``, ``recordings`` or ``journeys`` (a file format types by it)."""
    return _KINDS[table, column]


def ddl(step: Step, dialect: Dialect) -> str | None:
    """The statement for one migration step (None: nothing to do in this dialect)."""
    if isinstance(step, ToUtc):
        if dialect != "sqlite":
            return None
        # strftime reads the offset and gives UTC; the fraction (".ffffff", if any) is kept as written.
        c = step.column
        return (
            f"UPDATE {step.table} SET {c} = strftime('%Y-%m-%dT%H:%M:%S', {c}) "  # noqa: S608 - our own names
            f"|| CASE WHEN substr({c}, 20, 1) = '.' THEN substr({c}, 20, 7) ELSE '' END || '+00:00' "
            f"WHERE {c} NOT LIKE '%+00:00'"
        )
    if isinstance(step, CreateTable):
        columns = ", ".join(c.ddl(dialect) for c in step.columns)
        return f"CREATE TABLE IF NOT EXISTS {step.table} ({columns}, PRIMARY KEY ({', '.join(step.primary_key)}))"
    if isinstance(step, AddColumn):
        return f"ALTER TABLE {step.table} ADD COLUMN {step.column.ddl(dialect)}"
    return f"CREATE INDEX IF NOT EXISTS {step.name} ON {step.table} ({', '.join(step.columns)})"


def upgrade(version: int, dialect: Dialect, where: str = "the database") -> list[str]:
    """Statements bringing a database at ``version`` up to date, the new version recorded last.

    A sink runs them in one transaction, after ``VERSION_TABLE`` and
    ``VERSION_QUERY``. A database newer than this code knows is refused
    rather than written in an older shape.
    """
    if version > VERSION:
        raise SinkError(
            f"{where} has export schema version {version}; this pbx-async knows up to {VERSION}: upgrade pbx-async"
        )
    if version == VERSION:
        return []
    steps = [text for steps in MIGRATIONS[version:] for step in steps if (text := ddl(step, dialect))]
    record = f"INSERT INTO schema_version (version) VALUES ({VERSION})"  # noqa: S608 - our own number
    return [*steps, "DELETE FROM schema_version", record]


def columns(version: int = VERSION) -> dict[str, list[str]]:
    """Every table's columns at ``version``, in order (what both dialects must show)."""
    tables: dict[str, list[str]] = {}
    for steps in MIGRATIONS[:version]:
        for step in steps:
            if isinstance(step, CreateTable):
                tables[step.table] = [c.name for c in step.columns]
            elif isinstance(step, AddColumn):
                tables[step.table].append(step.column.name)
    return tables


# -- counts ---------------------------------------------------------------------------------------------


@attrs.frozen
class Counts:
    """What an export database holds: its calls (by direction, answered, to voicemail), events and recordings."""

    calls: int
    inbound: int
    outbound: int
    internal: int
    answered: int
    inbound_answered: int
    voicemail: int
    events: int
    recordings: int
    recording_bytes: int

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Counts:
        """From the row of ``COUNTS_QUERY``."""
        return cls(**{name: int(value) for name, value in zip(_COUNTED, row, strict=True)})


_COUNTED = {  # what each field of Counts counts
    "calls": "count(*)",
    "inbound": "count(*) FILTER (WHERE direction = 'inbound')",
    "outbound": "count(*) FILTER (WHERE direction = 'outbound')",
    "internal": "count(*) FILTER (WHERE direction = 'internal')",
    "answered": "count(*) FILTER (WHERE spoke_to_person)",
    "inbound_answered": "count(*) FILTER (WHERE direction = 'inbound' AND spoke_to_person)",
    "voicemail": "count(*) FILTER (WHERE went_to_voicemail)",
    "events": "(SELECT count(*) FROM events)",
    "recordings": "(SELECT count(*) FROM recordings)",
    "recording_bytes": "(SELECT coalesce(sum(size), 0) FROM recordings)",
}
COUNTS_QUERY = f"SELECT {', '.join(_COUNTED.values())} FROM calls"  # noqa: S608 - fixed expressions
