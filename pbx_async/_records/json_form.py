"""The documented JSON form of every record: ``record.to_dict()``.

    json.dumps(details.to_dict())

Dates are ISO 8601 strings with their offset, enums their names, paths strings;
a nested record is a nested object and a tuple a list. An event adds ``type``
(its class name), ``purpose`` and its named fields (``ext_num``, ...) beside
the raw ``data1``..``data4``.
"""

# JSON is Any, and pyright's isinstance(value, dict) on it yields dict[Unknown, Unknown]: these rules
# would flag every read of a reply here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import enum
from datetime import date, datetime
from pathlib import PurePath
from typing import Any

import attrs


class JsonForm:
    """Mixed into each record: ``to_dict()``."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """This record as JSON-ready plain data (see the module's docstring for the form)."""
        return record_dict(self)


def record_dict(record: Any) -> dict[str, Any]:
    names = _names(type(record))
    return {name: plain(getattr(record, name)) for name in names}


_NAMES: dict[type, tuple[str, ...]] = {}


def _names(cls: type) -> tuple[str, ...]:
    """A record class's fields, then the public properties it adds (an event type's named data fields)."""
    names = _NAMES.get(cls)
    if names is None:
        found = [field.name for field in attrs.fields(cls)]
        for klass in reversed(cls.__mro__):
            found += [n for n, v in vars(klass).items() if isinstance(v, property) and not n.startswith("_")]
        names = _NAMES[cls] = tuple(dict.fromkeys(found))
    return names


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data."""
    if value is None or (isinstance(value, bool | int | float | str) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, BaseException):
        return {"type": type(value).__name__, "message": str(value)}
    if isinstance(value, JsonForm):
        return value.to_dict()  # a record's own form (an event adds its type and purpose)
    if attrs.has(type(value)):
        return record_dict(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)
