"""``PbxSession``: the async client for the PBX call-history API."""

from __future__ import annotations

from ._endpoints.call_summary import CallSummaryCalls
from ._endpoints.notes import NotesCalls
from ._endpoints.recordings import RecordingCalls


class PbxSession(CallSummaryCalls, RecordingCalls, NotesCalls):
    """An open connection to one container of the PBX.

        async with PbxSession(os.environ["PBX_AUTH"], "123456") as session:
            async for call in session.iter_calls(from_date=date(2026, 11, 2)):
                print(call.uuid, call.direction.name, call.duration)

    ``max_concurrency`` bounds the requests in flight across everything the
    session does (page prefetch, details, downloads). A JSON reply over
    ``max_reply_bytes`` (on the wire or inflated) raises ``ResponseTooLargeError``;
    each attempt must complete within ``timeout`` seconds, whole. ``http_client`` takes your
    own ``httpx.AsyncClient`` (a custom transport, proxies, respx in tests);
    the session uses it as given and leaves closing it to you.
    """
