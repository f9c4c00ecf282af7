"""Concurrent Call Details and recording downloads: bounds, order, backpressure, early exit, errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from pbx_async import CallNotFoundError, CallSummary, FailedCall, FanOut, PbxSession, ValidationError
from pbx_async.testing import Simulator, SimulatorTransport

pytestmark = pytest.mark.anyio
WINDOW = {"from_date": date(2026, 10, 1), "to_date": date(2026, 11, 2)}


class Counting(httpx.AsyncBaseTransport):
    """Counts requests in flight at the transport, as a server would see them."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner, self.now, self.peak, self.started = inner, 0, 0, 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.now += 1
        self.started += 1
        self.peak = max(self.peak, self.now)
        try:
            response = await self.inner.handle_async_request(request)
            await response.aread()
            return response
        finally:
            self.now -= 1


@asynccontextmanager
async def counted(sim: Simulator, **options: Any) -> AsyncIterator[tuple[PbxSession, Counting]]:
    transport = Counting(SimulatorTransport(sim))
    async with (
        httpx.AsyncClient(transport=transport) as client,
        PbxSession(sim.auth, sim.container_id, base_url=sim.public_url, http_client=client, **options) as session,
    ):
        yield session, transport


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(calls=300, days=5, seed=31, latency=0.01, jitter=0.02)


async def test_unordered_gives_every_call_once_within_the_bound(sim: Simulator) -> None:
    uuids = sim.uuids()[:120]
    async with counted(sim, max_concurrency=16) as (session, transport):
        async with session.iter_call_details(uuids, concurrency=8) as results:
            got = [d async for d in results]
    assert sorted(d.call.uuid for d in got) == sorted(uuids)
    assert all(d == sim.truth_details(d.call.uuid) for d in got)
    assert transport.peak == 8


async def test_ordered_keeps_input_order(sim: Simulator) -> None:
    uuids = sim.uuids()[:80]
    async with counted(sim) as (session, transport):
        async with session.iter_call_details(uuids, concurrency=6, ordered=True) as results:
            got = [d.call.uuid async for d in results]
    assert got == uuids
    assert transport.peak == 6


async def test_chains_straight_from_iter_calls(sim: Simulator) -> None:
    async with counted(sim, max_concurrency=5) as (session, _):
        async with session.iter_call_details(session.iter_calls(**WINDOW)) as results:
            got = {d.call.uuid async for d in results}
    assert got == set(sim.uuids())


async def test_a_bare_async_for_works_window_by_window(sim: Simulator) -> None:
    uuids = sim.uuids()[:50]
    async with counted(sim) as (session, transport):
        got = [d.call.uuid async for d in session.iter_call_details(uuids, concurrency=7)]
    assert got == uuids  # each window comes back whole, in input order
    assert transport.peak == 7


async def test_a_slow_consumer_pauses_the_producers(sim: Simulator) -> None:
    uuids = sim.uuids()[:60]
    async with counted(sim) as (session, transport), session.iter_call_details(uuids, concurrency=4) as results:
        taken = 0
        async for _ in results:
            taken += 1
            await anyio.sleep(0.03)  # much slower than the server
            # in flight (4) plus finished-but-untaken (4) at the most
            assert transport.started - taken <= 8
    assert transport.peak <= 4


@pytest.mark.parametrize("with_block", [True, False], ids=["async-with", "bare"])
async def test_leaving_early_stops_everything(sim: Simulator, with_block: bool) -> None:
    async with counted(sim) as (session, transport):
        fan = session.iter_call_details(sim.uuids(), concurrency=8)
        if with_block:
            async with fan as results:
                async for _ in results:
                    break
        else:
            async for _ in fan:
                break
        assert transport.now == 0  # nothing in flight once the loop is left
        started = transport.started
        await anyio.sleep(0.1)
        assert transport.started == started  # and nothing starts later
        assert started <= 16


async def test_cancellation_stops_everything(sim: Simulator) -> None:
    async with counted(sim) as (session, transport):
        with anyio.move_on_after(0.05) as scope:
            async with session.iter_call_details(sim.uuids(), concurrency=8) as results:
                async for _ in results:
                    await anyio.sleep(1)
        assert scope.cancelled_caught
        assert transport.now == 0
        started = transport.started
        await anyio.sleep(0.1)
        assert transport.started == started


async def test_failures_are_returned_or_raised(sim: Simulator) -> None:
    uuids = [*sim.uuids()[:10], "no-such-call", *sim.uuids()[10:20]]
    async with counted(sim) as (session, _):
        async with session.iter_call_details(uuids, on_error="return", ordered=True) as results:
            got = [item async for item in results]
        [failure] = [item for item in got if isinstance(item, FailedCall)]
        assert failure.call_uuid == "no-such-call"
        assert isinstance(failure.error, CallNotFoundError)
        assert len(got) == 21

        async def drain() -> None:
            async with session.iter_call_details(uuids, concurrency=3) as results:
                async for _ in results:
                    pass

        with pytest.raises(CallNotFoundError):  # the error itself, not an exception group
            await drain()


