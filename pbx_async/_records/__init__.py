"""Immutable records returned by the session: calls, pages, details and events."""

from collections.abc import Callable
from operator import attrgetter
from typing import Any


def values_reader(names: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """The named attributes' values in one call, a tuple even for one name (where ``attrgetter`` gives the value).

    uuid, date = values_reader(("uuid", "date"))(event)
    """
    if len(names) == 1:
        name = names[0]
        return lambda record: (getattr(record, name),)
    return attrgetter(*names)
