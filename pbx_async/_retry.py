"""Retry policy: capped exponential backoff with jitter that honours ``Retry-After``."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

from . import _validation as check


@attrs.frozen
class RetryPolicy:
    """When and how long to retry a failed request.

        PbxSession(auth, "123456", retry=RetryPolicy(max_attempts=8, max_elapsed=300))

    GET requests are retried on connection errors, timeouts, 429, 5xx, bodies
    that are not JSON, and the server's "Error connecting to the database"
    reply. The notes POST is retried only when the request never reached the
    server, or on that database reply. The wait before attempt ``n + 1`` is
    ``min(max_backoff, initial_backoff * 2 ** (n - 1))`` scaled by a random
    factor in [0.5, 1], unless the server's ``Retry-After`` asks for longer.
    No request is retried past ``max_attempts`` attempts, nor once
    ``max_elapsed`` seconds have passed since its first failure.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.5
    max_backoff: float = 20.0
    max_elapsed: float = 120.0

    def __attrs_post_init__(self) -> None:
        check.positive_int("max_attempts", self.max_attempts, maximum=100)
        for name in ("initial_backoff", "max_backoff", "max_elapsed"):
            check.positive_number(name, getattr(self, name))

    def backoff(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        delay = min(self.max_backoff, self.initial_backoff * 2.0 ** (attempt - 1))
        delay *= random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not cryptography
        return max(delay, retry_after or 0.0)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date); None if absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())
