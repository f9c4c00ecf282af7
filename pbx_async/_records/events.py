"""Call Details events: the base record and the unknown-type record (the 98 types are in ``event_types``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from .json_form import JsonForm, record_dict


def _as_int(text: str | None) -> int | None:  # pyright: ignore[reportUnusedFunction] - event_types uses it
    """Read an integer-valued data field; None when it holds no integer."""
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        return None


@attrs.frozen
class Event(JsonForm):
    """One event of a call's timeline.

    Each event type of the provider's table has its own subclass (for example
    ``ExtensionAnswer``) adding named, typed views of the raw data fields; the
    raw ``data1``..``data4`` are always kept, so nothing is lost.

        for event in details.events:
            if isinstance(event, pbx_async.ExtensionAnswer):
                print(event.date, event.ext_num, event.ext_name)
    """

    TYPE_ID: ClassVar[int | None] = None
    PURPOSE: ClassVar[str] = "Unknown event type"

    uuid: str
    date: datetime
    type_id: int
    data1: str | None = None
    data2: str | None = None
    data3: str | None = None
    data4: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data: its fields, ``type`` and ``purpose``, and its named data fields."""
        return {**record_dict(self), "type": type(self).__name__, "purpose": self.PURPOSE}


@attrs.frozen
class UnknownEvent(Event):
    """An event whose type id the table (as of 2022-01-19) does not list.

    The provider adds ids over time; such an event is normal data, kept whole.
    """
