"""The fast path from reply bytes to records: msgspec decodes straight into typed rows, records are built
by generated code that sets each slot, dates are read from their text plus the reply's offset.

    page = call_page_from_bytes(content)   # None: not a common shape, take the reference path

Two typed readings are tried in turn: a strict one (text as text, numbers as
numbers), whose rows need almost no checks, and a lenient one taking the PHP
quirks that are common (numbers as text, 0/1 flags as strings, numbers in text
fields). Anything else (a value in no such form, a missing field, an ``error``
key, bytes that are not JSON) returns None, and the reply goes through
``replies.decode`` and the cattrs converter, which remain the reference and name
the bad field. tests/properties/test_fuzz_replies.py keeps both paths equal.
"""
# pyright: reportOperatorIssue=false
# (msgspec reads Annotated[...] | None at run time; pyright's stubs type Annotated as a special form)

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar, cast

import attrs
import msgspec
from msgspec import UNSET, Meta, UnsetType

from .._records.calls import CallDirection, CallPage, CallSummary
from .._records.event_types import EVENT_TYPES
from .._records.events import Event, UnknownEvent
from .converter import CALL_FIELDS, EVENT_FIELDS, PAGE_FIELDS, EventPage, to_int
from .urls import without_auth

T = TypeVar("T")

# orjson (the reference decoder) reads integers past 64 bits as floats where msgspec keeps them
# exact: outside int64 the typed reading fails and the reference path decides.
Int = Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)]

# How each record field is read: its kind, and its wire type in the strict and the lenient reading.
_KINDS: dict[str, tuple[Any, Any]] = {
    "key": (str | UnsetType, str | Int | float | None | UnsetType),
    "date": (str, str),
    "direction": (Int, Int | str),
    "event_type": (Int, Int | str),
    "text": (str | None, str | Int | float | None),  # PHP sends numeric-looking text as numbers at times
    "url": (str | None, str | Int | float | None),
    "int": (Int | None, Int | str | None),
    "flag": (Int | bool | None, Int | str | bool | None),
}
_CALL_KINDS = {
    "uuid": "key",
    "date": "date",
    "direction": "direction",
    "recording_url": "url",
    **{n: "int" for n in ("duration", "severity")},
    **{n: "flag" for n in ("recorded", "flagged", "went_to_voicemail", "spoke_to_person")},
}
_EVENT_KINDS = {"uuid": "key", "date": "date", "type_id": "event_type"}


def _kind(kinds: dict[str, str], name: str) -> str:
    return kinds.get(name, "text")


def _code(name: str, wire: str, kind: str, strict: bool) -> list[str]:
    """Lines computing field ``name`` into ``v`` from row ``r`` (``key``: the row's key in ``data``)."""
    if kind == "key":
        return [
            f"v = r.{wire}",
            "if v is UNSET: v = key",
            "if v.__class__ is not str or not v: v = _key(v)",
        ]
    if kind == "date":
        return [f"v = _date(r.{wire} + suffix)"]
    if kind == "direction":
        return [f"v = _DIRECTIONS[r.{wire}]"]
    if kind == "event_type":
        return [f"v = r.{wire}", "if v.__class__ is not int: v = _to_int(v)", "cls = _EVENT_TYPES.get(v, _UNKNOWN)"]
    if kind == "flag":
        return [f"v = _FLAGS[r.{wire}]"]
    if kind == "int":
        return [f"v = r.{wire}"] if strict else [f"v = r.{wire}", "if v.__class__ is not int: v = _int(v)"]
    lines = (
        [f"v = r.{wire} or None"] if strict else [f"v = r.{wire}", "if v.__class__ is not str or not v: v = _text(v)"]
    )
    if kind == "url":  # a key the server put in a recording URL is never kept (see converter._without_key)
        lines.append("if v is not None and 'auth=' in v.lower(): v = _without_auth(v)")
    return lines


def _builder(cls: type[T], wire: dict[str, str], kinds: dict[str, str], strict: bool) -> Callable[..., T]:
    """``build(row, key, suffix)``: a record of ``cls`` (or of the event class its type names) from a typed row.

    Generated, as attrs generates ``__init__``, but setting each slot through its
    descriptor: the same object as ``cls(...)`` for these plain records (no
    validators, converters or post-init, checked here) without attrs' per-field
    ``__setattr__`` look-ups, which are most of a frozen record's cost.
    """
    fields = attrs.fields(cast(Any, cls))
    if any(f.validator or f.converter or f.on_setattr for f in fields) or hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__} does more than store its fields; build it with its __init__")
    scope: dict[str, Any] = {
        "UNSET": UNSET,
        "_new": object.__new__,
        "_date": datetime.fromisoformat,
        "_DIRECTIONS": _DIRECTIONS,
        "_FLAGS": _FLAGS,
        "_EVENT_TYPES": EVENT_TYPES,
        "_UNKNOWN": UnknownEvent,
        "_to_int": to_int,
        "_int": _int,
        "_text": _text,
        "_key": _key,
        "_without_auth": without_auth,
        "cls": cls,
    }
    lines = ["def build(r, key, suffix):"]
    body: list[str] = []
    for f in fields:
        owner = next(c for c in cls.__mro__ if f.name in vars(c))  # event classes share Event's slots
        scope[f"_set_{f.name}"] = vars(owner)[f.name].__set__
        body += _code(f.name, wire[f.name], _kind(kinds, f.name), strict)
        body.append(f"values_{f.name} = v")
    body.append("self = _new(cls)")
    body += [f"_set_{f.name}(self, values_{f.name})" for f in fields]
    body.append("return self")
    lines += ["    " + line for line in body]
    exec("\n".join(lines), scope)  # noqa: S102 - generated from the classes' own field names, as attrs does
    build: Callable[..., T] = scope["build"]
    return build


