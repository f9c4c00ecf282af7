"""One HTTP exchange with the API, retried by the session's policy, failures typed and scrubbed."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio
import httpx

from ._concurrency import Limiter
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
from ._redact import Secret, scrub
from ._retry import RetryPolicy, parse_retry_after
from ._transports import DirectTransport, Headers
from ._wire import replies

log = logging.getLogger("pbx_async")
T = TypeVar("T")

# Errors raised before a byte of the request left this machine: safe to retry a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


class Failed(Exception):
    """One failed attempt: the error to raise if no retry follows, whether one may, and why (for counts)."""

    def __init__(
        self,
        error: PbxError,
        *,
        retry_get: bool,
        retry_post: bool,
        cause: str,
        retry_after: float | None = None,
    ) -> None:
        self.error, self.retry_get, self.retry_post = error, retry_get, retry_post
        self.cause, self.retry_after = cause, retry_after


class Requester:
    """Sends requests for a session: limiter, timeout, retries, error mapping, secret scrubbing."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        secret: Secret,
        retry: RetryPolicy,
        timeout: httpx.Timeout,
        limiter: Limiter,
        direct: DirectTransport | None = None,
        retries: Counter[str] | None = None,
    ) -> None:
        self.client, self._base_url, self._secret = client, base_url, secret
        self.retries: Counter[str] = retries if retries is not None else Counter()  # retries made, by cause
        # A transport the session made itself may offer a leaner path than httpx's client
        # (see _transports); a client passed in by the caller is always used as given.
        self._direct = direct
        self._retry, self.timeout, self.limiter = retry, timeout, limiter

    async def get(self, what: str, path: str, params: Mapping[str, str], parse: Callable[[Any], T]) -> T:
        """GET ``base_url + path`` and ``parse`` the decoded JSON reply (error replies raised)."""
        return await self._exchange(what, "GET", path, params, parse)

    async def post_form(self, what: str, path: str, form: Mapping[str, str], parse: Callable[[Any], T]) -> T:
        """POST a urlencoded form and ``parse`` the decoded JSON reply (error replies raised)."""
        return await self._exchange(what, "POST", path, form, parse)

    async def _exchange(
        self, what: str, method: str, path: str, fields: Mapping[str, str], parse: Callable[[Any], T]
    ) -> T:
        try:
            reply = await self.retrying(what, method, lambda: self._attempt(what, method, self.url(path), fields))
            return parse(reply)
        except PbxError as exc:
            self.scrub(exc)
            raise

    def url(self, path: str) -> str:
        return self._base_url + path

    def scrub(self, exc: PbxError) -> None:
        """Take the key out of an error's text, in place.

        Every reply passes through the session's requests, and a server may
        echo the key back in an error text or a field value.
        """
        exc.args = tuple(scrub(a, self._secret) if isinstance(a, str) else a for a in exc.args)
        if isinstance(exc, ApiError) and exc.server_message is not None:
            exc.server_message = scrub(exc.server_message, self._secret)

    async def retrying(self, what: str, method: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it succeeds, raises a final error, or the policy says stop."""
        policy = self._retry
        deadline: float | None = None  # set at the first failure: the success path stays lean
        number = 0
        while True:
            number += 1
            try:
                return await attempt()
            except Failed as failed:
                if deadline is None:
                    deadline = anyio.current_time() + policy.max_elapsed
                may_retry = failed.retry_get if method == "GET" else failed.retry_post
                delay = policy.backoff(number, failed.retry_after)
                if not may_retry or number >= policy.max_attempts or anyio.current_time() + delay > deadline:
                    if may_retry:
                        log.warning("%s: giving up after %d attempts: %s", what, number, failed.error)
                    raise failed.error from None
                self.retries[failed.cause] += 1
                log.info("%s: attempt %d failed (%s); retrying in %.2f s", what, number, failed.error, delay)
            await anyio.sleep(delay)

    def network_failure(self, what: str, exc: httpx.RequestError) -> Failed:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        detail = scrub(f"{type(exc).__name__}: {exc}", self._secret)
        error = NetworkError(f"{what}: the request {kind} ({detail}); check base_url and the network")
        return Failed(
            error, retry_get=True, retry_post=isinstance(exc, _NOT_SENT), cause=f"network: {type(exc).__name__}"
        )

    async def _attempt(self, what: str, method: str, url: str, fields: Mapping[str, str]) -> Any:
        params, form = (fields, None) if method == "GET" else (None, fields)
        async with self.limiter:
            log.debug("%s: %s %s", what, method, url)
            try:
                if self._direct is not None:
                    status, headers, content = await self._direct.exchange(method, url, params, form, self.timeout)
                else:
                    response = await self.client.request(method, url, params=params, data=form, timeout=self.timeout)
                    status, headers, content = response.status_code, response.headers, response.content
            except httpx.RequestError as exc:
                raise self.network_failure(what, exc) from None
        return self._interpret(what, status, headers, content)

    def check_status(self, what: str, status: int, headers: Headers) -> None:
        """Raise for 429 and 5xx (retryable for GET)."""
        if status == 429:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            error: ApiError = RateLimitedError(
                f"{what}: the server is rate limiting (429); lower max_concurrency or retry later",
                retry_after=retry_after,
            )
            raise Failed(error, retry_get=True, retry_post=False, cause="HTTP 429", retry_after=retry_after)
        if status >= 500:
            cls = TransientServerError if status in (502, 503, 504) else ServerError
            retry_after = parse_retry_after(headers.get("Retry-After"))
            error = cls(f"{what}: the server failed with HTTP {status}", status_code=status)
            raise Failed(error, retry_get=True, retry_post=False, cause=f"HTTP {status}", retry_after=retry_after)

    def _interpret(self, what: str, status: int, headers: Headers, content: bytes) -> Any:
        self.check_status(what, status, headers)
        try:
            reply = replies.decode(content, what)
        except ResponseFormatError as exc:
            if 200 <= status < 300:  # a body cut short in transit: worth reading again
                raise Failed(exc, retry_get=True, retry_post=False, cause="unreadable JSON") from None
            raise self.status_error(what, status) from None
        self.raise_error_reply(what, reply, status)
        if not 200 <= status < 300:
            raise self.status_error(what, status)
        return reply

    @staticmethod
    def raise_error_reply(what: str, reply: Any, status: int) -> None:
        """Raise the typed error for an ``{"error": ...}`` reply (transient ones retryable)."""
        api_error = replies.error_for_reply(reply, what, status)
        if api_error is not None:
            transient = replies.is_transient(api_error)
            raise Failed(api_error, retry_get=transient, retry_post=transient, cause="database unavailable")

    @staticmethod
    def status_error(what: str, status: int) -> ApiError:
        if status in (401, 403):
            return AuthenticationError(f"{what}: HTTP {status}; check the API key", status_code=status)
        if status == 404:
            return ApiError(f"{what}: HTTP 404; check base_url and paths", status_code=status)
        return ApiError(f"{what}: unexpected HTTP {status}", status_code=status)
