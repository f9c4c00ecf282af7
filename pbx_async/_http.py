"""Every HTTP exchange with the API: ``get``, ``post_form`` and ``stream``, retried by the session's
policy under its limit, failures typed and built without the key.

    requester = Requester(client, base_url=..., secret=..., retry=..., timeout=..., limiter=...)
    page = await requester.get("Call Summary", "/callSummary.php", params, replies.call_page)
"""

from __future__ import annotations

import copy
import logging
import math
import platform
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, NamedTuple, TypeVar, cast
from urllib.parse import urlencode

import anyio
import httpx

from . import _failures as failures
from . import _retry as rules
from ._body import ACCEPT_ENCODING, read_bounded, too_large
from ._concurrency import Limiter
from ._errors import (
    PbxError,
    ResponseFormatError,
)
from ._exchange import BODY_SHOWN, Hooks, RequestInfo, ResponseInfo, RetryInfo
from ._logs import LOGGER_NAME
from ._redact import Secret, scrub
from ._retry import AttemptFailed, RetryPolicy
from ._transports import DirectStreams, DirectTransport, Headers
from ._version import __version__
from ._wire import replies

log = logging.getLogger(LOGGER_NAME)
T = TypeVar("T")
FromBytes = Callable[[bytes], Any]  # a parser's fast path (replies.Parser.from_bytes): records, or None

ERROR_BODY_LIMIT = 64 * 1024  # an error reply worth reading is short
_THROTTLED = frozenset({429, 503})  # the server asks for less: an adaptive limit cuts
MIN_BODY_RATE = 32 * 1024  # bytes/s a streamed body must average (a recording plays at 16 KB/s)
USER_AGENT = f"pbx-async/{__version__} Python/{platform.python_version()} httpx/{httpx.__version__}"


