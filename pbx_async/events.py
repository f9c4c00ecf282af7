"""The records of a call's timeline: ``Event``, one subclass per event type, ``UnknownEvent``.

    from pbx_async.events import ExtensionAnswer, event_class

    for event in details.events:
        if isinstance(event, ExtensionAnswer):
            print(event.date, event.ext_num, event.ext_name)

The same names are importable from ``pbx_async`` itself.
"""

from ._records.event_types import *  # noqa: F403 - the 98 event classes, listed in its __all__
from ._records.event_types import __all__ as _event_type_names
from ._records.event_types import event_class
from ._records.events import Event, UnknownEvent

__all__ = ["Event", "UnknownEvent", "event_class", *_event_type_names]  # pyright: ignore[reportUnsupportedDunderAll]
