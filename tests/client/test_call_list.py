"""Call Summary: wire parameters, pagination with prefetch, and drift."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import anyio
import httpx
import pytest
import respx

from pbx_async import (
    CallDirection,
    InternalApp,
    IvrEventType,
    PaginationDriftError,
    PbxSession,
    ValidationError,
)

from ..conftest import CONTAINER, KEY, LIST_URL, empty_reply, list_reply, mocked_session

pytestmark = pytest.mark.anyio


def query_of(route: respx.Route, index: int = 0) -> dict[str, str]:
    return dict(route.calls[index].request.url.params)


async def test_account_and_paging_parameters_use_the_exact_wire_names(
    api: respx.MockRouter, session: PbxSession
) -> None:
    route = api.get(LIST_URL).respond(json=list_reply([]))
    assert [c async for c in session.iter_calls()] == []
    assert query_of(route) == {
        "auth": KEY,
        "containerID": CONTAINER,
        "tenantID": "0",
        "utcOffset": "0",
        "page": "1",
    }


FILTER_CASES: list[tuple[str, Any, str, str]] = [
    ("show_inbound", False, "showInbound", "0"),
    ("show_outbound", True, "showOutbound", "1"),
    ("show_internal", False, "showInternal", "0"),
    ("inbound_caller_number", "3125550100", "filterInboundCallerNumber", "3125550100"),
    ("inbound_did", 8005550100, "filterInboundDid", "8005550100"),
    ("inbound_exten_received", "101", "filterInboundExtenReceived", "101"),
    ("outbound_number_dialed", "4155550123", "filterOutboundNumberDialed", "4155550123"),
    ("outbound_exten_dialed", "102", "filterOutboundExtenDialed", "102"),
    ("internal_exten", "103", "filterInternalExten", "103"),
    ("internal_app", InternalApp.ECHO_TEST, "filterInternalApp", "3"),
    ("internal_app", 6, "filterInternalApp", "6"),
    ("went_to_voicemail", True, "filterWentToVoicemail", "1"),
    ("spoke_to_person", True, "filterSpokeToPerson", "1"),
    ("flagged_followup", True, "filterFlaggedFollowup", "1"),
    ("severity", 5, "filterCallSeverity", "5"),
    ("severity", 0, "filterCallSeverity", "0"),
    ("has_notes", True, "filterCallHasNotes", "1"),
    ("ivr_id", "63492d1e45d3c", "filterIvrId", "63492d1e45d3c"),
    ("ivr_event_type", IvrEventType.OPTION_PUSHED, "filterIvrEventType", "52"),
    ("ivr_event_type", 55, "filterIvrEventType", "55"),
    ("ivr_pushed", "#", "filterIvrPushed", "#"),
    ("ivr_pushed", 7, "filterIvrPushed", "7"),
]


@pytest.mark.parametrize(("keyword", "value", "wire", "encoded"), FILTER_CASES)
async def test_each_filter_is_sent_under_its_seed_name(
    api: respx.MockRouter, session: PbxSession, keyword: str, value: Any, wire: str, encoded: str
) -> None:
    route = api.get(LIST_URL).respond(json=list_reply([]))
    [c async for c in session.iter_calls(**{keyword: value})]
    params = query_of(route)
    assert params[wire] == encoded
    assert set(params) == {"auth", "containerID", "tenantID", "utcOffset", "page", wire}


def test_every_filter_keyword_is_covered() -> None:
    from pbx_async import CallFilters

    assert {case[0] for case in FILTER_CASES} == set(CallFilters.__annotations__)


@pytest.mark.parametrize(
    ("keyword", "value", "message"),
    [
        ("severity", 6, "0 to 5"),
        ("severity", -1, "0 to 5"),
        ("internal_app", 7, "1 to 6"),
        ("ivr_pushed", "10", "keypad"),
        ("ivr_event_type", -3, "non-negative"),
        ("show_inbound", 1, "True or False"),
        ("inbound_did", "", "non-empty"),
        ("inbound_did", "1" * 200, "at most 128"),
        ("inbound_did", "800\r\nX-Evil: 1", "control"),
        ("filterInboundDid", "800", "unknown filter"),
    ],
)
async def test_bad_filters_are_refused_before_any_request(
    api: respx.MockRouter, session: PbxSession, keyword: str, value: Any, message: str
) -> None:
    route = api.get(LIST_URL).respond(json=list_reply([]))
    with pytest.raises(ValidationError, match=message):
        session.iter_calls(**{keyword: value})
    assert route.call_count == 0


async def test_unknown_filter_suggests_the_python_name(session: PbxSession) -> None:
    with pytest.raises(ValidationError, match="did you mean 'inbound_did'"):
        session.iter_calls(inbound_dd="1")  # type: ignore[call-arg]


async def test_dates_whole_days_aware_and_naive(api: respx.MockRouter, session: PbxSession) -> None:
    route = api.get(LIST_URL).respond(json=list_reply([]))
    chicago = timezone(timedelta(hours=-5))
    cases = [
        (
            {"from_date": date(2026, 11, 2), "to_date": date(2026, 11, 3)},
            "2026-11-02 00:00:00",
            "2026-11-03 23:59:59",
        ),
        # aware: converted to the request's offset (-300 here)
        (
            {"from_date": datetime(2026, 11, 2, 15, 0, tzinfo=UTC), "utc_offset": -300},
            "2026-11-02 10:00:00",
            None,
        ),
        (
            {"from_date": datetime(2026, 11, 2, 9, 0, tzinfo=chicago), "utc_offset": 60},
            "2026-11-02 15:00:00",
            None,
        ),
        # naive: taken as already in the request's offset, fractions dropped
        ({"to_date": datetime(2026, 11, 2, 9, 30, 15, 999), "utc_offset": -300}, None, "2026-11-02 09:30:15"),
    ]
    for index, (kwargs, start, stop) in enumerate(cases):
        [c async for c in session.iter_calls(**kwargs)]
        params = query_of(route, index)
        assert params.get("fromDate") == start
        assert params.get("toDate") == stop
        assert params["utcOffset"] == str(kwargs.get("utc_offset", 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_date": "2026-11-02"}, "datetime or a date"),
        ({"from_date": date(2026, 11, 3), "to_date": date(2026, 11, 2)}, "after to_date"),
        ({"utc_offset": 1000}, "-720 to 840"),
        ({"strict": "yes"}, "True or False"),
    ],
)
async def test_bad_windows_are_refused(
    api: respx.MockRouter, session: PbxSession, kwargs: dict[str, Any], message: str
) -> None:
    route = api.get(LIST_URL).respond(json=list_reply([]))
    with pytest.raises(ValidationError, match=message):
        session.iter_call_pages(**kwargs)
    assert route.call_count == 0


def paged_server(calls: list[str], *, per_page: int = 500, delay: float = 0.0, log: list[int] | None = None) -> Any:
    """A side effect serving ``calls`` (newest first) in pages; ``calls`` may grow while paging."""
    state = {"in_flight": 0, "peak": 0}

    async def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        try:
            await anyio.sleep(delay)
        finally:
            state["in_flight"] -= 1
        if log is not None:
            log.append(page)
        rows = calls[(page - 1) * per_page : page * per_page]
        return httpx.Response(200, json=list_reply(rows, page=page, total=len(calls), per_page=per_page))

    respond.state = state  # type: ignore[attr-defined]
    return respond


async def collect(scan: Any, entered: bool) -> list[Any]:
    """Drain a scan, bare or under ``async with`` (the sliding-window mode)."""
    if not entered:
        return [item async for item in scan]
    async with scan as items:
        return [item async for item in items]


MODES = pytest.mark.parametrize("entered", [False, True], ids=["bare", "async-with"])


@MODES
async def test_1234_calls_in_three_pages_give_1234_distinct_records(
    api: respx.MockRouter, session: PbxSession, entered: bool
) -> None:
    calls = [f"call-{i:04d}" for i in range(1234)]
    route = api.get(LIST_URL).mock(side_effect=paged_server(calls))
    got = await collect(session.iter_calls(from_date=date(2026, 11, 2)), entered)
    assert [c.uuid for c in got] == calls  # all, once, in page order
    assert len({c.uuid for c in got}) == 1234
    assert sorted(int(call.request.url.params["page"]) for call in route.calls) == [1, 2, 3]


async def test_pages_report_their_position(api: respx.MockRouter, session: PbxSession) -> None:
    calls = [f"c{i}" for i in range(1234)]
    api.get(LIST_URL).mock(side_effect=paged_server(calls))
    pages = [p async for p in session.iter_call_pages()]
    assert [(p.page, p.max_pages, p.total, len(p.calls)) for p in pages] == [
        (1, 3, 1234, 500),
        (2, 3, 1234, 500),
        (3, 3, 1234, 234),
    ]


@MODES
async def test_later_pages_are_prefetched_concurrently_within_the_limit(api: respx.MockRouter, entered: bool) -> None:
    calls = [f"c{i}" for i in range(10 * 500)]
    server = paged_server(calls, delay=0.05)
    api.get(LIST_URL).mock(side_effect=server)
    async with mocked_session(api, max_concurrency=4) as session:
        got = [c.uuid for c in await collect(session.iter_calls(), entered)]
    assert got == calls
    assert server.state["peak"] == 4  # pages 2..10 ran 4 at a time, never more


async def test_an_empty_window_yields_one_empty_page(api: respx.MockRouter, session: PbxSession) -> None:
    api.get(LIST_URL).respond(json=empty_reply())
    pages = [p async for p in session.iter_call_pages()]
    assert [(p.total, p.calls) for p in pages] == [(0, ())]


def arriving_server(calls: list[str], arrivals: dict[int, int], *, per_page: int = 500) -> Any:
    """Newest-first list where ``arrivals[page]`` new calls arrive just before ``page`` is served."""
    counter = iter(range(10**6))
    lock = anyio.Lock()

    async def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        async with lock:  # serve pages in request order, as a real server would see them
            for _ in range(arrivals.pop(page, 0)):
                calls.insert(0, f"new-{next(counter)}")
            rows = calls[(page - 1) * per_page : page * per_page]
            return httpx.Response(200, json=list_reply(rows, page=page, total=len(calls), per_page=per_page))

    return respond


@MODES
async def test_drift_no_duplicates_and_new_calls_found(api: respx.MockRouter, entered: bool) -> None:
    old = [f"old-{i:04d}" for i in range(1200)]
    calls = list(old)
    api.get(LIST_URL).mock(side_effect=arriving_server(calls, {2: 7, 3: 5}))
    async with mocked_session(api, max_concurrency=1) as session:
        got = [c.uuid for c in await collect(session.iter_calls(), entered)]
    assert len(got) == len(set(got))  # shifted rows were not yielded twice
    assert set(got) == set(calls)  # and the calls that arrived mid-scan were found
    assert len(got) == 1212


@MODES
async def test_drift_with_strict_raises(api: respx.MockRouter, entered: bool) -> None:
    calls = [f"old-{i:04d}" for i in range(1200)]
    api.get(LIST_URL).mock(side_effect=arriving_server(calls, {2: 3}))
    async with mocked_session(api, max_concurrency=1) as session:
        with pytest.raises(PaginationDriftError, match="changed while it was paged"):
            await collect(session.iter_calls(strict=True), entered)


async def test_a_count_that_never_adds_up_raises_rather_than_skipping(
    api: respx.MockRouter, session: PbxSession
) -> None:
    reply = list_reply(["a", "b"], total=3)  # says 3, only ever shows 2
    api.get(LIST_URL).respond(json=reply)
    with pytest.raises(PaginationDriftError, match=r"2 distinct calls .* reports 3"):
        [c async for c in session.iter_calls()]


async def test_records_arrive_typed(api: respx.MockRouter, session: PbxSession) -> None:
    api.get(LIST_URL).respond(json=list_reply(["a"], offset=-300))
    [call] = [c async for c in session.iter_calls(utc_offset=-300)]
    assert call.direction is CallDirection.INBOUND
    assert call.date == datetime(2026, 11, 2, 9, 15, 3, tzinfo=timezone(timedelta(minutes=-300)))
    assert call.recorded is True and call.spoke_to_person is True and call.flagged is False
    assert call.duration == 35 and call.severity == 0
    assert call.notes is None and call.cid_prefix is None and call.did_group is None


async def test_leaving_the_loop_early_stops_paging(api: respx.MockRouter, session: PbxSession) -> None:
    log: list[int] = []
    api.get(LIST_URL).mock(side_effect=paged_server([f"c{i}" for i in range(5000)], log=log))
    async for _ in session.iter_calls():
        break
    await anyio.sleep(0.05)
    assert log == [1]


async def test_leaving_the_block_early_stops_the_prefetch(api: respx.MockRouter, session: PbxSession) -> None:
    log: list[int] = []
    api.get(LIST_URL).mock(side_effect=paged_server([f"c{i}" for i in range(20 * 500)], delay=0.02, log=log))
    async with session.iter_calls() as calls:
        async for _ in calls:
            break
    served = len(log)
    await anyio.sleep(0.1)
    assert len(log) == served <= 1 + 2 * session.max_concurrency  # nothing ran on after the block


async def test_bare_pages_slide_and_nothing_runs_while_a_page_is_held(api: respx.MockRouter) -> None:
    calls = [f"c{i}" for i in range(30 * 500)]
    serve = paged_server(calls, delay=0.001)
    started: list[int] = []
    stalled: dict[str, int] = {}
    go: list[anyio.Event] = []

    async def respond(request: httpx.Request) -> httpx.Response:
        page = int(request.url.params["page"])
        started.append(page)
        if go and len(started) >= stalled["mark"] + 3:
            go[0].set()
        if page == 8:  # opens a batch (8..15) and stays in flight until three more pages have started,
            # which only a sliding window lets them do
            stalled["mark"] = len(started)
            go.append(anyio.Event())
            with anyio.move_on_after(5):
                await go[0].wait()
            stalled["others"] = len(started) - stalled["mark"]
        response: httpx.Response = await serve(request)
        return response

    api.get(LIST_URL).mock(side_effect=respond)
    async with mocked_session(api, max_concurrency=2) as session:
        got = []
        async for page in session.iter_call_pages():
            assert serve.state["in_flight"] == 0  # the consumer holds a page: nothing is fetching
            got.extend(c.uuid for c in page.calls)
    assert got == calls
    assert stalled["others"] >= 3  # a window-at-a-time step would have started one at most
    assert serve.state["peak"] == 2
