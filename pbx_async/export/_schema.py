"""The export's tables, written once and rendered for SQLite and PostgreSQL, with numbered migrations.

Both sinks are created and migrated from ``MIGRATIONS``, so their tables and
columns cannot drift apart; only the column types differ by dialect (SQLite
keeps times as ISO 8601 text and flags as 0/1, PostgreSQL has ``timestamptz``,
``boolean`` and ``jsonb``). A database records its version in
``schema_version``; an export file written before versioning is version 1.

- ``calls``: one row per call; the summary fields, the account
  (``container_id``, ``tenant_id``) and ``details_done``.
- ``events``: one row per event; ``call_uuid``, ``date``, ``type_id``,
  ``type_name`` (the table's purpose), raw ``data1``..``data4`` and
  ``fields``, the named typed fields as JSON.
- ``recordings``: one row per downloaded recording: ``path``, ``size``, ``sha256``.
- ``export_meta``, ``export_chunks``: a single export's request and finished days.
- ``export_shards``: shards finished (closed windows only), by shard key.
"""

from __future__ import annotations

from typing import Literal

import attrs

from .._errors import SinkError

Dialect = Literal["sqlite", "postgresql"]
Kind = Literal["text", "int", "bigint", "bool", "time", "json"]

_TYPES: dict[Dialect, dict[Kind, str]] = {
    "sqlite": {
        "text": "TEXT",
        "int": "INTEGER",
        "bigint": "INTEGER",
        "bool": "INTEGER",
        "time": "TEXT",
        "json": "TEXT",
    },
    "postgresql": {
        "text": "TEXT",
        "int": "INTEGER",
        "bigint": "BIGINT",
        "bool": "BOOLEAN",
        "time": "TIMESTAMPTZ",
        "json": "JSONB",
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


Step = CreateTable | AddColumn | CreateIndex


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
_V1 = (
    _CALLS,
    CreateIndex("calls_by_date", "calls", ("date",)),
    _EVENTS,
    CreateIndex("events_by_call", "events", ("call_uuid", "date")),
    CreateTable(
        "recordings",
        (
            _c("call_uuid", "text", not_null=True),
            _c("path", "text", not_null=True),
            _c("size", "bigint", not_null=True),
            _c("sha256", "text", not_null=True),
        ),
        ("call_uuid",),
    ),
    CreateTable("export_meta", (_c("key", "text", not_null=True), _c("value", "text", not_null=True)), ("key",)),
    CreateTable("export_chunks", (_c("start", "text", not_null=True), _c("end_", "text", not_null=True)), ("start",)),
)

# Version 2: many accounts in one database (scale-out export).
_V2 = (
    AddColumn("calls", _c("container_id", "text")),
    AddColumn("calls", _c("tenant_id", "int")),
    CreateIndex("calls_by_account", "calls", ("container_id", "tenant_id", "date")),
    CreateTable(
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
    ),
)

MIGRATIONS: tuple[tuple[Step, ...], ...] = (_V1, _V2)
VERSION = len(MIGRATIONS)
VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"

CALL_COLUMNS = tuple(c.name for c in _CALLS.columns if c.name != "details_done")
ACCOUNT_COLUMNS = ("container_id", "tenant_id")
EVENT_COLUMNS = tuple(c.name for c in _EVENTS.columns)


def ddl(step: Step, dialect: Dialect) -> str:
    """The statement for one migration step."""
    if isinstance(step, CreateTable):
        columns = ", ".join(c.ddl(dialect) for c in step.columns)
        return f"CREATE TABLE IF NOT EXISTS {step.table} ({columns}, PRIMARY KEY ({', '.join(step.primary_key)}))"
    if isinstance(step, AddColumn):
        return f"ALTER TABLE {step.table} ADD COLUMN {step.column.ddl(dialect)}"
    return f"CREATE INDEX IF NOT EXISTS {step.name} ON {step.table} ({', '.join(step.columns)})"


def pending(version: int, dialect: Dialect, where: str = "the database") -> list[tuple[int, list[str]]]:
    """Statements to bring a database at ``version`` up to date, grouped by the version they reach.

    A database newer than this code knows is refused rather than written in an older shape.
    """
    if version > VERSION:
        raise SinkError(
            f"{where} has export schema version {version}; this pbx-async knows up to {VERSION}: upgrade pbx-async"
        )
    return [(number, [ddl(s, dialect) for s in MIGRATIONS[number - 1]]) for number in range(version + 1, VERSION + 1)]


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
