"""One table row per journey, for exports: scalar columns to query, list-shaped fields as JSON text."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs

from .._records import values_reader
from .._records.events import Event
from ._records import CallJourney

# (name, kind) in the export schema's vocabulary; "real" is a float (SQLite REAL, PostgreSQL DOUBLE PRECISION).
JOURNEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_uuid", "text"),
    ("start", "time"),
    ("direction", "text"),
    ("outcome", "text"),
    ("entry_did", "text"),
    ("answered_by_number", "text"),
    ("answered_by_name", "text"),
    ("answered_at", "real"),
    ("talk_time", "real"),
    ("queue_wait", "real"),
    ("queue_outcome", "text"),
    ("ivr_options", "text"),
    ("voicemail_box", "text"),
    ("voicemail_message_left", "bool"),
    ("dial_out_number", "text"),
    ("dial_out_result", "text"),
    ("dial_out_failure", "text"),
    ("internal_app", "int"),
    ("feature", "text"),
    ("ended", "text"),
    ("jitter", "real"),
    ("packet_loss", "real"),
    ("length", "real"),
    ("ivr_path", "json"),
    ("queue_visits", "json"),
    ("ring_attempts", "json"),
    ("voicemail", "json"),
    ("parks", "json"),
    ("conferences", "json"),
    ("dial_out", "json"),
    ("forward", "json"),
    ("fax", "json"),
    ("routing", "json"),
    ("supervision", "json"),
    ("unknown_events", "json"),
)
JOURNEY_JSON_COLUMNS = tuple(name for name, kind in JOURNEY_COLUMNS if kind == "json")


_NAMES = tuple(name for name, _ in JOURNEY_COLUMNS)
_RECORDS: dict[type[Any], tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]] = {}  # fields, and a reader


def _record(kind: type[Any]) -> tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]]]:
    names = tuple(a.name for a in attrs.fields(kind))  # not a record: attrs says so (NotAnAttrsClassError)
    return names, values_reader(names)


def _as_dict(value: Any) -> Any:
    """One record as ``attrs.asdict`` gives it (its fields in order), for the encoder, which asks again for the
    records inside: each class's fields are read with one ``attrgetter``, and the values are the encoder's."""
    if isinstance(value, set | frozenset):  # attrs.asdict writes these as lists too
        return list(value)  # pyright: ignore[reportUnknownArgumentType]
    kind = value.__class__
    record = _RECORDS.get(kind)
    if record is None:
        record = _RECORDS[kind] = _record(kind)
    names, read = record
    return dict(zip(names, read(value), strict=True))


# json.dumps(attrs.asdict(value), ensure_ascii=False), set up once: the encoder writes a tuple as a list, and
# a record as the dict ``_as_dict`` gives; no intermediate copy of a journey's lists is made.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=_as_dict).encode


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if not value and isinstance(value, tuple):  # most lists are empty: json.dumps' text, without its cost
        return "[]"
    return _ENCODE(value)


def _unknown(events: tuple[Event, ...]) -> str:
    if not events:
        return "[]"
    return _ENCODE([
        {"uuid": e.uuid, "date": e.date.isoformat(), "type_id": e.type_id,
         "data1": e.data1, "data2": e.data2, "data3": e.data3, "data4": e.data4}
        for e in events
    ])  # fmt: skip


def journey_values(journey: CallJourney) -> tuple[Any, ...]:
    """``journey_row``'s values alone, in ``JOURNEY_COLUMNS``' order: for a sink that writes tuples.

        values = journey_values(call_journey(details))  # ("3f1c…", datetime(...), "inbound", "answered", ...)

    The same values as ``journey_row``, without a dict made and read back for every call.
    """
    j = journey
    answered_by, voicemail, dial_out = j.answered_by, j.voicemail, j.dial_out
    visits = j.queue_visits
    ivr_path = j.ivr_path
    options = [s.digits or "" for s in ivr_path if s.kind == "option"] if ivr_path else None
    return (
        j.uuid,
        j.start,
        j.direction.name.lower() if j.direction is not None else None,
        str(j.outcome),
        j.entry_did,
        answered_by.number if answered_by else None,
        answered_by.name if answered_by else None,
        j.answered_at,
        j.talk_time,
        sum(v.wait for v in visits) if visits else None,
        str(visits[-1].outcome) if visits else None,
        ",".join(options) if options else None,
        voicemail.box.number if voicemail and voicemail.box else None,
        voicemail.message_left if voicemail else None,
        dial_out.number if dial_out else None,
        str(dial_out.result) if dial_out else None,
        str(dial_out.failure) if dial_out and dial_out.failure else None,
        int(j.internal_app) if j.internal_app is not None else None,
        j.feature,
        str(j.ended) if j.ended else None,
        j.jitter,
        j.packet_loss,
        j.length,
        _json(ivr_path),
        _json(visits),
        _json(j.ring_attempts),
        _json(voicemail),
        _json(j.parks),
        _json(j.conferences),
        _json(dial_out),
        _json(j.forward),
        _json(j.fax),
        _json(j.routing),
        _json(j.supervision),
        _unknown(j.unknown_events),
    )


def journey_row(journey: CallJourney) -> dict[str, Any]:
    """The journey as one row keyed by ``JOURNEY_COLUMNS``' names; ``json`` columns hold JSON text.

        row = journey_row(call_journey(details))  # {"call_uuid": ..., "outcome": "answered", ...}

    ``start`` stays a datetime; enums become their text; ``queue_wait`` adds up
    every visit's wait and ``queue_outcome`` is the last visit's; ``ivr_options``
    is the options pressed, in order, joined by ``,``.
    """
    return dict(zip(_NAMES, journey_values(journey), strict=True))
