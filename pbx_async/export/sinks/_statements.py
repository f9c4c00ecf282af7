"""Rows and statements both sinks run: plain Python values, SQL valid in SQLite and PostgreSQL alike.

Statements use ``?`` placeholders (the PostgreSQL sink numbers them); rows
are plain Python values in the statements' column order (each sink adapts
times and flags to its driver). Tables and columns are ``_schema``'s.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring_ascii
from typing import Any

from ..._journey import call_journey
from ..._journey import journey_values as journey_tuple
from ..._records import values_reader
from ..._records.calls import CallDetails, CallDirection, CallSummary
from ..._records.event_types import event_class
from ..._records.events import Event
from ..._records.recordings import RecordingFile
from ._protocol import Account, Upserted
from ._schema import ACCOUNT_COLUMNS, CALL_COLUMNS, MUTABLE, SEEN_COLUMNS, columns

_TABLES = columns()
BATCH = 500  # UUIDs a query names at most (a statement's placeholders are bounded)

# -- rows: plain Python values in the column order of the statements below ------------------------------


_VIEW_NAMES: dict[type[Event], tuple[str, ...]] = {}  # an event class's named views, found once
_FIELDS_TEXT: dict[type[Event], Callable[[Event], str]] = {}  # an event class's ``fields`` JSON, made once


def _view_names(kind: type[Event]) -> tuple[str, ...]:
    names = _VIEW_NAMES.get(kind)
    if names is None:  # once per event class: walking the classes for every event cost more than its JSON
        names = _VIEW_NAMES[kind] = tuple(
            name
            for klass in kind.__mro__
            if klass is not Event and issubclass(klass, Event)
            for name, attribute in vars(klass).items()
            if isinstance(attribute, property)
        )
    return names


def named_fields(event: Event) -> dict[str, Any]:
    """The event's named views (``ext_num``, ``page_count``, ...), as plain values."""
    return {name: getattr(event, name) for name in _view_names(type(event))}


_ascii = encode_basestring_ascii  # text as json.dumps writes it (ASCII, escaped, quoted)


def _value_json(value: Any) -> str:
    """A view's value as ``json.dumps`` writes it: text (ASCII-escaped), a whole number or null."""
    if value.__class__ is str:
        return _ascii(value)
    if value is None:
        return "null"
    if value.__class__ is int:
        return int.__repr__(value)
    raise TypeError(value)  # no view gives anything else; should one, json.dumps decides (below)


def _fields_text(kind: type[Event]) -> Callable[[Event], str]:
    """``json.dumps(named_fields(event))`` for events of ``kind``, as a template filled with the views' values.

    The dict and the encoder's set-up cost more than the text: an event's views are read
    with one ``attrgetter`` and written into the class's template (``{"ext_num": %s, ...}``).
    """
    names = _view_names(kind)
    if not names:
        return lambda event: "{}"
    template = "{" + ", ".join(f"{json.dumps(name)}: %s" for name in names) + "}"
    views = values_reader(names)

    def text(event: Event) -> str:
        try:
            return template % tuple([_ascii(v) if v.__class__ is str else _value_json(v) for v in views(event)])
        except TypeError:
            return json.dumps(named_fields(event))

    return text


def fields_json(event: Event) -> str:
    """The event's ``fields`` column: ``json.dumps(named_fields(event))``."""
    kind = type(event)
    text = _FIELDS_TEXT.get(kind)
    if text is None:
        text = _FIELDS_TEXT[kind] = _fields_text(kind)
    return text(event)


def call_row(account: Account, call: CallSummary, first_seen: Any = None, last_changed: Any = None) -> tuple[Any, ...]:
    """The call's summary columns (``CALL_COLUMNS``), its account (``ACCOUNT_COLUMNS``) and ``SEEN_COLUMNS``."""
    return (
        call.uuid, call.date, call.direction.name.lower(), call.cid_name, call.cid_num, call.num_dialed,
        call.duration, call.recorded, call.recording_url, call.did_description, call.cid_prefix,
        call.last_event, call.flagged, call.severity, call.notes, call.went_to_voicemail,
        call.spoke_to_person, call.did_group, call.transcription, account.container_id, account.tenant_id,
        first_seen, last_changed,
    )  # fmt: skip


def _mutable(values: Iterable[Any]) -> tuple[Any, ...]:
    """``MUTABLE``'s values, the same whatever the driver returned (0/1 or booleans, '' or None)."""
    flagged, severity, notes, transcription, recorded = values
    severity = None if severity is None else int(severity)
    return bool(flagged), severity, notes or None, transcription or None, bool(recorded)


