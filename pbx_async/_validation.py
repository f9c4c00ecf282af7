"""Checks on user input, run before any request, with messages that say what is allowed."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta
from typing import Any, Literal, TypeGuard
from urllib.parse import urlsplit

from ._errors import ValidationError

MAX_CONCURRENCY = 256  # requests in flight a session or one call may ask for

_CONTAINER = re.compile(r"[0-9]{6}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MIN_UTC_OFFSET, MAX_UTC_OFFSET = -720, 840  # UTC-12:00 .. UTC+14:00
MAX_NOTES = 255
# The days a query, an export or a sync may name. No PBX kept calls before 1970; a year under 1000
# would go out in fewer than four digits ("1-01-01"), which the API reads as today; past 9998 a
# day's window would run beyond what a datetime holds.
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(9998, 12, 31)
MAX_LOOKBACK_HOURS = 24 * 3660  # ten years: past that a lookback is a slip of the keyboard


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def container_id(value: Any) -> str:
    text = str(value) if _is_int(value) else value
    if not isinstance(text, str) or not _CONTAINER.fullmatch(text):
        raise ValidationError(
            f"container_id must be exactly 6 digits (the Container ID at the top left of the "
            f"PBX dashboard), got {value!r}"
        )
    return text


def tenant_id(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not _is_int(value) or not 0 <= value <= 999:
        raise ValidationError(f"tenant_id must be an integer from 0 to 999 (0 = default tenant), got {value!r}")
    return int(value)


def base_url(value: Any) -> str:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(f"base_url must be an http:// or https:// URL with a host, got {value!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("base_url must not carry a query, fragment or user info")
    return str(value).rstrip("/") + "/"


def proxy_url(value: Any) -> str:
    """An http(s) proxy URL; it may carry a user and password, so it is never repeated."""
    try:
        parts = urlsplit(value) if isinstance(value, str) else None
        ok = parts is not None and parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        ok = False
    if not ok:
        raise ValidationError("proxy must be an http:// or https:// URL with a host, e.g. http://proxy.internal:3128")
    return str(value)


def api_path(name: str, value: Any) -> None:
    parts = urlsplit(value) if isinstance(value, str) else None
    if parts is None or not value.strip() or parts.scheme or parts.netloc or parts.query or _CONTROL.search(value):
        # Paths are relative to base_url so the key only ever goes to the configured host.
        raise ValidationError(
            f"paths.{name} must be a path relative to base_url, such as 'api/call_list.php', got {value!r}"
        )


def utc_offset(value: Any) -> int:
    if not _is_int(value) or not MIN_UTC_OFFSET <= value <= MAX_UTC_OFFSET:
        raise ValidationError(
            f"utc_offset is minutes from UTC, an integer from {MIN_UTC_OFFSET} to {MAX_UTC_OFFSET} "
            f"(America/Chicago is -300), got {value!r}"
        )
    return int(value)


def positive_int(name: str, value: Any, *, maximum: int) -> int:
    if not _is_int(value) or not 1 <= value <= maximum:
        raise ValidationError(f"{name} must be an integer from 1 to {maximum}, got {value!r}")
    return int(value)


def positive_number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{name} must be a positive number of seconds, got {value!r}")
    return float(value)


def day_in_range(name: str, value: date) -> None:
    """Refuse a day (or a moment) outside ``FIRST_DAY``..``LAST_DAY``."""
    day = value.date() if isinstance(value, datetime) else value
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(f"{name} must be a day from {FIRST_DAY} to {LAST_DAY}, got {value.isoformat()}")


def lookback(name: str, value: Any, *, zero: bool) -> timedelta:
    """Hours (a number) or a ``timedelta``, finite, up to ten years; 0 allowed when ``zero``."""
    hours = value.total_seconds() / 3600 if isinstance(value, timedelta) else value
    allowed = f"from 0 to {MAX_LOOKBACK_HOURS:,}" if zero else f"more than 0, at most {MAX_LOOKBACK_HOURS:,}"
    if (
        isinstance(hours, bool)
        or not isinstance(hours, int | float)
        or not math.isfinite(hours)
        or not (hours >= 0 if zero else hours > 0)
        or hours > MAX_LOOKBACK_HOURS
    ):
        shown = f"{hours:g}" if isinstance(hours, float) else repr(value)
        raise ValidationError(f"{name} must be a number of hours {allowed}, got {shown}")
    return value if isinstance(value, timedelta) else timedelta(hours=hours)


def text(name: str, value: Any, *, max_length: int = 128) -> str:
    if _is_int(value):
        value = str(value)
    if not isinstance(value, str) or not value.strip() or len(value) > max_length or _CONTROL.search(value):
        raise ValidationError(
            f"{name} must be non-empty text of at most {max_length} characters without control "
            f"characters, got {value!r:.80}"
        )
    return value


def call_uuid(value: Any) -> str:
    uuid = getattr(value, "uuid", value)  # a CallSummary or a plain UUID string
    return text("call_uuid", uuid)


def flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def int_in(name: str, value: Any, allowed: range, meaning: str) -> int:
    if not _is_int(value) or value not in allowed:
        raise ValidationError(
            f"{name} must be an integer from {allowed.start} to {allowed.stop - 1} ({meaning}), got {value!r}"
        )
    return int(value)


def notes(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"notes must be text, got {type(value).__name__}")
    if len(value) > MAX_NOTES:
        raise ValidationError(f"notes may hold at most {MAX_NOTES} characters, got {len(value)}")
    return value


def concurrency(name: str, value: Any, *, maximum: int = MAX_CONCURRENCY) -> int | Literal["auto"]:
    """Requests in flight: an integer from 1 to ``maximum``, or ``"auto"`` (the limit finds the server's)."""
    if value == "auto":
        return "auto"
    if not _is_int(value) or not 1 <= value <= maximum:
        raise ValidationError(f"{name} must be an integer from 1 to {maximum}, or 'auto', got {value!r}")
    return int(value)


def fan_out(width: Any, ordered: Any, on_error: Any, *, default: int | Literal["auto"]) -> int | Literal["auto"]:
    """The width of a fan-out (``default`` when ``width`` is None), its other flags checked."""
    flag("ordered", ordered)
    if on_error not in ("raise", "return"):
        raise ValidationError(f"on_error must be 'raise' or 'return', got {on_error!r}")
    return default if width is None else concurrency("concurrency", width)


def note_fields(text: Any, flagged: Any, severity: Any) -> tuple[str | None, bool | None, int | None]:
    """The fields of a notes POST (notes, flag, severity), checked; at least one must be given."""
    if text is None and flagged is None and severity is None:
        raise ValidationError("give at least one of notes, flagged or severity")
    return (
        None if text is None else notes(text),
        None if flagged is None else flag("flagged", flagged),
        None if severity is None else int_in("severity", severity, range(6), "0 = none, 5 = maximum"),
    )