class StreamReply:
    """The head of a streamed reply and its body as it arrives (what ``Requester.stream`` hands over)."""

    def __init__(self, status: int, headers: Headers, chunks: AsyncIterator[bytes]) -> None:
        self.status, self.headers, self._chunks = status, headers, chunks

    def content_type(self) -> str:
        return (self.headers.get("content-type") or "").split(";")[0].strip().lower()

    def chunks(self) -> AsyncIterator[bytes]:
        """The body's bytes as received (content-encoding undone): nothing buffered is lost on a cut."""
        return self._chunks


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
        max_reply_bytes: int = 32 * 1024**2,
        user_agent: str = "",
        hooks: Hooks | None = None,
    ) -> None:
        self._client, self._base_url, self._secret = client, base_url, secret
        self.retries: Counter[str] = retries if retries is not None else Counter()  # retries made, by cause
        # A transport the session made itself may offer a leaner path than httpx's client
        # (see _transports); a client passed in by the caller is always used as given.
        self._direct = direct
        self._streams = direct if isinstance(direct, DirectStreams) else None
        self._retry, self._timeout, self.limiter = retry, timeout, limiter
        self._max_reply_bytes = max_reply_bytes
        self._hooks = hooks or Hooks()
        self._json_headers = {"Accept-Encoding": ACCEPT_ENCODING, "User-Agent": user_agent or USER_AGENT}
        self._user_agent = self._json_headers["User-Agent"]
        # One deadline over a whole exchange (connect, headers, body): httpx's and aiohttp's
        # timeouts are per read, so a server trickling a byte at a time would never trip them.
        self._deadline = _deadline_of(timeout)

    def with_options(
        self, *, timeout: httpx.Timeout | None = None, retry: RetryPolicy | None = None, hooks: Hooks | None = None
    ) -> Requester:
        """The same requester (client, limit, counts) with another timeout, retry policy or hooks."""
        view = copy.copy(self)
        if timeout is not None:
            view._timeout, view._deadline = timeout, _deadline_of(timeout)
        view._retry = retry if retry is not None else self._retry
        view._hooks = hooks if hooks is not None else self._hooks
        return view

    def clean(self, text: str) -> str:
        """``text`` with the key masked: every error is built from cleaned text, never mended after."""
        return scrub(text, self._secret)

    # -- the three exchanges ----------------------------------------------------------------------

    # Plain functions handing over the coroutine: a coroutine frame fewer to pass on every resume.
    def get(self, what: str, path: str, params: Mapping[str, str], parse: Callable[[Any], T]) -> Awaitable[T]:
        """GET ``base_url + path`` and ``parse`` the decoded JSON reply (error replies raised)."""
        return self._json_exchange(what, "GET", path, params, parse)

    def post_form(self, what: str, path: str, form: Mapping[str, str], parse: Callable[[Any], T]) -> Awaitable[T]:
        """POST a urlencoded form and ``parse`` the decoded JSON reply (error replies raised)."""
        return self._json_exchange(what, "POST", path, form, parse)

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

        def info() -> RequestInfo:
            return self._request_info(what, "GET", url, params)

        async def attempt(limit: float) -> T:
            failure: AttemptFailed | None = None
            if self._hooks.on_request is not None:
                self._hooks.on_request(info())
            async with self.limiter:
                if log.isEnabledFor(logging.DEBUG):  # cleaning the URL costs more than the log call
                    log.debug("%s: GET %s", what, self.clean(url))
                # The head must come within the timeout; the body gets the timeout plus what
                # its announced length takes at MIN_BODY_RATE, so a trickle cannot run forever.
                with anyio.CancelScope(deadline=anyio.current_time() + limit) as scope:
                    try:
                        sent = {**headers(), "User-Agent": self._user_agent}
                        opened = (
                            self._streams.stream(url, params, sent, self._timeout)
                            if self._streams is not None
                            else _httpx_stream(self._client, url, params, sent, self._timeout)
                        )
                        async with opened as (status, head, chunks):
                            reply = StreamReply(status, head, chunks)
                            if self.limiter.watching and reply.status in _THROTTLED:
                                self.limiter.observe(anyio.current_time(), throttled=True, ok=False)
                            length = reply.headers.get("content-length") or ""
                            scope.deadline += int(length) / MIN_BODY_RATE if length.isdigit() else 0
                            if self._hooks.on_response is not None:
                                self._hooks.on_response(info(), self._response_info(reply.status, reply.headers, b""))
                            body = b""
                            try:
                                failures.check_status(what, reply.status, reply.headers)
                                if reply.status not in statuses or (
                                    reply.status in (200, 206) and not content_type(reply.content_type())
                                ):
                                    body = await _read_bounded(reply.chunks(), ERROR_BODY_LIMIT)
                                    raise failures.unwanted_reply(
                                        what,
                                        reply.status,
                                        reply.headers,
                                        reply.content_type(),
                                        body,
                                        expected,
                                        self.clean,
                                    )
                                return await receive(reply)
                            except (AttemptFailed, PbxError) as exc:
                                error = exc.error if isinstance(exc, AttemptFailed) else exc
                                error.request = info()
                                error.response = self._response_info(reply.status, reply.headers, body)
                                raise
                    except httpx.RequestError as exc:
                        failure = failures.network_failure(what, exc, self.clean)
            # Past the block without a result: the network failed, or the deadline passed.
            raise failure or failures.deadline_passed(what, self._deadline)

        return await self._retrying(what, "GET", attempt)

    # -- JSON requests ----------------------------------------------------------------------------

    async def _json_exchange(
        self, what: str, method: str, path: str, fields: Mapping[str, str], parse: Callable[[Any], T]
    ) -> T:
        url = self._base_url + path
        # A parser may read a common reply straight from its bytes (``replies.Parser.from_bytes``).
        fast: FromBytes | None = getattr(parse, "from_bytes", None)
        reply = await self._retrying(
            what, method, lambda limit: self._json_attempt(what, method, url, fields, limit, fast)
        )
        if isinstance(reply, _Parsed):
            return cast(T, reply.value)
        try:
            return parse(reply)
        except ResponseFormatError as exc:  # its text may quote a value the server echoed
            error = ResponseFormatError(self.clean(str(exc)))
        raise error  # outside the except block: nothing of the reply hangs on its __context__

    async def _json_attempt(
        self, what: str, method: str, url: str, fields: Mapping[str, str], limit: float, fast: FromBytes | None = None
    ) -> Any:
        params, form = (fields, None) if method == "GET" else (None, fields)
        failure: AttemptFailed | None = None
        sent: tuple[int, Headers, bytes] | None = None
        hooks = self._hooks
        if hooks.on_request is not None:
            hooks.on_request(self._request_info(what, method, url, fields))
        limiter = self.limiter
        async with limiter:
            started = anyio.current_time() if limiter.watching else 0.0
            if log.isEnabledFor(logging.DEBUG):  # cleaning the URL costs more than the log call
                log.debug("%s: %s %s", what, method, self.clean(url))
            try:
                if self._direct is not None:  # it keeps the deadline itself, cheaper than a cancel scope here
                    sent = await self._direct.exchange(
                        method, url, params, form, self._json_headers, self._timeout, self._max_reply_bytes, what, limit
                    )
                else:
                    with anyio.fail_after(limit):
                        sent = await self._send(what, method, url, params, form)
            except httpx.RequestError as exc:
                failure = failures.network_failure(what, exc, self.clean)
            except TimeoutError:
                failure = failures.deadline_passed(what, self._deadline)
        if limiter.watching:  # an adaptive limit learns from every reply (see _adaptive)
            status = sent[0] if sent is not None else 0
            limiter.observe(started, throttled=status in _THROTTLED, ok=200 <= status < 300)
        if failure is not None:
            failure.error.request = self._request_info(what, method, url, fields)
            raise failure
        assert sent is not None  # no failure: the send returned
        status, headers, content = sent
        if hooks.on_response is not None:
            hooks.on_response(
                self._request_info(what, method, url, fields), self._response_info(status, headers, content, whole=True)
            )
        try:
            return self._interpret(what, status, headers, content, fast)
        except (AttemptFailed, PbxError) as exc:  # the exchange attached, for a caller who wants more than text
            error = exc.error if isinstance(exc, AttemptFailed) else exc
            error.request = self._request_info(what, method, url, fields)
            error.response = self._response_info(status, headers, content)
            raise

    def _request_info(self, what: str, method: str, url: str, fields: Mapping[str, str]) -> RequestInfo:
        return RequestInfo(what, method, self.clean(f"{url}?{urlencode(fields)}"))

    def _response_info(self, status: int, headers: Headers, body: bytes, *, whole: bool = False) -> ResponseInfo:
        # A hook gets the whole JSON reply (the raw reply of a call); an error keeps the first BODY_SHOWN bytes.
        shown = self.clean((body if whole else body[:BODY_SHOWN]).decode("utf-8", "replace")).encode()
        items = headers.items() if hasattr(headers, "items") else ()
        # Names in lower case, whichever transport carried the reply (aiohttp keeps the server's case).
        return ResponseInfo(status, {k.lower(): self.clean(v) for k, v in items}, shown)

    async def _send(
        self,
        what: str,
        method: str,
        url: str,
        params: Mapping[str, str] | None,
        form: Mapping[str, str] | None,
    ) -> tuple[int, Headers, bytes]:
        """The exchange through httpx's client (a client passed in, or one a mock library sees)."""
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

    def _interpret(
        self, what: str, status: int, headers: Headers, content: bytes, fast: FromBytes | None = None
    ) -> Any:
        failures.check_status(what, status, headers)
        if fast is not None and 200 <= status < 300:
            parsed = fast(content)  # None: not a common shape (an error reply among them); read it in full below
            if parsed is not None:
                return _Parsed(parsed)
        try:
            reply = replies.decode(content, what, clean=self.clean)
        except ResponseFormatError as exc:
            if 200 <= status < 300:  # a body cut short in transit: worth reading again
                raise AttemptFailed(exc, rules.BODY_INCOMPLETE, "unreadable JSON") from None
            raise failures.status_error(what, status, headers) from None
        failures.raise_error_reply(what, reply, status, self.clean)
        if not 200 <= status < 300:
            raise failures.status_error(what, status, headers)
        return reply

    # -- retries ----------------------------------------------------------------------------------

    async def _retrying(self, what: str, method: str, attempt: Callable[[float], Awaitable[T]]) -> T:
        """Run ``attempt(seconds it may take)`` until it succeeds, raises a final error, or the policy says stop.

        All attempts and the waits between them fit in timeout x max_attempts: a server
        that answers too slowly every time is given up on within that, whatever it does.
        """
        policy = self._retry
        deadline: float | None = None  # set at the first failure: the success path reads no clock
        limit = self._deadline if self._deadline is not None else math.inf
        budget_end = math.inf
        number = 0
        while True:
            number += 1
            try:
                return await attempt(limit if number == 1 else min(limit, budget_end - anyio.current_time()))
            except AttemptFailed as failed:
                error, rule, cause, retry_after = failed.error, failed.rule, failed.cause, failed.retry_after
            except PbxError as exc:  # final at once; raised below, outside this block
                error, rule, cause, retry_after = exc, rules.FINAL, "", None
            if deadline is None:
                now = anyio.current_time()
                deadline = now + policy.max_elapsed
                # The first attempt took at most `limit`: the others fit in the rest of limit x max_attempts.
                budget_end = now + limit * (policy.max_attempts - 1)
            if retry_after is not None and self.limiter.watching and rule in (rules.RATE_LIMITED, rules.SERVER_FAILED):
                self.limiter.pause(min(retry_after, policy.max_backoff))  # every sender waits, not this one alone
            may_retry = rule.allows(method)
            delay = policy.backoff(number, retry_after)
            if (
                not may_retry
                or number >= policy.max_attempts
                or anyio.current_time() + delay > min(deadline, budget_end - limit / 100)
            ):
                raise _detached(error)  # the caller hears of it from the error, not from a log line
            self.retries[cause] += 1
            log.info("%s: attempt %d failed (%s); retrying in %.2f s", what, number, error, delay)
            if self._hooks.on_retry is not None:
                self._hooks.on_retry(RetryInfo(error.request, number, cause, delay, str(error)))
            await anyio.sleep(delay)


@asynccontextmanager
async def _httpx_stream(
    client: httpx.AsyncClient, url: str, params: Mapping[str, str], headers: Mapping[str, str], timeouts: httpx.Timeout
) -> AsyncGenerator[tuple[int, Headers, AsyncIterator[bytes]]]:
    """A streamed GET through httpx's client (a client passed in, a mock library, or Trio)."""
    async with client.stream("GET", url, params=params, headers=headers, timeout=timeouts, follow_redirects=False) as r:
        yield r.status_code, r.headers, r.aiter_bytes()


class _Parsed(NamedTuple):
    value: object  # a reply already turned into records on the fast path (decoded JSON is any value)


def _deadline_of(timeout: httpx.Timeout) -> float | None:
    """One deadline over a whole exchange: the longest of the timeout's parts."""
    return max((t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t), default=None)


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
