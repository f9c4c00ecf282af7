"""``concurrency="auto"``: the limit rises while the server keeps up, falls on 429/503 and on queueing,
and one Retry-After pauses every sender. Sessions run on Trio's virtual clock (time jumps when every
task waits), so what is asserted is the control, not this machine's speed."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from trio.testing import MockClock

from pbx_async import ConcurrencyStats, FailedCall, PbxSession, ValidationError
from pbx_async._adaptive import AutoLimit

from ..conftest import details_reply, event_row

LATENCY = 0.05
BODY = json.dumps(details_reply("c0", [event_row("e1", 1, "2026-11-02 09:15:03")])).encode()
assert BODY.count(b'"c0"') == 1


def body(request: httpx.Request) -> bytes:
    """A details reply for the call asked for (a reply for another call is refused)."""
    return BODY.replace(b'"c0"', json.dumps(request.url.params.get("callUUID", "c0")).encode())


class Server(httpx.AsyncBaseTransport):
    """A token bucket (429 with a whole-second Retry-After past it) or C workers whose latency grows
    as (in flight / C) ** 1.5 past them; counts what it answered and when."""

    def __init__(self, *, rate: float = 0, capacity: int = 0, throttle_at: set[int] | None = None) -> None:
        self.rate, self.capacity, self.throttle_at = rate, capacity, throttle_at or set()
        self.tokens, self.refilled, self.in_flight = rate / 10, 0.0, 0
        self.ok = self.throttled = 0
        self.sent_at: list[float] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        now = anyio.current_time()
        self.sent_at.append(now)
        if len(self.sent_at) in self.throttle_at:
            self.throttled += 1
            return httpx.Response(429, headers={"Retry-After": "2"}, content=b"{}")
        if self.rate:
            self.tokens = min(self.rate / 10, self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            if self.tokens < 1:
                self.throttled += 1
                wait = max(1, math.ceil((1 - self.tokens) / self.rate))
                return httpx.Response(429, headers={"Retry-After": str(wait)}, content=b"{}")
            self.tokens -= 1
        self.in_flight += 1
        try:
            over = max(1.0, self.in_flight / self.capacity) if self.capacity else 1.0
            await anyio.sleep(LATENCY * over**1.5)
        finally:
            self.in_flight -= 1
        self.ok += 1
        return httpx.Response(200, content=body(request))


def virtual(main: Callable[[], Awaitable[None]]) -> None:
    anyio.run(main, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)})


def session(server: Server, client: httpx.AsyncClient, limit: Any) -> PbxSession:
    return PbxSession("k", "123456", base_url="http://pbx.test/", http_client=client, max_concurrency=limit)


def run(server: Server, limit: Any, calls: int) -> tuple[float, ConcurrencyStats, int]:
    """Details of ``calls`` calls: (virtual seconds taken, the session's stats, failures)."""
    out: dict[str, Any] = {}

    async def main() -> None:
        async with httpx.AsyncClient(transport=server) as client, session(server, client, limit) as s:
            start = anyio.current_time()
            async with s.iter_call_details([f"c{i}" for i in range(calls)], on_error="return") as results:
                failed = sum([isinstance(r, FailedCall) async for r in results])
            out.update(wall=anyio.current_time() - start, stats=s.concurrency_stats(), failed=failed)

    virtual(main)
    return out["wall"], out["stats"], out["failed"]


@pytest.mark.parametrize("rate", [100, 400])
def test_auto_finds_a_token_bucket_s_rate_with_few_429s(rate: int) -> None:
    server = Server(rate=rate)
    wall, stats, failed = run(server, "auto", calls=rate * 30)
    assert failed == 0
    assert rate * 30 / wall >= 0.9 * rate  # nearly all of what the server allows
    assert server.throttled <= 0.03 * (server.ok + server.throttled)
    assert stats.auto and stats.throttled == server.throttled and stats.pauses >= 1
    assert stats.ceiling is not None and rate * LATENCY * 0.8 <= stats.limit < stats.ceiling


def test_a_fixed_limit_above_the_bucket_storms() -> None:
    server = Server(rate=100)
    run(server, 64, calls=1000)  # what auto replaces: each request backs off alone
    assert server.throttled > 0.1 * (server.ok + server.throttled)


def test_auto_settles_near_a_server_s_capacity() -> None:
    server = Server(capacity=16)
    wall, stats, _ = run(server, "auto", calls=9600)
    best = 16 / LATENCY  # C workers, no queueing
    assert 9600 / wall >= 0.9 * best
    assert 14 <= stats.limit <= 20 and server.throttled == 0
    assert any(change.reason == "latency" for change in stats.history)


def test_one_retry_after_pauses_every_sender() -> None:
    server = Server(throttle_at={40})

    async def main() -> None:
        async with httpx.AsyncClient(transport=server) as client, session(server, client, "auto") as s:
            async with s.iter_call_details([f"c{i}" for i in range(200)]) as results:
                assert len([r async for r in results]) == 200
            stats = s.concurrency_stats()
            assert (stats.pauses, stats.paused_seconds) == (1, 2.0)

    virtual(main)
    throttled_at = server.sent_at[39]
    during = [t for t in server.sent_at if throttled_at < t < throttled_at + 2.0]
    assert not during  # nobody sent while the server asked for quiet


def test_a_fixed_limit_keeps_its_old_ways() -> None:
    server = Server(throttle_at={40})
    run(server, 8, calls=200)
    throttled_at = server.sent_at[39]
    assert [t for t in server.sent_at if throttled_at < t < throttled_at + 2.0]  # only the throttled one waits


def test_a_call_may_adapt_on_a_fixed_session_and_the_session_keeps_its_limit() -> None:
    server = Server(capacity=64)

    async def main() -> None:
        async with httpx.AsyncClient(transport=server) as client, session(server, client, 4) as s:
            async with s.iter_call_details([f"c{i}" for i in range(3000)], concurrency="auto") as results:
                async for _ in results:
                    pass
                during = s.concurrency_stats()
            after = s.concurrency_stats()
        assert during.auto and during.limit > 16 and during.history
        assert not after.auto and after.limit == 4

    virtual(main)


def test_the_controller_doubles_while_the_server_keeps_up_and_only_when_used() -> None:
    auto, now = AutoLimit(), 0.0
    for _ in range(12):  # rounds of full use, steady latency
        now += LATENCY
        for _ in range(auto.limit):
            auto.reply(now, LATENCY, throttled=False, in_flight=auto.limit)
    assert auto.limit >= 32 and {c.reason for c in auto.history} == {"slow start"}
    idle = AutoLimit()
    for _ in range(12):  # the caller never has more than 2 in flight: nothing to learn
        now += LATENCY
        for _ in range(4):
            idle.reply(now, LATENCY, throttled=False, in_flight=2)
    assert idle.limit == 4


def test_a_throttling_cuts_once_holds_and_only_then_probes_again() -> None:
    auto, now = AutoLimit(initial=40), 0.0
    auto._start = False  # past slow start
    auto.reply(now, LATENCY, throttled=True, in_flight=40)
    for _ in range(10):  # the rest of the episode's 429s: no further cut
        auto.reply(now + 0.01, LATENCY, throttled=True, in_flight=40)
    assert (auto.limit, auto.ceiling, auto.throttled) == (36, 40, 11)  # a tenth down

    def quiet(seconds: float) -> None:
        nonlocal now
        for _ in range(round(seconds / LATENCY)):
            now += LATENCY + 0.001
            for _ in range(auto.limit):
                auto.reply(now, LATENCY, throttled=False, in_flight=auto.limit)

    quiet(20)
    assert auto.limit == 36  # held where the server took it, for the hold
    quiet(15)
    assert 36 < auto.limit <= 42 and {c.reason for c in auto.history} == {"throttled", "probe"}  # one a second


def test_queueing_two_rounds_running_cuts_in_proportion() -> None:
    auto, now = AutoLimit(initial=30), 0.0
    auto._start = False
    for latency in (LATENCY, LATENCY, 1.5 * LATENCY, 1.5 * LATENCY):  # a third of those in flight queued
        before = auto.limit
        now += latency + 0.001  # sent just after the last change
        for _ in range(auto.limit):
            auto.reply(now, latency, throttled=False, in_flight=auto.limit)
        if latency > LATENCY and auto.history[-1].reason != "latency":
            assert auto.limit == before  # one slow round may be this machine: it holds
    assert auto.limit == math.floor(before / 1.5 * 1.1) and auto.history[-1].reason == "latency"


def test_auto_is_the_only_word_accepted() -> None:
    with pytest.raises(ValidationError, match="or 'auto'"):
        PbxSession("k", "123456", max_concurrency="fast")  # type: ignore[arg-type]
    assert PbxSession("k", "123456", max_concurrency="auto").max_concurrency == "auto"
