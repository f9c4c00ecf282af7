"""What one HTTP exchange looked like, as errors and hooks show it: the key always masked.

except pbx_async.ApiError as exc:
    print(exc.request.method, exc.request.url, exc.response.status_code, exc.response.body[:200])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs

BODY_SHOWN = 4096  # bytes of a reply's body an error or hook carries


@attrs.frozen
class RequestInfo:
    """A request as sent: ``what`` (e.g. ``"Call Details"``), the method, and the URL with its query, key masked."""

    what: str
    method: str
    url: str


@attrs.frozen
class ResponseInfo:
    """A reply as received: status, headers (names in lower case) and its body, key masked.

    ``on_response`` gets a JSON reply's whole body: the raw reply of a call (a recording's
    body is streamed to disk, so its hook sees none). An error's ``response`` keeps
    the first ``BODY_SHOWN`` bytes.

        raw: list[ResponseInfo] = []
        view = session.with_options(hooks=Hooks(on_response=lambda request, response: raw.append(response)))
        await view.get_call_details(uuid)       # raw[0].body: page 1 of its timeline, as the server sent it
    """

    status_code: int
    headers: Mapping[str, str] = attrs.field(factory=dict[str, str])
    body: bytes = b""


@attrs.frozen
class RetryInfo:
    """A failed attempt about to be tried again: which, why, and after how long."""

    request: RequestInfo | None
    attempt: int
    cause: str
    delay: float
    error: str


@attrs.frozen
class Hooks:
    """Callbacks the session calls around every request, for metrics and tracing; none by default.

        counter = prometheus_client.Counter("pbx_requests", "PBX API requests", ["what", "status"])
        hooks = Hooks(on_response=lambda req, resp: counter.labels(req.what, resp.status_code).inc())
        async with PbxSession.from_env(hooks=hooks) as session: ...

    They run on the event loop, so keep them quick; what they receive never holds the key.
    An exception a hook raises propagates to the caller of the request.
    """

    on_request: Callable[[RequestInfo], None] | None = None
    on_response: Callable[[RequestInfo, ResponseInfo], None] | None = None
    on_retry: Callable[[RetryInfo], None] | None = None