async def test_concurrency_may_raise_the_session_bound_for_one_call(sim: Simulator) -> None:
    async with counted(sim, max_concurrency=2) as (session, transport):
        async with session.iter_call_details(sim.uuids()[:60], concurrency=10) as results:
            assert len([d async for d in results]) == 60
        assert transport.peak == 10
        transport.peak = 0
        assert len([c async for c in session.iter_calls(**WINDOW)]) == len(sim)
        async with session.iter_call_details(sim.uuids()[:30]) as results:
            assert len([d async for d in results]) == 30
        assert transport.peak == 2  # back to the session's bound


async def test_bad_fan_out_arguments_are_refused(sim: Simulator) -> None:
    async with counted(sim) as (session, transport):
        for kwargs in ({"concurrency": 0}, {"on_error": "ignore"}, {"ordered": "yes"}):
            with pytest.raises(ValidationError):
                session.iter_call_details(sim.uuids(), **kwargs)  # type: ignore[arg-type]
    assert transport.started == 0


async def test_download_recordings_skips_and_counts_calls_without_one(sim: Simulator, tmp_path: Path) -> None:
    async with counted(sim) as (session, transport):
        calls = [c async for c in session.iter_calls(**WINDOW)][:60]
        async with session.download_recordings(calls, tmp_path, concurrency=6) as downloads:
            files = [f async for f in downloads]
    recorded = [c for c in calls if c.recorded]
    assert downloads.skipped == len(calls) - len(recorded) > 0
    assert sorted(f.call_uuid for f in files) == sorted(c.uuid for c in recorded)  # type: ignore[union-attr]
    assert all(f.sha256 == sim.recording_sha256(f.call_uuid) for f in files)  # type: ignore[union-attr,arg-type]
    assert transport.peak <= 6


async def test_the_limiter_grows_and_shrinks_while_in_use() -> None:
    from pbx_async._concurrency import Limiter

    limiter, inside, peak = Limiter(2), 0, 0

    async def hold() -> None:
        nonlocal inside, peak
        async with limiter:
            inside += 1
            peak = max(peak, inside)
            await anyio.sleep(0.02)
            inside -= 1

    async with anyio.create_task_group() as tg:
        for _ in range(10):
            tg.start_soon(hold)
        await anyio.sleep(0.005)
        limiter.resize(5)  # grows while two are held
    assert peak == 5
    peak = 0
    limiter.resize(1)  # shrinks: the permits come back one fewer each
    async with anyio.create_task_group() as tg:
        for _ in range(6):
            tg.start_soon(hold)
    assert peak == 1
    assert limiter.total == 1


async def test_download_recordings_takes_call_uuids_and_summaries_alike(sim: Simulator, tmp_path: Path) -> None:
    recorded = [c for c in sim.truth_calls() if c.recorded][:4]
    unrecorded = next(c for c in sim.truth_calls() if not c.recorded)
    items: list[str | CallSummary] = [recorded[0].uuid, recorded[1], recorded[2].uuid, unrecorded.uuid, recorded[3]]
    async with counted(sim) as (session, _), session.download_recordings(items, tmp_path, ordered=True) as downloads:
        files = [f async for f in downloads]
    assert [f.call_uuid for f in files] == [c.uuid for c in recorded]  # type: ignore[union-attr]
    assert [f.sha256 for f in files] == [sim.recording_sha256(c.uuid) for c in recorded]  # type: ignore[union-attr]
    assert downloads.skipped == 1  # the UUID of a call without a recording


async def test_a_bug_in_a_fan_out_job_surfaces_as_itself(sim: Simulator) -> None:
    async def broken(key: str) -> str:
        raise KeyError(key)

    async def drain(fan: FanOut[str, str], window: bool) -> list[object]:
        if not window:
            return [item async for item in fan]
        async with fan:
            return [item async for item in fan]

    for ordered in (True, False):
        for window in (True, False):
            fan = FanOut(["a", "b"], broken, width=2, ordered=ordered, on_error="return", name_of=str)
            with pytest.raises(KeyError):
                await drain(fan, window)


# -- bare iteration: a sliding batch inside each step ---------------------------------------------


