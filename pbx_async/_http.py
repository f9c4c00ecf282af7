"""Every HTTP exchange with the API: ``get``, ``post_form`` and ``stream``, retried by the session's
policy under its limit, failures typed and built without the key.

    requester = Requester(client, base_url=..., secret=..., retry=..., timeout=..., limiter=...)
    page = await requester.get("Call Summary", "/callSummary.php", params, replies.call_page)
"""

from __future__ import annotations

import logging
import math
import platform
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio
import httpx

from . import _retry as rules
from ._body import ACCEPT_ENCODING, read_bounded, too_large
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
from ._logs import LOGGER_NAME
from ._redact import Secret, scrub
from ._retry import AttemptFailed, RetryPolicy, parse_retry_after
from ._transports import DirectTransport, Headers
from ._version import __version__
from ._wire import replies

log = logging.getLogger(LOGGER_NAME)
T = TypeVar("T")

# Errors raised before a byte of the request left this machine: safe to retry a POST.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
ERROR_BODY_LIMIT = 64 * 1024  # an error reply worth reading is short
MIN_BODY_RATE = 32 * 1024  # bytes/s a streamed body must average (a recording plays at 16 KB/s)
USER_AGENT = f"pbx-async/{__version__} Python/{platform.python_version()} httpx/{httpx.__version__}"


