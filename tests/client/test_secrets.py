"""The API key never shows: not in exceptions, tracebacks, logs or reprs."""

from __future__ import annotations

import logging
import traceback
from urllib.parse import quote, quote_plus

import httpx
import pytest
import respx

from pbx_async import PbxError, PbxSession

from ..conftest import DETAILS_URL, KEY, LIST_URL, NOTES_URL, list_reply

pytestmark = pytest.mark.anyio
FORMS = {KEY, quote(KEY, safe=""), quote_plus(KEY)}


def leaks(text: str) -> list[str]:
    return [form for form in FORMS if form in text]


def url_echoing_error(request: httpx.Request) -> httpx.Response:
    # httpx errors can carry the full URL, query string and key included
    raise httpx.ConnectError(f"cannot connect to {request.url}", request=request)


async def test_key_absent_from_errors_tracebacks_and_logs(
    api: respx.MockRouter, session: PbxSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("pbx_async", "httpx", "httpcore"):  # put back after the test, for the tests after it
        caplog.set_level(logging.DEBUG, logger=name)
    api.get(LIST_URL).mock(side_effect=[httpx.Response(503), httpx.Response(200, json=list_reply(["a"]))])
    api.get(DETAILS_URL).mock(side_effect=url_echoing_error)
    api.post(NOTES_URL).respond(json={"error": f"Your API Auth Key is invalid. (got {KEY})"})

    assert [c.uuid async for c in session.iter_calls()] == ["a"]
    errors: list[BaseException] = []
    for attempt in (session.get_call_details("c1"), session.set_call_notes("c1", notes="x")):
        with pytest.raises(PbxError) as info:
            await attempt
        errors.append(info.value)

    texts = [record.getMessage() for record in caplog.records]
    assert any("HTTP Request: GET" in t for t in texts)  # httpx did log the request URL ...
    assert any("auth=***" in t for t in texts)  # ... with the key masked
    for error in errors:
        texts += [str(error), repr(error), *traceback.format_exception(error)]
    texts += [caplog.text, repr(session)]
    assert [leaks(t) for t in texts if leaks(t)] == []
