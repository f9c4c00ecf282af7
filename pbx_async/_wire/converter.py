"""The one cattrs converter: decoded JSON -> records, with every quirk of the PHP service.

Quirks handled here and nowhere else (see the wire contract):
- integers and 0/1 flags as JSON numbers or as strings (``"35"``, ``"1"``);
- ``""``, null or a missing key for "no value";
- ``data`` as an object keyed by UUID, a list, or ``[]``/``{}``/null for no rows;
- dates ``YYYY-MM-DD HH:MM:SS`` with or without fractional seconds, in the
  reply's ``utcOffset``, which the row itself does not carry;
- unknown extra fields are ignored.
"""

# JSON is Any, and pyright's isinstance(value, dict) on it yields dict[Unknown, Unknown]: these rules
# would flag every read of a reply here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, override

from .._records.calls import CallDirection, CallPage, CallSummary
from .._records.event_types import EVENT_TYPES
from .._records.events import Event, UnknownEvent
from .urls import without_auth

T = TypeVar("T")

CALL_FIELDS = {
    "uuid": "callUuid",
    "date": "callDate",
    "direction": "callDirection",
    "cid_name": "cidName",
    "cid_num": "cidNum",
    "num_dialed": "numDialed",
    "duration": "duration",
    "recorded": "callRecorded",
    "recording_url": "recordingUrl",
    "did_description": "didDescription",
    "cid_prefix": "cidPrefix",
    "last_event": "lastEvent",
    "flagged": "callFlagged",
    "severity": "callSeverity",
    "notes": "callNotes",
    "went_to_voicemail": "wentToVoicemail",
    "spoke_to_person": "spokeToPerson",
    "did_group": "didGroup",
    "transcription": "transcription",
}
EVENT_FIELDS = {
    "uuid": "eventUuid",
    "date": "eventDate",
    "type_id": "eventType",
    "data1": "eventData1",
    "data2": "eventData2",
    "data3": "eventData3",
    "data4": "eventData4",
}
WIRE_NAMES: dict[type[Any], dict[str, str]] = {}  # filled below, for error messages
PAGE_FIELDS = {
    "page": "currentPage",
    "max_pages": "maxPages",
    "total": "maxResultSize",
    "utc_offset": "utcOffset",
}
UTC_OFFSET = "utcOffset"
EVENT_TYPE = "eventType"
# The key a row of ``data`` is filed under, used when the row itself lacks it.
_ROW_KEY = {CallSummary: "callUuid", Event: "eventUuid"}


@attrs.frozen
class EventPage:
    """One page of a Call Details reply, without the call's own fields."""

    page: int
    max_pages: int
    total: int
    utc_offset: int
    events: tuple[Event, ...] = ()


# Row dates carry no offset; the reply's envelope does. Parsing one reply is
# synchronous, so a context variable scoped to it is exact and task-safe.
_REPLY_TZ: ContextVar[tzinfo] = ContextVar("_REPLY_TZ", default=UTC)


@contextmanager
def reply_offset(minutes: int) -> Generator[None]:
    token = _REPLY_TZ.set(timezone(timedelta(minutes=minutes)))
    try:
        yield
    finally:
        _REPLY_TZ.reset(token)


def to_int(value: Any, _: Any = None) -> int:
    if type(value) is int:
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            number = float(text)  # "35.0"; raises ValueError for anything else
            if number.is_integer():
                return int(number)
            raise
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _optional_int(value: Any, _: Any) -> int | None:
    return None if value is None or value == "" else to_int(value)


_TRUE = {"1", "true", "yes"}
_FALSE = {"0", "false", "no", ""}


def _flag(value: Any, _: Any) -> bool:
    if value is None or value is False or value is True:
        return bool(value)
    if type(value) in (int, float) and value in (0, 1):
        return bool(value == 1)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise ValueError(f"expected a 0/1 flag, got {value!r:.40}")


def _optional_text(value: Any, _: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)  # PHP sends numeric-looking text as numbers at times
    raise TypeError(f"expected text, got {type(value).__name__}")


def _text(value: Any, _: Any) -> str:
    text = _optional_text(value, None)
    if text is None:
        raise ValueError("expected non-empty text")
    return text


def _datetime(value: Any, _: Any) -> datetime:
    if not isinstance(value, str):
        raise TypeError(f"expected a date string, got {type(value).__name__}")
    parsed = datetime.fromisoformat(value.strip())  # accepts "YYYY-MM-DD HH:MM:SS[.ffffff]"
    tz = _REPLY_TZ.get()
    return parsed.replace(tzinfo=tz) if parsed.tzinfo is None else parsed.astimezone(tz)


