"""Retries: the policy (capped exponential backoff with jitter, ``Retry-After`` honoured) and the one table of rules.

Every failed attempt is classified by a named ``Rule`` below; the requester
retries it when the rule allows it for the request's method and the policy
has attempts and time left.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import attrs

from . import _validation as check
from ._errors import PbxError


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


@attrs.frozen
class Rule:
    """One retry decision: may an attempt that failed this way be tried again, for a GET and for a POST?"""

    name: str
    get: bool
    post: bool

    def allows(self, method: str) -> bool:
        return self.get if method == "GET" else self.post


# The one table of retry decisions; every failed attempt is raised as one of these.
# The request never left this machine (connect refused or timed out, no pool slot):
# safe to send again, even the notes POST.
NOT_SENT = Rule("not sent", get=True, post=True)
# Sent, then the connection failed or timed out: reading again is harmless, but the
# notes POST may already have been applied, so it is not repeated.
CONNECTION_LOST = Rule("connection lost", get=True, post=False)
# 429: the server asks us to slow down; read again after its Retry-After.
RATE_LIMITED = Rule("rate limited", get=True, post=False)
# 5xx: the server failed; reads are retried, a POST may have been half applied.
SERVER_FAILED = Rule("server failed", get=True, post=False)
# The server says it could not reach its database: nothing was read or written, so
# both a read and the notes POST may be sent again.
DATABASE_UNAVAILABLE = Rule("database unavailable", get=True, post=True)
# A 2xx whose body is not whole (cut short, not JSON, shorter than its length): the
# next read usually gets it all.
BODY_INCOMPLETE = Rule("body incomplete", get=True, post=False)
# A resumed download whose range no longer fits the file: start the file over.
RANGE_STALE = Rule("range stale", get=True, post=False)
# Anything else (a refused key, a reply too large, a lie about pages): trying again
# would get the same answer.
FINAL = Rule("final", get=False, post=False)


class AttemptFailed(Exception):
    """One failed attempt (internal): the error to raise if no retry follows, the rule, the count label."""

    def __init__(self, error: PbxError, rule: Rule, cause: str, retry_after: float | None = None) -> None:
        super().__init__(cause)
        self.error, self.rule, self.cause, self.retry_after = error, rule, cause, retry_after