class Recorder:
    """A fan-out job over integers that records starts and what was running at each, with hooks to stall or fail."""

    def __init__(self, *, fail_on: int | None = None, stall: int | None = None, stall_until: int = 0) -> None:
        self.now, self.started, self.log = 0, 0, []  # type: ignore[var-annotated]
        self.fail_on, self.stall, self.stall_until = fail_on, stall, stall_until
        self.failed_at: int | None = None  # starts made when the failure happened
        self.started_during_stall = 0
        self._go: anyio.Event | None = None
        self._go_at = 0

    async def __call__(self, item: int) -> int:
        self.now += 1
        self.started += 1
        self.log.append(item)
        if self._go is not None and self.started >= self._go_at:
            self._go.set()
        try:
            if item == self.fail_on:
                self.failed_at = self.started
                raise CallNotFoundError(f"no call {item}")
            if item == self.stall:
                mark, self._go_at, self._go = self.started, self.started + self.stall_until, anyio.Event()
                with anyio.move_on_after(5):  # a window-at-a-time step would never let the others start
                    await self._go.wait()
                self.started_during_stall = self.started - mark
            else:
                await anyio.sleep(0.001)
            return item
        finally:
            self.now -= 1


def bare(job: Recorder, items: Any, width: int, **options: Any) -> FanOut[int, int]:
    return FanOut(items, job, width=width, ordered=False, on_error="raise", name_of=str, **options)


async def take_into(got: list[int], fan: FanOut[int, int]) -> None:
    async for item in fan:
        got.append(item)


async def test_bare_steps_slide_past_a_slow_request() -> None:
    # Item 4 opens the second batch (items 4..19 at width 4): it stays in flight until
    # seven more requests have started, which only a sliding batch allows.
    job = Recorder(stall=4, stall_until=7)
    got = [item async for item in bare(job, range(40), 4)]
    assert got == list(range(40))  # in input order, as a bare loop always gave them
    assert job.started_during_stall >= 7  # a window at a time would have started three at most


async def test_bare_steps_leave_nothing_running_between_results() -> None:
    job = Recorder()
    got = []
    async for item in bare(job, range(300), 5):
        assert job.now == 0  # the consumer holds a result: no request is in flight
        got.append(item)
    assert got == list(range(300))


async def test_bare_batches_grow_but_stay_bounded() -> None:
    job = Recorder()
    fan = bare(job, range(10_000), 4)
    taken = 0
    async for _ in fan:
        taken += 1
        assert job.started - taken < 2048  # what a step buffers is capped, whatever N is
        if taken == 3_000:
            break
    assert job.now == 0
    started = job.started
    await anyio.sleep(0.05)
    assert job.started == started  # nothing starts after the loop is left


async def test_iterating_after_the_block_ends_at_once_and_starts_nothing() -> None:
    job = Recorder()
    fan = bare(job, range(100), 4)
    async with fan as results:
        async for _ in results:
            break  # results finished meanwhile are left untaken
    started = job.started
    assert [item async for item in fan] == []  # not the leftovers, and not a bare run from the source
    assert job.started == started


async def test_after_the_first_window_a_bare_step_runs_2048_items_so_tails_drain_rarely() -> None:
    # Each step ends with its tail draining (about half a window idle for a round trip):
    # one window first for a quick first result, then steps of 2,048, not a slow ramp.
    job = Recorder()
    started_at_each_step: list[int] = []
    async for _ in bare(job, range(3_000), 4):
        if not started_at_each_step or job.started != started_at_each_step[-1]:
            started_at_each_step.append(job.started)  # a new step has run
    assert started_at_each_step == [4, 4 + 2048, 3_000]


@pytest.mark.parametrize("width", [1, 3, 8])
async def test_a_bare_error_stops_new_starts_and_comes_after_the_results_before_it(width: int) -> None:
    job = Recorder(fail_on=25)
    got: list[int] = []
    with pytest.raises(CallNotFoundError, match="no call 25"):
        await take_into(got, bare(job, range(100), width))
    assert got == list(range(25))  # everything before the failing item, in order
    assert job.now == 0
    assert job.failed_at is not None
    assert job.started == job.failed_at  # nothing started once it failed


async def test_a_failing_source_hands_over_what_was_drawn_before_it() -> None:
    async def source() -> AsyncIterator[int]:
        for i in range(6):
            yield i
        raise CallNotFoundError("the list failed")

    job = Recorder()
    got: list[int] = []
    with pytest.raises(CallNotFoundError, match="the list failed"):
        await take_into(got, bare(job, source(), 4))
    assert got == list(range(6))
    assert job.now == 0


async def test_bare_details_keep_input_order_across_growing_batches(sim: Simulator) -> None:
    uuids = sim.uuids()[:150]  # a batch of 6, then the rest, at concurrency 6
    async with counted(sim) as (session, transport):
        got = []
        async for details in session.iter_call_details(uuids, concurrency=6):
            assert transport.now == 0
            got.append(details.call.uuid)
    assert got == uuids
    assert transport.peak == 6