class StreamReply:
    """The head of a streamed reply and its body as it arrives (what ``Requester.stream`` hands over)."""

    def __init__(self, response: httpx.Response) -> None:
        self.status = response.status_code
        self.headers: Headers = response.headers
        self._response = response

    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as received (content-encoding undone): nothing buffered is lost on a cut."""
        return self._response.aiter_bytes()


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
        max_reply_bytes: int = 64 * 1024**2,
        user_agent: str = "",
    ) -> None:
        self._client, self._base_url, self._secret = client, base_url, secret
        self.retries: Counter[str] = retries if retries is not None else Counter()  # retries made, by cause
        # A transport the session made itself may offer a leaner path than httpx's client
        # (see _transports); a client passed in by the caller is always used as given.
        self._direct = direct
        self._retry, self._timeout, self.limiter = retry, timeout, limiter
        self._max_reply_bytes = max_reply_bytes
        self._json_headers = {"Accept-Encoding": ACCEPT_ENCODING, "User-Agent": user_agent or USER_AGENT}
        self._user_agent = self._json_headers["User-Agent"]
        # One deadline over a whole exchange (connect, headers, body): httpx's and aiohttp's
        # timeouts are per read, so a server trickling a byte at a time would never trip them.
        self._deadline = max(
            (t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t), default=None
        )

    def clean(self, text: str) -> str:
        """``text`` with the key masked: every error is built from cleaned text, never mended after."""
        return scrub(text, self._secret)

    # -- the three exchanges ----------------------------------------------------------------------

    async def get(self, what: str, path: str, params: Mapping[str, str], parse: Callable[[Any], T]) -> T:
        """GET ``base_url + path`` and ``parse`` the decoded JSON reply (error replies raised)."""
        return await self._json_exchange(what, "GET", path, params, parse)

    async def post_form(self, what: str, path: str, form: Mapping[str, str], parse: Callable[[Any], T]) -> T:
        """POST a urlencoded form and ``parse`` the decoded JSON reply (error replies raised)."""
        return await self._json_exchange(what, "POST", path, form, parse)

    async def stream(
        self,
        what: str,
        path: str,
        params: Mapping[str, str],
        *,
        headers: Callable[[], Mapping[str, str]],
        statuses: frozenset[int],
        content_type: Callable[[str], bool],
        expected: str,
        receive: Callable[[StreamReply], Awaitable[T]],
    ) -> T:
        """GET a body too large to hold in memory: ``receive`` consumes it as it streams in.

        Replies with a status outside ``statuses``, or (for 200/206) a content type that
        ``content_type`` refuses (``expected`` names what it wants), are read
        (bounded) and raised as typed errors here.
        ``headers`` is asked anew for each attempt (a resumed download sends a new Range).
        ``receive`` may raise ``AttemptFailed`` to have the exchange tried again.
        """
        url = self._base_url + path

        async def attempt() -> T:
            failure: AttemptFailed | None = None
            async with self.limiter:
                log.debug("%s: GET %s", what, self.clean(url))
                # The head must come within the timeout; the body gets the timeout plus what
                # its announced length takes at MIN_BODY_RATE, so a trickle cannot run forever.
                with anyio.CancelScope(deadline=anyio.current_time() + (self._deadline or math.inf)) as scope:
                    try:
                        async with self._client.stream(
                            "GET",
                            url,
                            params=params,
                            headers={**headers(), "User-Agent": self._user_agent},
                            timeout=self._timeout,
                            follow_redirects=False,
                        ) as response:
                            reply = StreamReply(response)
                            length = response.headers.get("content-length", "")
                            scope.deadline += int(length) / MIN_BODY_RATE if length.isdigit() else 0
                            self._check_status(what, reply.status, reply.headers)
                            if reply.status not in statuses or (
                                reply.status in (200, 206) and not content_type(reply.content_type())
                            ):
                                body = await _read_bounded(response.aiter_bytes(), ERROR_BODY_LIMIT)
                                raise self._unwanted_reply(what, reply, body, expected)
                            return await receive(reply)
                    except httpx.RequestError as exc:
                        failure = self._network_failure(what, exc)
            # Past the block without a result: the network failed, or the deadline passed.
            raise failure or self._deadline_passed(what)

        return await self._retrying(what, "GET", attempt)

    # -- JSON requests ----------------------------------------------------------------------------

    async def _json_exchange(
        self, what: str, method: str, path: str, fields: Mapping[str, str], parse: Callable[[Any], T]
    ) -> T:
        url = self._base_url + path
        reply = await self._retrying(what, method, lambda: self._json_attempt(what, method, url, fields))
        try:
            return parse(reply)
        except ResponseFormatError as exc:  # its text may quote a value the server echoed
            error = ResponseFormatError(self.clean(str(exc)))
        raise error  # outside the except block: nothing of the reply hangs on its __context__

    async def _json_attempt(self, what: str, method: str, url: str, fields: Mapping[str, str]) -> Any:
        params, form = (fields, None) if method == "GET" else (None, fields)
        failure: AttemptFailed | None = None
        async with self.limiter:
            log.debug("%s: %s %s", what, method, self.clean(url))
            try:
                with anyio.fail_after(self._deadline):
                    status, headers, content = await self._send(what, method, url, params, form)
            except httpx.RequestError as exc:
                failure = self._network_failure(what, exc)
            except TimeoutError:
                failure = self._deadline_passed(what)
        if failure is not None:
            raise failure
        return self._interpret(what, status, headers, content)

    async def _send(
        self,
        what: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
    ) -> tuple[int, Headers, bytes]:
        if self._direct is not None:
            return await self._direct.exchange(
                method, url, params, form, self._json_headers, self._timeout, self._max_reply_bytes, what
            )
        async with self._client.stream(
            method,
            url,
            params=params,
            data=form,
            headers=self._json_headers,
            timeout=self._timeout,
            follow_redirects=False,
        ) as response:
            if response.is_stream_consumed:  # a transport that hands over a body already read (respx)
                content = response.content
                if len(content) > self._max_reply_bytes:
                    raise too_large(what, self._max_reply_bytes)
            else:
                encoding = response.headers.get("content-encoding")
                content = await read_bounded(response.aiter_raw(), encoding, self._max_reply_bytes, what)
            return response.status_code, response.headers, content

    def _interpret(self, what: str, status: int, headers: Headers, content: bytes) -> Any:
        self._check_status(what, status, headers)
        try:
            reply = replies.decode(content, what, clean=self.clean)
        except ResponseFormatError as exc:
            if 200 <= status < 300:  # a body cut short in transit: worth reading again
                raise AttemptFailed(exc, rules.BODY_INCOMPLETE, "unreadable JSON") from None
            raise self._status_error(what, status, headers) from None
        self._raise_error_reply(what, reply, status)
        if not 200 <= status < 300:
            raise self._status_error(what, status, headers)
        return reply

    # -- retries ----------------------------------------------------------------------------------

    async def _retrying(self, what: str, method: str, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run ``attempt`` until it succeeds, raises a final error, or the policy says stop."""
        policy = self._retry
        deadline: float | None = None  # set at the first failure: the success path stays lean
        number = 0
        while True:
            number += 1
            try:
                return await attempt()
            except AttemptFailed as failed:
                error, rule, cause, retry_after = failed.error, failed.rule, failed.cause, failed.retry_after
            except PbxError as exc:  # final at once; raised below, outside this block
                error, rule, cause, retry_after = exc, rules.FINAL, "", None
            if deadline is None:
                deadline = anyio.current_time() + policy.max_elapsed
            may_retry = rule.allows(method)
            delay = policy.backoff(number, retry_after)
            if not may_retry or number >= policy.max_attempts or anyio.current_time() + delay > deadline:
                raise _detached(error)  # the caller hears of it from the error, not from a log line
            self.retries[cause] += 1
            log.info("%s: attempt %d failed (%s); retrying in %.2f s", what, number, error, delay)
            await anyio.sleep(delay)

    # -- failures, typed --------------------------------------------------------------------------

    def _deadline_passed(self, what: str) -> AttemptFailed:
        error = NetworkError(f"{what}: no complete reply within {self._deadline:g} s (the timeout); check the network")
        return AttemptFailed(error, rules.CONNECTION_LOST, "network: deadline")

    def _network_failure(self, what: str, exc: httpx.RequestError) -> AttemptFailed:
        kind = "timed out" if isinstance(exc, httpx.TimeoutException) else "failed"
        detail = self.clean(f"{type(exc).__name__}: {exc}")
        error = NetworkError(f"{what}: the request {kind} ({detail}); check base_url and the network")
        rule = rules.NOT_SENT if isinstance(exc, _NOT_SENT) else rules.CONNECTION_LOST
        return AttemptFailed(error, rule, f"network: {type(exc).__name__}")

    @staticmethod
    def _check_status(what: str, status: int, headers: Headers) -> None:
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
            raise AttemptFailed(
                error, rules.SERVER_FAILED, f"HTTP {status}", parse_retry_after(headers.get("Retry-After"))
            )

    def _raise_error_reply(self, what: str, reply: Any, status: int) -> None:
        """Raise the typed error for an ``{"error": ...}`` reply (the database one may be retried)."""
        api_error = replies.error_for_reply(reply, what, status, clean=self.clean)
        if api_error is not None:
            if replies.is_transient(api_error):
                raise AttemptFailed(api_error, rules.DATABASE_UNAVAILABLE, "database unavailable")
            raise api_error

    def _unwanted_reply(self, what: str, reply: StreamReply, body: bytes, expected: str) -> PbxError:
        """The error for a streamed reply that is not the body asked for."""
        try:
            decoded = replies.decode(body, what, clean=self.clean)
        except ResponseFormatError:
            decoded = None
        self._raise_error_reply(what, decoded, reply.status)
        if reply.status in (200, 206):
            kind = reply.content_type() or "untyped"
            return ResponseFormatError(f"{what}: the reply is {kind}, not {expected}; nothing was saved")
        return self._status_error(what, reply.status, reply.headers)

    @staticmethod
    def _status_error(what: str, status: int, headers: Headers) -> ApiError:
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


def _detached(error: PbxError) -> PbxError:
    """``error`` without the exceptions it was raised over (they may hold the request, and the key)."""
    error.__cause__ = error.__context__ = None
    error.__suppress_context__ = True
    return error


async def _read_bounded(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    """At most ``limit`` bytes of a body (the rest is not read)."""
    body = bytearray()
    async for chunk in chunks:
        body += chunk[: limit - len(body)]
        if len(body) >= limit:
            break
    return bytes(body)