def _row_struct(name: str, cls: type[Any], wire: dict[str, str], kinds: dict[str, str], strict: bool) -> Any:
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for f in attrs.fields(cls):
        kind = _kind(kinds, f.name)
        wire_type = _KINDS[kind][0 if strict else 1]
        if kind == "key":
            fields.append((wire[f.name], wire_type, UNSET))
        elif kind in ("date", "direction", "event_type"):
            fields.append((wire[f.name], wire_type | UnsetType, UNSET))  # required: checked when read
        else:
            fields.append((wire[f.name], wire_type, None))
    return msgspec.defstruct(name, fields, gc=False)


def _reply_struct(name: str, row: Any, call: Any | None) -> Any:
    """A reply: its page fields, ``data`` (rows keyed by UUID or listed), an ``error`` key noticed; for
    details, the call's fields at the top level too (``call``, a row struct to inherit from)."""
    fields: list[tuple[str, Any, Any]] = [(PAGE_FIELDS[n], Int | UnsetType, UNSET) for n in PAGE_FIELDS]
    fields += [("data", dict[str, row] | list[row] | None, None), ("error", Any, UNSET)]
    return msgspec.defstruct(name, fields, bases=(call,) if call is not None else (), gc=False)


_FLAGS: dict[Any, bool] = {0: False, 1: True, "0": False, "1": True, None: False, "": False}
_DIRECTIONS: dict[Any, CallDirection] = {d.value: d for d in CallDirection} | {str(d.value): d for d in CallDirection}
_SUFFIXES: dict[int, str] = {}


class _Quirk(Exception):
    """A value outside the fast path's forms: the reply takes the reference path."""


def _text(v: Any) -> str | None:
    if v.__class__ is str:
        return v or None
    if v is None:
        return None
    if v.__class__ is int or v.__class__ is float:
        return str(v)
    raise _Quirk


def _key(v: Any) -> str:
    text = _text(v)
    if text is None:  # no key in the row nor above it, or an empty one: the reference names it
        raise _Quirk
    return text


def _int(v: Any) -> int | None:
    return None if v is None or v == "" else to_int(v)  # "35", " 35 ", "35.0": the reference's reading


def _suffix(minutes: int) -> str:
    """``+HH:MM`` for an offset in minutes, as ``fromisoformat`` reads it."""
    suffix = _SUFFIXES.get(minutes)
    if suffix is None:
        if not -1440 < minutes < 1440:
            raise _Quirk
        hours, mins = divmod(abs(minutes), 60)
        suffix = _SUFFIXES[minutes] = f"{'-' if minutes < 0 else '+'}{hours:02d}:{mins:02d}"
    return suffix


class _Reading:
    """One typed reading (strict or lenient) of both replies."""

    def __init__(self, strict: bool) -> None:
        kind = "Strict" if strict else "Lenient"
        call_row = _row_struct(f"_{kind}Call", CallSummary, CALL_FIELDS, _CALL_KINDS, strict)
        event_row = _row_struct(f"_{kind}Event", Event, EVENT_FIELDS, _EVENT_KINDS, strict)
        self.list = msgspec.json.Decoder(_reply_struct(f"_{kind}List", call_row, None))
        self.details = msgspec.json.Decoder(_reply_struct(f"_{kind}Details", event_row, call_row))
        self.call = _builder(CallSummary, CALL_FIELDS, _CALL_KINDS, strict)
        self.event = _builder(Event, EVENT_FIELDS, _EVENT_KINDS, strict)


_READINGS = (_Reading(strict=True), _Reading(strict=False))


def _rows(data: Any, build: Callable[[Any, str | None, str], T], suffix: str) -> tuple[T, ...]:
    if data is None:
        return ()
    if data.__class__ is dict:
        return tuple([build(row, key, suffix) for key, row in data.items()])
    return tuple([build(row, None, suffix) for row in data])


def _counts(reply: Any) -> tuple[int, int, int, int]:
    counts = (reply.currentPage, reply.maxPages, reply.maxResultSize, reply.utcOffset)
    if reply.error is not UNSET or UNSET in counts:
        raise _Quirk
    return counts


def call_page_from_bytes(content: bytes) -> CallPage | None:
    """A Call Summary page straight from the reply's bytes; None when the reference path must decide."""
    for reading in _READINGS:
        try:
            reply = reading.list.decode(content)
            page, pages, total, offset = _counts(reply)
            return CallPage(page, pages, total, offset, _rows(reply.data, reading.call, _suffix(offset)))
        except Exception:  # noqa: S112 - a value out of this reading's forms: try the next, then the reference
            continue
    return None


def details_from_bytes(content: bytes) -> tuple[CallSummary | None, EventPage] | None:
    """A Call Details page (the call, when the reply has one, and its events) from bytes; or None."""
    for reading in _READINGS:
        try:
            reply = reading.details.decode(content)
            page, pages, total, offset = _counts(reply)
            suffix = _suffix(offset)
            uuid = reply.callUuid
            has_call = uuid is not UNSET and uuid not in (None, "", 0, 0.0)  # the reference: a truthy callUuid
            call = reading.call(reply, None, suffix) if has_call else None
            return call, EventPage(page, pages, total, offset, _rows(reply.data, reading.event, suffix))
        except Exception:  # noqa: S112
            continue
    return None
