"""The typed error for each way an exchange can fail, and the retry rule it falls under.

Every text put into an error passes through ``clean`` first (the key masked):
errors are built clean, never mended afterwards.

    raise network_failure("Call Details", exc, clean)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from . import _retry as rules
from ._errors import (
    ApiError,
    AuthenticationError,
    NetworkError,
    PbxError,
    RateLimitedError,
    ResponseFormatError,
    ServerError,
    TransientServerError,
)
from ._retry import AttemptFailed, parse_retry_after
from ._transports import Headers
from ._wire import replies

Clean = Callable[[str], str]
# Errors raised before a byte of the request left this machine: safe to retry a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def deadline_passed(what: str, deadline: float | None) -> AttemptFailed:
    error = NetworkError(f"{what}: no complete reply within {deadline:g} s (the timeout); check the network")
    return AttemptFailed(error, rules.CONNECTION_LOST, "network: deadline")


def network_failure(what: str, exc: httpx.RequestError, clean: Clean) -> AttemptFailed:
    kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
    detail = clean(f"{type(exc).__name__}: {exc}")
    error = NetworkError(f"{what}: the request {kind} ({detail}); check base_url and the network")
    rule = rules.NOT_SENT if isinstance(exc, _NOT_SENT) else rules.CONNECTION_LOST
    return AttemptFailed(error, rule, f"network: {type(exc).__name__}")


def check_status(what: str, status: int, headers: Headers) -> None:
    """Raise for 429 and 5xx, which retries may cure."""
    if status == 429:
        retry_after = parse_retry_after(headers.get("Retry-After"))
        error: ApiError = RateLimitedError(
            f"{what}: the server is rate limiting (429); lower max_concurrency or retry later",
            retry_after=retry_after,
        )
        raise AttemptFailed(error, rules.RATE_LIMITED, "HTTP 429", retry_after)
    if status >= 500:
        cls = TransientServerError if status in (502, 503, 504) else ServerError
        error = cls(f"{what}: the server failed with HTTP {status}", status_code=status)
        raise AttemptFailed(error, rules.SERVER_FAILED, f"HTTP {status}", parse_retry_after(headers.get("Retry-After")))


def raise_error_reply(what: str, reply: Any, status: int, clean: Clean) -> None:
    """Raise the typed error for an ``{"error": ...}`` reply (the database one may be retried)."""
    api_error = replies.error_for_reply(reply, what, status, clean=clean)
    if api_error is not None:
        if replies.is_transient(api_error):
            raise AttemptFailed(api_error, rules.DATABASE_UNAVAILABLE, "database unavailable")
        raise api_error


def unwanted_reply(
    what: str, status: int, headers: Headers, content_type: str, body: bytes, expected: str, clean: Clean
) -> PbxError:
    """The error for a streamed reply that is not the body asked for."""
    try:
        decoded = replies.decode(body, what, clean=clean)
    except ResponseFormatError:
        decoded = None
    raise_error_reply(what, decoded, status, clean)
    if status in (200, 206):
        return ResponseFormatError(
            f"{what}: the reply is {content_type or 'untyped'}, not {expected}; nothing was saved"
        )
    return status_error(what, status, headers)


def status_error(what: str, status: int, headers: Headers) -> ApiError:
    if status in (401, 403):
        return AuthenticationError(f"{what}: HTTP {status}; check the API key", status_code=status)
    if status == 404:
        return ApiError(f"{what}: HTTP 404; check base_url and paths", status_code=status)
    if 300 <= status < 400:
        # Redirects are never followed: the key travels in the query string.
        target = urlsplit(headers.get("location") or "").hostname or "an unnamed location"
        return ApiError(
            f"{what}: the server redirected to {target} (HTTP {status}); redirects are not followed, "
            f"so that the key goes only to base_url: check base_url",
            status_code=status,
        )
    return ApiError(f"{what}: unexpected HTTP {status}", status_code=status)