def calls_to_write(
    account: Account, calls: Sequence[CallSummary], stored: Sequence[Sequence[Any]], seen: datetime
) -> tuple[list[tuple[Any, ...]], Upserted]:
    """The rows of an upsert, and which calls are new and which changed.

    ``stored`` are the rows of ``stored_calls`` for these calls. A call is
    changed when one of its ``MUTABLE`` fields differs from the stored value;
    then its ``last_changed`` becomes ``seen``, otherwise it keeps its own.
    """
    known = {row[0]: row for row in stored}
    latest = {call.uuid: call for call in calls}  # a call listed twice in a batch is written once
    rows: list[tuple[Any, ...]] = []
    new: list[str] = []
    changed: list[str] = []
    for uuid, call in latest.items():
        row = known.get(uuid)
        if row is None:
            new.append(uuid)
            last_changed: Any = seen
        elif _mutable(row[3:]) != _mutable(getattr(call, name) for name in MUTABLE):
            changed.append(uuid)
            last_changed = seen
        else:
            last_changed = row[2] or row[1] or seen  # a row from before version 3 has neither
        rows.append(call_row(account, call, seen, last_changed))
    return rows, Upserted(tuple(new), tuple(changed))


def _as_is(moment: datetime) -> Any:
    return moment


def event_rows(
    call_uuid: str, events: Iterable[Event], time: Callable[[datetime], Any] = _as_is
) -> list[tuple[Any, ...]]:
    """Each event's columns (``EVENT_COLUMNS``); ``fields`` as JSON text, the date as ``time`` spells it."""
    fields = fields_json
    return [
        (e.uuid, call_uuid, time(e.date), e.type_id, e.PURPOSE, e.data1, e.data2, e.data3, e.data4, fields(e))
        for e in events
    ]


def event_row(call_uuid: str, e: Event) -> tuple[Any, ...]:
    """The event's columns (``EVENT_COLUMNS``); ``fields`` as JSON text."""
    return event_rows(call_uuid, (e,))[0]


def journey_values(details: CallDetails) -> tuple[Any, ...]:
    """The call's journey (``JOURNEY_NAMES``' order): what ``pbx_async.journey_row`` says of its events."""
    return journey_tuple(call_journey(details))  # the table is made from JOURNEY_COLUMNS: the same order


