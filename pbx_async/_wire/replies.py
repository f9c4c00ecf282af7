"""Decoded replies -> records, and the API's error replies -> typed exceptions."""

# JSON is Any, and pyright's isinstance(value, dict) on it yields dict[Unknown, Unknown]: these rules
# would flag every read of a reply here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false
# pyright: reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import cattrs

from .._errors import (
    ApiError,
    AuthenticationError,
    CallNotFoundError,
    InvalidContainerError,
    ResponseFormatError,
    TransientServerError,
)
from .._records.calls import CallPage, CallSummary
from .._records.events import Event
from . import fast
from .converter import (
    CALL_FIELDS,
    EVENT_FIELDS,
    UTC_OFFSET,
    WIRE_NAMES,
    EventPage,
    RowError,
    reply_offset,
    structure,
    to_int,
)

T = TypeVar("T")

try:  # three times faster than json on 250 KB pages; the same Python values out
    from orjson import loads as _orjson_loads
except ImportError:  # pragma: no cover - orjson is a dependency, but stay correct without it
    _loads: Callable[[bytes], Any] = json.loads
else:
    _loads = _orjson_loads

ERROR_KEY, SUCCESS_KEY = "error", "success"
NOTES_SUBMITTED = "Your call notes have been submitted."
# The documented error messages, and what the user should do about each.
_ERRORS: dict[str, tuple[type[ApiError], str]] = {
    "your container id is invalid.": (
        InvalidContainerError,
        "the server refused the container ID; check PBX_CONTAINER_ID / container_id (and tenant_id)",
    ),
    "your api auth key is invalid.": (
        AuthenticationError,
        "the server refused the API key; check PBX_AUTH / auth (keys are managed under Users in the portal)",
    ),
    "your calluuid is missing.": (
        CallNotFoundError,
        "the server did not find the call UUID; check that it came from a Call Summary of this container",
    ),
    "error connecting to the database. try again later.": (
        TransientServerError,
        "the server could not reach its database; this is temporary, try again later",
    ),
}


def _as_is(text: str) -> str:
    return text


def decode(content: bytes, what: str, *, clean: Callable[[str], str] = _as_is) -> Any:
    """JSON-decode a body; a body that is not JSON raises ResponseFormatError (its text ``clean``ed)."""
    try:
        return _loads(content)
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        snippet = clean(content[:4096].decode("utf-8", "replace"))[:60]
        raise ResponseFormatError(
            f"{what}: the reply is not valid JSON ({len(content)} bytes, starting {snippet!r})"
        ) from None


def error_for_reply(
    reply: Any, what: str, status_code: int | None = None, *, clean: Callable[[str], str] = _as_is
) -> ApiError | None:
    """The typed error an ``{"error": "..."}`` reply stands for; None for any other reply.

    ``clean`` runs on the server's text before the cut, so a secret it echoes is masked whole.
    """
    if not isinstance(reply, dict) or ERROR_KEY not in reply:
        return None
    message = clean(str(reply[ERROR_KEY])[:10_000])[:300]
    cls, advice = _ERRORS.get(message.strip().lower(), (ApiError, "the API reported an error"))
    return cls(f"{what}: {advice} (server said: {message!r})", status_code=status_code, server_message=message)


def is_transient(error: ApiError) -> bool:
    return isinstance(error, TransientServerError)


def _problems(exc: BaseException, path: str, out: list[str]) -> None:
    """Flatten cattrs' validation tree into ``$.data['uuid'].callDate: ...`` lines, in wire names."""
    if isinstance(exc, cattrs.ClassValidationError):
        names = WIRE_NAMES.get(exc.cl) or (EVENT_FIELDS if issubclass(exc.cl, Event) else {})
        with_notes, without_notes = exc.group_exceptions()
        for sub, note in with_notes:
            _problems(sub, f"{path}.{names.get(note.name, note.name)}", out)
        for sub in without_notes:
            _problems(sub, path, out)
    elif isinstance(exc, RowError):
        _problems(exc.error, f"{path}[{exc.key!r}]", out)
    elif isinstance(exc, KeyError):
        out.append(f"{path}: missing")
    else:
        out.append(f"{path}: {str(exc)[:80] or type(exc).__name__}")


def _describe(exc: BaseException) -> str:
    problems: list[str] = []
    _problems(exc, "$", problems)
    more = f"; and {len(problems) - 3} more" if len(problems) > 3 else ""
    return "; ".join(problems[:3]) + more


def _structure(reply: Any, build: Callable[[dict[str, Any]], T], what: str) -> T:
    """Run ``build`` on a reply object in the reply's offset; any failure is a ResponseFormatError."""
    if not isinstance(reply, dict):
        raise ResponseFormatError(f"{what}: expected a JSON object, got {type(reply).__name__}")
    try:
        with reply_offset(_offset(reply)):
            return build(reply)
    except (
        cattrs.BaseValidationError,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        OverflowError,
    ) as exc:
        raise ResponseFormatError(f"{what}: the reply does not match the API contract: {_describe(exc)}") from None


def _offset(reply: dict[str, Any]) -> int:
    value = reply.get(UTC_OFFSET)
    return 0 if value is None or value == "" else to_int(value)


class Parser(Generic[T]):
    """Decoded reply -> records (the reference, with cattrs), and ``from_bytes``: the fast path.

    ``from_bytes`` returns None for any reply outside the common shapes (error
    replies among them); the requester then decodes it and calls the parser.
    """

    def __init__(self, reference: Callable[[Any], T], from_bytes: Callable[[bytes], T | None]) -> None:
        self._reference, self.from_bytes = reference, from_bytes

    def __call__(self, reply: Any) -> T:
        return self._reference(reply)


def _call_page(reply: Any) -> CallPage:
    return _structure(reply, lambda r: structure(r, CallPage), "Call Summary")


def _details(reply: dict[str, Any]) -> tuple[CallSummary | None, EventPage]:
    call = structure(reply, CallSummary) if reply.get(CALL_FIELDS["uuid"]) else None
    return call, structure(reply, EventPage)


def _details_page(reply: Any) -> tuple[CallSummary | None, EventPage]:
    return _structure(reply, _details, "Call Details")


call_page = Parser(_call_page, fast.call_page_from_bytes)
# The call's summary (None when the reply has none) and one page of its events.
details_page = Parser(_details_page, fast.details_from_bytes)


def notes_reply(reply: Any) -> None:
    if not (isinstance(reply, dict) and isinstance(reply.get(SUCCESS_KEY), str)):
        raise ResponseFormatError(f"Call Notes: expected a success or error reply, got {str(reply)[:100]!r}")
