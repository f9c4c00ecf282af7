"""Everything the two sinks share: tables, migrations, row shaping, statements and counts, written once.

Both sinks are created and migrated from ``MIGRATIONS``, so their tables and
columns cannot drift apart; only the column types differ by dialect (SQLite
keeps times as ISO 8601 text and flags as 0/1, PostgreSQL has ``timestamptz``,
``boolean`` and ``jsonb``). A database records its version in
``schema_version``; an export file written before versioning is version 1.
The statements below are valid in both dialects, written with ``?``
placeholders (the PostgreSQL sink numbers them); rows are plain Python values
(each sink adapts times and flags to its driver).

- ``calls``: one row per call; the summary fields, the account
  (``container_id``, ``tenant_id``) and ``details_done``.
- ``events``: one row per event; ``call_uuid``, ``date``, ``type_id``,
  ``type_name`` (the table's purpose), raw ``data1``..``data4`` and
  ``fields``, the named typed fields as JSON.
- ``recordings``: one row per downloaded recording: ``path``, ``size``, ``sha256``.
- ``export_meta``, ``export_chunks``: a single export's request and finished days
  (the table's name is older than the code's word, days; existing files keep it).
- ``export_shards``: shards finished (closed windows only), by shard key.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import attrs

from ..._errors import SinkError
from ..._records.calls import CallSummary
from ..._records.events import Event
from ..._records.recordings import RecordingFile
from ._protocol import Account

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

MIGRATIONS: tuple[tuple[Step, ...], ...] = (_V1, _V2)
VERSION = len(MIGRATIONS)
VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"
VERSION_QUERY = "SELECT max(version) FROM schema_version"

CALL_COLUMNS = tuple(c.name for c in _CALLS.columns if c.name != "details_done")
ACCOUNT_COLUMNS = ("container_id", "tenant_id")
EVENT_COLUMNS = tuple(c.name for c in _EVENTS.columns)
_TABLES = {t.table: t for t in (_CALLS, _EVENTS, _RECORDINGS)}
FLAG_COLUMNS = tuple(c.name for c in _CALLS.columns if c.kind == "bool" and c.name in CALL_COLUMNS)


def kind_of(table: str, column: str) -> Kind:
    """The kind of a column of ``calls``, ``events`` or ``recordings`` (what a file format types it as)."""
    (found,) = [c.kind for c in _TABLES[table].columns if c.name == column]
    return found


def ddl(step: Step, dialect: Dialect) -> str:
    """The statement for one migration step."""
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
    steps = [ddl(step, dialect) for steps in MIGRATIONS[version:] for step in steps]
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


# -- rows: plain Python values in the column order of the statements below ------------------------------


def named_fields(event: Event) -> dict[str, Any]:
    """The event's named views (``ext_num``, ``page_count``, ...), as plain values."""
    names = [
        name
        for klass in type(event).__mro__
        if klass is not Event and issubclass(klass, Event)
        for name, attribute in vars(klass).items()
        if isinstance(attribute, property)
    ]
    return {name: getattr(event, name) for name in names}


def call_row(account: Account, call: CallSummary) -> tuple[Any, ...]:
    """The call's summary columns (``CALL_COLUMNS``) and its account (``ACCOUNT_COLUMNS``)."""
    return (
        call.uuid, call.date, call.direction.name.lower(), call.cid_name, call.cid_num, call.num_dialed,
        call.duration, call.recorded, call.recording_url, call.did_description, call.cid_prefix,
        call.last_event, call.flagged, call.severity, call.notes, call.went_to_voicemail,
        call.spoke_to_person, call.did_group, call.transcription, account.container_id, account.tenant_id,
    )  # fmt: skip


def event_row(call_uuid: str, e: Event) -> tuple[Any, ...]:
    """The event's columns (``EVENT_COLUMNS``); ``fields`` as JSON text."""
    fields = json.dumps(named_fields(e))
    return (e.uuid, call_uuid, e.date, e.type_id, e.PURPOSE, e.data1, e.data2, e.data3, e.data4, fields)


def recording_row(call_uuid: str, rec: RecordingFile) -> tuple[Any, ...]:
    return (call_uuid, str(rec.path), rec.size, rec.sha256)


def shard_row(key: str, account: Account, start: datetime, end: datetime) -> tuple[Any, ...]:
    return (key, account.container_id, account.tenant_id, start, end, datetime.now(UTC))


def window(account: Account, start: datetime, end: datetime) -> tuple[Any, ...]:
    """The parameters of a ``NEEDING_*`` query: the account, and the window as a half-open range.

    The window's end is inclusive in whole seconds; the range ends a second
    later, so a call at 09:59:59.5 is inside a window ending 09:59:59.
    """
    return (account.container_id, account.tenant_id, start, end + timedelta(seconds=1))


# -- statements -----------------------------------------------------------------------------------------


def _upsert(table: CreateTable, names: Sequence[str]) -> str:
    (key,) = table.primary_key
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
    return (
        f"INSERT INTO {table.table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


UPSERT_CALL = _upsert(_CALLS, (*CALL_COLUMNS, *ACCOUNT_COLUMNS))
UPSERT_EVENT = _upsert(_EVENTS, EVENT_COLUMNS)
DETAILS_DONE = "UPDATE calls SET details_done = TRUE WHERE uuid = ?"
UPSERT_RECORDING = _upsert(_RECORDINGS, [c.name for c in _RECORDINGS.columns])
UPSERT_SHARD = _upsert(_SHARDS, [c.name for c in _SHARDS.columns])
SHARD_DONE = "SELECT 1 FROM export_shards WHERE key = ?"
_IN_WINDOW = "c.container_id = ? AND c.tenant_id = ? AND c.date >= ? AND c.date < ?"
NEEDING_DETAILS = f"SELECT c.uuid FROM calls c WHERE NOT c.details_done AND {_IN_WINDOW} ORDER BY c.date"  # noqa: S608
NEEDING_RECORDINGS = (
    "SELECT c.uuid, c.recording_url FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid "  # noqa: S608
    f"WHERE c.recorded AND c.recording_url IS NOT NULL AND r.call_uuid IS NULL AND {_IN_WINDOW} ORDER BY c.date"
)


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