def _moment(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def stored_details(call: Sequence[Any], events: Iterable[Sequence[Any]]) -> CallDetails:
    """A call's details rebuilt from its stored rows (``STORED_CALLS``, ``STORED_EVENTS``), for a backfill.

    The journey reads the summary's UUID, date and direction only, and the events' raw fields.
    """
    uuid, date, direction = call
    timeline = tuple(
        event_class(int(type_id))(uuid=e_uuid, date=_moment(e_date), type_id=int(type_id), data1=d1, data2=d2,
                                  data3=d3, data4=d4)
        for e_uuid, e_date, type_id, d1, d2, d3, d4 in events
    )  # fmt: skip
    summary = CallSummary(uuid=uuid, date=_moment(date), direction=CallDirection[str(direction).upper()])
    return CallDetails(summary, tuple(sorted(timeline, key=lambda e: e.date)))


def recording_row(call_uuid: str, rec: RecordingFile) -> tuple[Any, ...]:
    return (call_uuid, str(rec.path), rec.size, rec.sha256)


def shard_row(key: str, account: Account, start: datetime, end: datetime) -> tuple[Any, ...]:
    return (key, account.container_id, account.tenant_id, start, end, datetime.now(UTC))


def sync_key(account: Account) -> str:
    return f"{account.container_id}:{account.tenant_id}"


def sync_row(account: Account, base_url: str, spec: str, watermark: datetime | None, holder: str) -> tuple[Any, ...]:
    return (sync_key(account), account.container_id, account.tenant_id, base_url, spec, watermark, holder)


def window(account: Account, start: datetime, end: datetime) -> tuple[Any, ...]:
    """The parameters of a ``NEEDING_*`` query: the account, and the window as a half-open range.

    The window's end is inclusive in whole seconds; the range ends a second
    later, so a call at 09:59:59.5 is inside a window ending 09:59:59.
    """
    return (account.container_id, account.tenant_id, start, end + timedelta(seconds=1))


def batches(uuids: Sequence[str]) -> Iterable[Sequence[str | None]]:
    """``uuids`` in slices a ``*_among`` statement can name, each padded with NULLs (which match no call)
    to one of a few lengths (``among_length``)."""
    for i in range(0, len(uuids), BATCH):
        part = uuids[i : i + BATCH]
        yield (*part, *[None] * (among_length(len(part)) - len(part)))


def among_length(count: int) -> int:
    """The placeholders a ``*_among`` statement has for ``count`` UUIDs: the next power of two, at most ``BATCH``.

    With a statement for each length, the drivers' caches of prepared statements (SQLite's
    128, asyncpg's 100) fill with near copies, one for each count a run meets (a day's, a
    batch's calls), tens of kB each: a long export's memory grew with its days (SQLite's
    own from 4 to 7 MB over 150 days). Padded, a statement has ten lengths at most.
    """
    return min(BATCH, 1 << max(count - 1, 0).bit_length())


# -- statements -----------------------------------------------------------------------------------------


def _upsert(table: str) -> str:
    """Insert, or update every column, by the table's key (its first column)."""
    names = _TABLES[table]
    key = names[0]
    updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
    return (
        f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "  # noqa: S608
        f"ON CONFLICT ({key}) DO UPDATE SET {updates}"
    )


def _among(head: str, count: int) -> str:
    """``head`` narrowed to ``count`` UUIDs of calls (``c.uuid IN (?, ...)``)."""
    return f"{head} AND c.uuid IN ({', '.join('?' * count)}) ORDER BY c.date"


UPSERT_CALL = (
    f"INSERT INTO calls ({', '.join((*CALL_COLUMNS, *ACCOUNT_COLUMNS, *SEEN_COLUMNS))}) "  # noqa: S608
    f"VALUES ({', '.join('?' * (len(CALL_COLUMNS) + 4))}) ON CONFLICT (uuid) DO UPDATE SET "
    + ", ".join(f"{n} = excluded.{n}" for n in (*CALL_COLUMNS[1:], *ACCOUNT_COLUMNS, "last_changed"))
    + ", first_seen = coalesce(calls.first_seen, excluded.first_seen)"
)
UPSERT_EVENT = _upsert("events")
UPSERT_JOURNEY = _upsert("journeys")
STORED_CALLS = "SELECT uuid, date, direction FROM calls WHERE details_done ORDER BY uuid"
STORED_EVENTS = (
    "SELECT uuid, date, type_id, data1, data2, data3, data4 FROM events WHERE call_uuid = ? ORDER BY date, uuid"
)
DETAILS_DONE = "UPDATE calls SET details_done = TRUE WHERE uuid = ?"
UPSERT_RECORDING = _upsert("recordings")
UPSERT_SHARD = _upsert("export_shards")
SHARD_DONE = "SELECT 1 FROM export_shards WHERE key = ?"
UPSERT_SYNC = _upsert("export_syncs")
SYNC_STATE = "SELECT spec, base_url, watermark, holder FROM export_syncs WHERE key = ?"
_IN_WINDOW = "c.container_id = ? AND c.tenant_id = ? AND c.date >= ? AND c.date < ?"
NEEDING_DETAILS = f"SELECT c.uuid FROM calls c WHERE NOT c.details_done AND {_IN_WINDOW} ORDER BY c.date"  # noqa: S608
_LACKING_RECORDING = (
    "SELECT c.uuid, c.recording_url FROM calls c LEFT JOIN recordings r ON r.call_uuid = c.uuid "
    "WHERE c.recorded AND c.recording_url IS NOT NULL AND r.call_uuid IS NULL"
)
NEEDING_RECORDINGS = f"{_LACKING_RECORDING} AND {_IN_WINDOW} ORDER BY c.date"


def stored_calls(count: int) -> str:
    """The stored ``first_seen``, ``last_changed`` and ``MUTABLE`` values of ``count`` calls, by UUID."""
    names = ", ".join(f"c.{n}" for n in ("uuid", *SEEN_COLUMNS, *MUTABLE))
    return _among(f"SELECT {names} FROM calls c WHERE TRUE", count)  # noqa: S608 - our own names


def details_among(count: int) -> str:
    """Which of ``count`` calls have no stored events yet."""
    return _among("SELECT c.uuid FROM calls c WHERE NOT c.details_done", count)


def recordings_among(count: int) -> str:
    """Which of ``count`` calls are recorded and have no stored file yet, with their recording URLs."""
    return _among(_LACKING_RECORDING, count)
