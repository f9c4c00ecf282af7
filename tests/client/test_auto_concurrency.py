"""``concurrency="auto"``: the limit rises while the server keeps up, falls on 429/503 and on queueing,
and one Retry-After pauses every sender. Sessions run on Trio's virtual clock (time jumps when every
task waits), so what is asserted is the control, not this machine's speed."""

from __future__ import annotations

import json
import math
import random
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from trio.testing import MockClock

from pbx_async import ConcurrencyStats, FailedCall, PbxSession, ValidationError
from pbx_async._adaptive import HOLD, INITIAL, AutoLimit

from ..conftest import details_reply, event_row

LATENCY = 0.05
BODY = json.dumps(details_reply("c0", [event_row("e1", 1, "2026-11-02 09:15:03")])).encode()
assert BODY.count(b'"c0"') == 1


def body(request: httpx.Request) -> bytes:
    """A details reply for the call asked for (a reply for another call is refused)."""
    return BODY.replace(b'"c0"', json.dumps(request.url.params.get("callUUID", "c0")).encode())


class Server(httpx.AsyncBaseTransport):
    """A token bucket (429 with a whole-second Retry-After past it) or C workers whose latency grows
    as (in flight / C) ** 1.5 past them; counts what it answered and when. ``jitter``: a mean extra
    latency, exponentially spread (the same each run), as a loaded server and client show."""

    def __init__(
        self, *, rate: float = 0, capacity: int = 0, throttle_at: set[int] | None = None, jitter: float = 0
    ) -> None:
        self.rate, self.capacity, self.throttle_at = rate, capacity, throttle_at or set()
        self.jitter, self.random = jitter, random.Random(15)
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
            extra = self.random.expovariate(1 / self.jitter) if self.jitter else 0.0
            await anyio.sleep((LATENCY + extra) * over**1.5)
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


@pytest.mark.parametrize("jitter", [0, 0.01])
@pytest.mark.parametrize("rate", [100, 400])
def test_auto_finds_a_token_bucket_s_rate_with_few_429s(rate: int, jitter: float) -> None:
    # With latency noise no concurrency fits a rate (at 100/s x 50 ms, 5 in flight fall short and 6
    # overrun): once throttled, the sends are paced just under the rate the server let through.
    server = Server(rate=rate, jitter=jitter)
    wall, stats, failed = run(server, "auto", calls=rate * 30)
    assert failed == 0
    assert rate * 30 / wall >= 0.9 * rate  # nearly all of what the server allows
    assert server.throttled <= 0.03 * (server.ok + server.throttled)
    assert stats.auto and stats.throttled == server.throttled and 1 <= stats.pauses <= 3
    assert stats.rate is not None and 0.95 * rate <= stats.rate < rate  # the pace: just under the server's
    assert stats.history[-1].rate == stats.rate


def test_paced_sends_keep_under_the_server_s_rate_every_second() -> None:
    server = Server(rate=100, jitter=0.01)
    _, stats, _ = run(server, "auto", calls=3000)
    assert stats.rate is not None
    last_throttling = max(c.at for c in stats.history if c.reason == "throttled")
    after = [t for t in server.sent_at if t > last_throttling + 1.0]  # past its pause
    assert len(after) > 1000
    for start in range(math.ceil(after[0]), math.floor(after[-1])):  # each whole second of them
        sent = sum(start <= t < start + 1 for t in after)
        assert sent <= stats.rate + 2  # one every 1 / pace, as the stats say; a token bucket never runs dry


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
    for _ in range(300):  # full use, steady latency: `limit` replies every LATENCY
        now += LATENCY / auto.limit
        auto.reply(now, LATENCY, throttled=False, in_flight=auto.limit)
    assert auto.limit >= 32 and {c.reason for c in auto.history} == {"slow start"}
    idle = AutoLimit()
    for _ in range(12):  # the caller never has more than 2 in flight: nothing to learn
        now += LATENCY * 8
        for _ in range(16):
            idle.reply(now, LATENCY, throttled=False, in_flight=2)
    assert idle.limit == INITIAL


def test_a_throttling_sets_a_pace_once_holds_it_and_only_then_probes_again() -> None:
    auto, now = AutoLimit(initial=40), 0.0
    auto._start = False  # past slow start

    def send(seconds: float) -> None:  # the callers keep up with the limit and the pace
        nonlocal now
        end = now + seconds
        while now < end:
            now += 1 / (auto.rate or 500)
            auto.sent(now)
            auto.reply(now, LATENCY, throttled=False, in_flight=auto.limit)

    def throttled(replies: int) -> None:  # the server says no, and the session pauses a second
        nonlocal now
        for _ in range(replies):
            auto.reply(now, 0.001, throttled=True, in_flight=auto.limit)
        auto.note_pause(now + 1.0)
        now += 1.0

    send(2.0)  # 500 a second got through, then no more
    throttled(11)  # one throttling: the 429s of the requests already on their way cut no further
    assert auto.throttled == 11 and [c.reason for c in auto.history].count("throttled") == 1
    first = auto.rate
    assert first is not None and 0.9 * 500 <= first < 500  # just under what got through
    assert auto.limit >= first * LATENCY  # the pace holds the requests back, not the limit
    send(6.0)
    assert auto.rate > first * 1.05  # then it climbs, in case the measure fell short
    climbed = auto.rate
    throttled(3)
    held = auto.rate
    assert held < climbed and [c.reason for c in auto.history].count("throttled") == 2
    send(2 * HOLD - 2)
    assert auto.rate == held  # held where the server said no, for the hold (doubled: it said no twice in one)
    send(10.0)
    assert held < auto.rate <= held * 1.06  # then a slow probe


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
