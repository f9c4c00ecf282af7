"""Async client for a hosted PBX's call-history API.

    import pbx_async
    from datetime import date

    async with pbx_async.PbxSession.from_env() as session:
        async for call in session.iter_calls(from_date=date(2026, 11, 2)):
            details = await session.get_call_details(call)

Records are frozen attrs classes; every error is a ``PbxError``.
"""

from ._adaptive import ConcurrencyStats, LimitChange
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
    ResponseTooLargeError,
    ServerError,
    SinkError,
    StorageError,
    TransientServerError,
    ValidationError,
)
from ._exchange import Hooks, RequestInfo, ResponseInfo, RetryInfo
from ._fanout import FailedCall, FanOut
from ._journey import CallJourney, call_journey
from ._logs import setup_logging as _setup_logging
from ._pagination import CallIterator, PageIterator
from ._query import CallFilters
from ._records.calls import CallDetails, CallDirection, CallPage, CallSummary, InternalApp, IvrEventType
from ._records.recordings import RecordingFile, RecordingRef
from ._retry import RetryPolicy
from ._session import PbxSession
from ._version import __version__ as __version__
from .events import *  # noqa: F403 - Event, UnknownEvent, event_class and the 98 event classes
from .events import __all__ as _event_names

_setup_logging()

__all__ = [  # pyright: ignore[reportUnsupportedDunderAll] - the event names come from events.__all__
    "ApiError",
    "ApiPaths",
    "AuthenticationError",
    "CallDetails",
    "CallDirection",
    "CallFilters",
    "CallIterator",
    "CallJourney",
    "CallNotFoundError",
    "CallPage",
    "CallSummary",
    "ConcurrencyStats",
    "FailedCall",
    "FanOut",
    "Hooks",
    "InternalApp",
    "InvalidContainerError",
    "IvrEventType",
    "LimitChange",
    "NetworkError",
    "PageIterator",
    "PaginationDriftError",
    "PbxError",
    "PbxSession",
    "RateLimitedError",
    "ResponseFormatError",
    "ResponseInfo",
    "ResponseTooLargeError",
    "RecordingFile",
    "RecordingRef",
    "RequestInfo",
    "RetryInfo",
    "RetryPolicy",
    "ServerError",
    "SinkError",
    "StorageError",
    "TransientServerError",
    "ValidationError",
    "call_journey",
    *_event_names,
]
