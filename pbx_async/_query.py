"""The Call Summary query: Python keywords checked and normalised before any request."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, TypedDict

import attrs

from . import _validation as check
from ._errors import ValidationError
from ._records.calls import InternalApp, IvrEventType


class CallFilters(TypedDict, total=False):
    """Filters of ``iter_calls`` / ``iter_call_pages``, each mapped to its seed parameter.

    session.iter_calls(from_date=date(2026, 11, 2), show_internal=False, inbound_did="8005550100")
    """

    show_inbound: bool
    show_outbound: bool
    show_internal: bool
    inbound_caller_number: str
    inbound_did: str
    inbound_exten_received: str
    outbound_number_dialed: str
    outbound_exten_dialed: str
    internal_exten: str
    internal_app: InternalApp | int
    went_to_voicemail: bool
    spoke_to_person: bool
    flagged_followup: bool
    severity: int
    has_notes: bool
    ivr_id: str
    ivr_event_type: IvrEventType | int
    ivr_pushed: str


FilterValue = bool | int | str


def _ivr_pushed(name: str, value: Any) -> str:
    if _is_key(value):
        value = str(value)
    if not isinstance(value, str) or len(value) != 1 or value not in "0123456789*#":
        raise ValidationError(f"{name} must be one keypad key: 0-9, * or #, got {value!r}")
    return value


def _is_key(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 9


def _ivr_event_type(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValidationError(
            f"{name} must be a non-negative event type id (0=any, 52=option pushed, 53=timeout, "
            f"54 or 55 for direct dial), got {value!r}"
        )
    return int(value)


_APP_NAMES = ", ".join(f"{a.value}={a.name}" for a in InternalApp)
_FILTERS: dict[str, Callable[[str, Any], FilterValue]] = {
    "show_inbound": check.flag,
    "show_outbound": check.flag,
    "show_internal": check.flag,
    "inbound_caller_number": check.text,
    "inbound_did": check.text,
    "inbound_exten_received": check.text,
    "outbound_number_dialed": check.text,
    "outbound_exten_dialed": check.text,
    "internal_exten": check.text,
    "internal_app": lambda n, v: InternalApp(check.int_in(n, v, range(1, 7), _APP_NAMES)),
    "went_to_voicemail": check.flag,
    "spoke_to_person": check.flag,
    "flagged_followup": check.flag,
    "severity": lambda n, v: check.int_in(n, v, range(0, 6), "0 = no severity, 5 = maximum"),
    "has_notes": check.flag,
    "ivr_id": check.text,
    "ivr_event_type": _ivr_event_type,
    "ivr_pushed": _ivr_pushed,
}


@attrs.frozen
class CallQuery:
    """A checked query: naive datetimes already in ``utc_offset``, filters by Python name."""

    utc_offset: int
    from_date: datetime | None
    to_date: datetime | None
    filters: tuple[tuple[str, FilterValue], ...]


def _request_time(name: str, value: Any, offset: int, *, end: bool) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, date):
        check.day_in_range(name, value)  # before any arithmetic: year 1 or 9999 cannot be shifted
    if isinstance(value, datetime):
        moment: datetime = value
        if moment.tzinfo is not None:
            moment = moment.astimezone(timezone(timedelta(minutes=offset))).replace(tzinfo=None)
        return moment.replace(microsecond=0)
    if isinstance(value, date):
        return datetime.combine(value, time(23, 59, 59) if end else time(0, 0, 0))
    raise ValidationError(f"{name} must be a datetime or a date, got {value!r}")


def build_query(*, from_date: Any, to_date: Any, utc_offset: Any, filters: Mapping[str, Any]) -> CallQuery:
    offset = check.utc_offset(utc_offset)
    start = _request_time("from_date", from_date, offset, end=False)
    stop = _request_time("to_date", to_date, offset, end=True)
    if start is not None and stop is not None and start > stop:
        raise ValidationError(f"from_date ({start}) is after to_date ({stop})")
    checked: list[tuple[str, FilterValue]] = []
    for name, value in filters.items():
        validator = _FILTERS.get(name)
        if validator is None:
            close = difflib.get_close_matches(name, _FILTERS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(f"unknown filter {name!r}{hint}. Allowed: {', '.join(_FILTERS)}")
        checked.append((name, validator(name, value)))
    return CallQuery(utc_offset=offset, from_date=start, to_date=stop, filters=tuple(checked))