def _direction(value: Any, _: Any) -> CallDirection:
    return CallDirection(to_int(value))


class RowError(Exception):
    """A row of ``data`` failed to structure; ``key`` is its UUID key or list index."""

    def __init__(self, key: str | int, error: Exception) -> None:
        super().__init__(f"row {key!r}: {error}")
        self.key, self.error = key, error


def _rows(value: Any, key: str) -> Iterator[tuple[str | int, Any]]:
    if value is None or value == [] or value == {}:
        return
    if isinstance(value, dict):
        for uuid, row in value.items():
            if isinstance(row, dict) and key not in row:
                row = {**row, key: uuid}
            yield uuid, row
    elif isinstance(value, list):
        yield from enumerate(value)
    else:
        raise TypeError(f"expected an object or a list of rows, got {type(value).__name__}")


def _is_row_tuple(t: Any) -> bool:
    args = get_args(t)
    return get_origin(t) is tuple and len(args) == 2 and args[1] is Ellipsis and args[0] in _ROW_KEY


def _make_rows_hook(t: Any, converter: cattrs.Converter) -> Callable[[Any, Any], tuple[Any, ...]]:
    row_type = get_args(t)[0]
    key = _ROW_KEY[row_type]

    structure_row: Callable[[Any, Any], Any] | None = None

    def structure_rows(value: Any, _: Any) -> tuple[Any, ...]:
        nonlocal structure_row
        if structure_row is None:  # resolved once, not per row: this is the hot path
            structure_row = converter.get_structure_hook(row_type)
        rows = []
        for row_key, row in _rows(value, key):
            try:
                rows.append(structure_row(row, row_type))
            except Exception as exc:
                raise RowError(row_key, exc) from None
        return tuple(rows)

    return structure_rows


# -- fast paths -------------------------------------------------------------------------------
# Call rows and events are nearly all the client parses (500 rows a page). These read
# the common, well-formed shapes inline and leave anything else to the hooks above; a
# value they cannot take is structured again by the cattrs-generated function, which
# raises naming the field. tests/test_records.py checks both agree on quirky rows.

_FLAGS: dict[Any, bool] = {0: False, 1: True, "0": False, "1": True, None: False, "": False}
_DIRECTIONS: dict[Any, CallDirection] = {d.value: d for d in CallDirection} | {str(d.value): d for d in CallDirection}
(
    _C_UUID, _C_DATE, _C_DIRECTION, _C_CID_NAME, _C_CID_NUM, _C_NUM_DIALED, _C_DURATION, _C_RECORDED,
    _C_RECORDING_URL, _C_DID_DESCRIPTION, _C_CID_PREFIX, _C_LAST_EVENT, _C_FLAGGED, _C_SEVERITY, _C_NOTES,
    _C_WENT_TO_VOICEMAIL, _C_SPOKE_TO_PERSON, _C_DID_GROUP, _C_TRANSCRIPTION,
) = CALL_FIELDS.values()  # fmt: skip
_E_UUID, _E_DATE, _E_TYPE, _E_DATA1, _E_DATA2, _E_DATA3, _E_DATA4 = EVENT_FIELDS.values()


def _fast_text(v: Any) -> str | None:
    if v.__class__ is str and v:
        return v
    return None if v is None else _optional_text(v, None)


def _fast_call(o: Any) -> CallSummary:
    get = o.get
    return CallSummary(
        uuid=v if (v := o[_C_UUID]).__class__ is str and v else _text(v, None),
        date=_datetime(o[_C_DATE], None),
        direction=_DIRECTIONS[v] if (v := o[_C_DIRECTION]) in _DIRECTIONS else _direction(v, None),
        cid_name=_fast_text(get(_C_CID_NAME)),
        cid_num=_fast_text(get(_C_CID_NUM)),
        num_dialed=_fast_text(get(_C_NUM_DIALED)),
        duration=v if (v := get(_C_DURATION)).__class__ is int else _optional_int(v, None),
        recorded=_FLAGS[v] if (v := get(_C_RECORDED)) in _FLAGS else _flag(v, None),
        recording_url=_fast_text(get(_C_RECORDING_URL)),
        did_description=_fast_text(get(_C_DID_DESCRIPTION)),
        cid_prefix=_fast_text(get(_C_CID_PREFIX)),
        last_event=_fast_text(get(_C_LAST_EVENT)),
        flagged=_FLAGS[v] if (v := get(_C_FLAGGED)) in _FLAGS else _flag(v, None),
        severity=v if (v := get(_C_SEVERITY)).__class__ is int else _optional_int(v, None),
        notes=_fast_text(get(_C_NOTES)),
        went_to_voicemail=_FLAGS[v] if (v := get(_C_WENT_TO_VOICEMAIL)) in _FLAGS else _flag(v, None),
        spoke_to_person=_FLAGS[v] if (v := get(_C_SPOKE_TO_PERSON)) in _FLAGS else _flag(v, None),
        did_group=_fast_text(get(_C_DID_GROUP)),
        transcription=_fast_text(get(_C_TRANSCRIPTION)),
    )


