"""Async client for a hosted PBX's call-history API.

    import pbx_async
    from datetime import date

    async with pbx_async.PbxSession.from_env() as session:
        async for call in session.iter_calls(from_date=date(2026, 11, 2)):
            details = await session.get_call_details(call)

Records are frozen attrs classes; every error is a ``PbxError``.
"""

from ._config import ApiPaths
from ._errors import (
    ApiError,
    AuthenticationError,
    CallNotFoundError,
    InvalidContainerError,
    NetworkError,
    PaginationDriftError,
    PbxError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    SinkError,
    TransientServerError,
    ValidationError,
)
from ._fanout import FailedCall, FanOut
from ._pagination import CallIterator, PageIterator
from ._query import CallFilters
from ._records.calls import CallDetails, CallDirection, CallPage, CallSummary, InternalApp, IvrEventType
from ._records.event_types import *  # noqa: F403 - the 98 event classes, listed in its __all__
from ._records.event_types import __all__ as _event_type_names
from ._records.events import Event, UnknownEvent, event_class
from ._records.recordings import RecordingFile
from ._retry import RetryPolicy
from ._session import PbxSession

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "ApiPaths",
    "AuthenticationError",
    "CallDetails",
    "CallDirection",
    "CallFilters",
    "CallIterator",
    "CallNotFoundError",
    "CallPage",
    "CallSummary",
    "Event",
    "FailedCall",
    "FanOut",
    "InternalApp",
    "InvalidContainerError",
    "IvrEventType",
    "NetworkError",
    "PageIterator",
    "PaginationDriftError",
    "PbxError",
    "PbxSession",
    "RateLimitedError",
    "ResponseFormatError",
    "RecordingFile",
    "RetryPolicy",
    "ServerError",
    "SinkError",
    "TransientServerError",
    "UnknownEvent",
    "ValidationError",
    "event_class",
    *_event_type_names,
]