def _fast_event(o: Any, cls: type[Event], type_id: int) -> Event:
    get = o.get
    return cls(
        uuid=v if (v := o[_E_UUID]).__class__ is str and v else _text(v, None),
        date=_datetime(o[_E_DATE], None),
        type_id=type_id,
        data1=_fast_text(get(_E_DATA1)),
        data2=_fast_text(get(_E_DATA2)),
        data3=_fast_text(get(_E_DATA3)),
        data4=_fast_text(get(_E_DATA4)),
    )


def _without_key(call: CallSummary) -> CallSummary:
    # A server may put the key in the recording URL; it must not be stored, printed or shown.
    url = call.recording_url
    if url is not None and "auth=" in url.lower():
        return attrs.evolve(call, recording_url=without_auth(url))
    return call


def _renamed(cls: type[Any], names: dict[str, str], converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    overrides: dict[str, Any] = {field: override(rename=wire) for field, wire in names.items()}
    return make_dict_structure_fn(cls, converter, **overrides)


def slow_call_hook(converter: cattrs.Converter) -> Callable[[Any, Any], CallSummary]:
    """The cattrs-generated structuring of a call row: the reference, and the one that names a bad field."""
    return _renamed(CallSummary, CALL_FIELDS, converter)


def make_converter() -> cattrs.Converter:
    """The converter from decoded replies to records (made once, as ``converter``, below)."""
    converter = cattrs.Converter(detailed_validation=True)
    converter.register_structure_hook(int, to_int)
    converter.register_structure_hook(bool, _flag)
    converter.register_structure_hook(str, _text)
    converter.register_structure_hook(datetime, _datetime)
    converter.register_structure_hook(CallDirection, _direction)
    converter.register_structure_hook_func(lambda t: t == int | None, _optional_int)
    converter.register_structure_hook_func(lambda t: t == str | None, _optional_text)
    converter.register_structure_hook_factory(_is_row_tuple, lambda t: _make_rows_hook(t, converter))
    slow_call = slow_call_hook(converter)

    def structure_call(value: Any, cls: Any) -> CallSummary:
        try:
            return _without_key(_fast_call(value))
        except Exception:
            return _without_key(slow_call(value, cls))

    event_hooks: dict[type[Event], Callable[[Any, Any], Event]] = {}

    def structure_event(value: Any, _: Any) -> Event:
        if not isinstance(value, dict):
            raise TypeError(f"expected an event object, got {type(value).__name__}")
        # v is an int when its class is int; no cast() call on this hot path.
        type_id: int = v if (v := value.get(EVENT_TYPE)).__class__ is int else to_int(v)  # pyright: ignore[reportAssignmentType]
        cls = EVENT_TYPES.get(type_id, UnknownEvent)
        try:
            return _fast_event(value, cls, type_id)
        except Exception:
            hook = event_hooks.get(cls)
            if hook is None:
                hook = event_hooks[cls] = converter.get_structure_hook(cls)
            return hook(value, cls)

    converter.register_structure_hook(CallSummary, structure_call)
    converter.register_structure_hook(CallPage, _renamed(CallPage, {**PAGE_FIELDS, "calls": "data"}, converter))
    converter.register_structure_hook(EventPage, _renamed(EventPage, {**PAGE_FIELDS, "events": "data"}, converter))
    converter.register_structure_hook_factory(
        lambda t: isinstance(t, type) and issubclass(t, Event) and t is not Event,
        lambda t: _renamed(t, EVENT_FIELDS, converter),
    )
    converter.register_structure_hook_func(lambda t: t is Event, structure_event)
    return converter


converter = make_converter()

WIRE_NAMES.update(
    {
        CallSummary: CALL_FIELDS,
        CallPage: {**PAGE_FIELDS, "calls": "data"},
        EventPage: {**PAGE_FIELDS, "events": "data"},
        Event: EVENT_FIELDS,
    }
)


def structure(value: Any, cls: type[T]) -> T:
    return converter.structure(value, cls)
