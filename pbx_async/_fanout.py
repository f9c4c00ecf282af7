"""Bounded fan-out: many requests at once, results handed back one by one, nothing left running.

Two ways to drive a ``FanOut``, both structured:

- ``async with fan as results: async for r in results`` keeps a sliding window
  of requests in flight for the whole block (the task group lives in the
  ``async with``); leaving the block cancels whatever is still running.
- a bare ``async for r in fan`` runs a sliding batch inside each step, so no
  task outlives a step (a consumer that breaks out leaves nothing behind);
  the first batch is one window (the first result comes after one round
  trip), the later ones ``_BATCH_CAP`` items, and only each batch's tail
  waits for its slowest request.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from types import TracebackType
from typing import Final, Generic, Literal, TypeVar, cast

import anyio
import attrs
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from ._concurrency import first_leaf
from ._errors import PbxError
from ._records.json_form import JsonForm
from ._sources import PlainSource, Unlocked, as_async_iterator

K = TypeVar("K")
R = TypeVar("R")
OnError = Literal["raise", "return"]
# Bare iteration buffers at most this many results in a step (more when the width is
# larger), bounded in memory. A batch's tail drains with about half a window in use,
# so a batch of B items at width W loses about W / 2B of the bound: under 2% at 64.
# Batches between the first window and this size would each pay that drain for
# fewer items (growing fourfold, 64 -> 256 -> 1024 cost 3,000 calls 2% more).
_BATCH_CAP = 2048


class Skipped:
    """What a job returns for an item that has nothing to do (a call without a recording, say)."""


SKIPPED: Final = Skipped()


@attrs.frozen
class FailedCall(JsonForm):
    """A call whose request failed, yielded in place of its result when ``on_error="return"``.

    async for item in results:
        if isinstance(item, pbx_async.FailedCall):
            log.warning("%s failed: %s", item.call_uuid, item.error)
    """

    call_uuid: str
    error: PbxError


class _Slot(Generic[K, R]):
    __slots__ = ("done", "error", "key", "result", "skipped")

    def __init__(self, key: K, ordered: bool) -> None:
        self.key = key
        # Only an ordered consumer waits on a slot; an unordered one gets it when it is done.
        self.done = anyio.Event() if ordered else None
        self.result: R | None = None
        self.error: Exception | None = None
        self.skipped = False

    def outcome(self) -> R:
        """The result, or the job's own exception raised as itself."""
        if self.error is not None:
            raise self.error
        if self.result is None:  # a job that neither returned nor raised: cannot happen, say so plainly
            raise RuntimeError(f"fan-out job for {self.key!r} ended without a result")
        return self.result


class _Results(Generic[K, R]):
    """Slots for the ``async with`` consumer: finished ones, or (ordered) started ones in input order.

    A deque and a wake-up event, where anyio's memory stream spends an extra event-loop
    turn on every receive that has to wait: at thousands of results a second that
    turn per result shows in the client's CPU.
    """

    __slots__ = ("_slots", "_wake", "_writers")

    def __init__(self, writers: int) -> None:
        self._slots: deque[_Slot[K, R]] = deque()
        self._wake: anyio.Event | None = None
        self._writers = writers  # tasks that may still put: the end comes when none is left

    def put(self, slot: _Slot[K, R]) -> None:
        self._slots.append(slot)
        self._rouse()

    def writer_done(self) -> None:
        self._writers -= 1
        if not self._writers:
            self._rouse()

    def close(self) -> None:
        """The block is over: what was not taken is dropped, and iterating further ends at once."""
        self._slots.clear()
        self._writers = 0
        self._rouse()

    def _rouse(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None:
            wake.set()

    async def get(self) -> _Slot[K, R] | None:
        """The next slot, waiting for one; None once every writer is done and nothing is left."""
        while not self._slots:
            if not self._writers:
                return None
            self._wake = anyio.Event()
            await self._wake.wait()
        return self._slots.popleft()


class FanOut(Generic[K, R]):
    """Results of ``work(item)`` for every item of ``source``, at most ``width`` at once.

    ``R`` is what iteration yields: the job's result, or with ``on_error="return"``
    the result or a ``FailedCall``.
    """

    def __init__(
        self,
        source: Iterable[K] | AsyncIterable[K],
        work: Callable[[K], Awaitable[R | Skipped]],
        *,
        width: int,
        ordered: bool,
        on_error: OnError,
        name_of: Callable[[K], str],
        widen: Callable[[int], Callable[[], None]] | None = None,
    ) -> None:
        self._source, self._work, self._width = source, work, width
        self._ordered, self._on_error, self._name_of, self._widen = ordered, on_error, name_of, widen
        self._items: AsyncIterator[K] | None = None
        self._ready: deque[_Slot[K, R]] = deque()
        self._tg: TaskGroup | None = None
        self._results: _Results[K, R] | None = None
        self._outstanding = anyio.Semaphore(2 * width, fast_acquire=True)  # in flight + finished, not yet taken
        self._narrow: Callable[[], None] | None = None
        self._batch = width  # bare iteration: items the next step may start (see _step)
        self._exhausted = False
        self.skipped = 0  # items whose job had nothing to do (calls without a recording, say)

    # -- the sliding window (async with) -------------------------------------------------------

    async def __aenter__(self) -> FanOut[K, R]:
        if self._widen is not None:
            self._narrow = self._widen(self._width)
        # Ordered, the producer puts each slot as it starts; unordered, each worker as it finishes.
        results = self._results = _Results[K, R](1 if self._ordered else self._width)
        jobs, todo = anyio.create_memory_object_stream[_Slot[K, R]](self._width)
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        # A fixed pool of `width` workers bounds what is in flight; a task per item
        # would cost more CPU than the request it makes.
        async with todo:
            for _ in range(self._width):
                self._tg.start_soon(self._work_on, todo.clone(), None if self._ordered else results)
        self._tg.start_soon(self._produce, jobs, results)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        assert self._tg is not None
        self._tg.cancel_scope.cancel()  # the consumer is done: stop what is still running
        try:
            return await self._tg.__aexit__(exc_type, exc, tb)
        except BaseExceptionGroup as group:
            raise first_leaf(group) from None
        finally:
            if self._narrow is not None:
                self._narrow()
            if self._results is not None:
                self._results.close()

    async def _produce(self, jobs: MemoryObjectSendStream[_Slot[K, R]], results: _Results[K, R]) -> None:
        try:
            with jobs, contextlib.suppress(anyio.BrokenResourceError):
                # Closing the stream lets the workers drain and stop; a broken one means the
                # consumer has left and the workers with it.
                await self._feed(jobs, results)
        finally:
            if self._ordered:
                results.writer_done()  # an ordered consumer sees the end once every slot is in

    async def _feed(self, jobs: MemoryObjectSendStream[_Slot[K, R]], results: _Results[K, R]) -> None:
        outstanding = self._outstanding
        async for key in as_async_iterator(self._source):
            try:
                outstanding.acquire_nowait()  # no wait when there is room, as below
            except anyio.WouldBlock:
                await outstanding.acquire()
            slot: _Slot[K, R] = _Slot(key, self._ordered)
            if self._ordered:
                results.put(slot)  # taken in input order; the consumer waits for each
            # Without a wait when there is room: each skipped checkpoint is an event-loop
            # turn saved per item, and the outstanding bound keeps the loop fair.
            try:
                jobs.send_nowait(slot)
            except anyio.WouldBlock:
                await jobs.send(slot)

    async def _work_on(self, todo: MemoryObjectReceiveStream[_Slot[K, R]], results: _Results[K, R] | None) -> None:
        try:
            with todo:
                await self._work_through(todo, results)
        finally:
            if results is not None:
                results.writer_done()

    async def _work_through(self, todo: MemoryObjectReceiveStream[_Slot[K, R]], results: _Results[K, R] | None) -> None:
        while True:
            try:
                slot = todo.receive_nowait()
            except anyio.WouldBlock:
                try:
                    slot = await todo.receive()
                except anyio.EndOfStream:
                    return
            except anyio.EndOfStream:
                return
            await self._settle(slot)
            if results is None:
                continue
            if slot.skipped:
                self._outstanding.release()  # nothing to hand over
            else:
                results.put(slot)  # unordered: handed over as it finishes

    async def _settle(self, slot: _Slot[K, R]) -> None:
        try:
            result = await self._work(slot.key)
            if isinstance(result, Skipped):
                slot.skipped = True
                self.skipped += 1
            else:
                slot.result = result
        except PbxError as exc:
            if self._on_error == "return":
                # With on_error="return" the items are typed R | FailedCall (the session's overloads say so).
                slot.result = cast(R, FailedCall(self._name_of(slot.key), exc))
            else:
                slot.error = exc
        except Exception as exc:  # a bug or an unexpected failure: the consumer gets it as itself
            slot.error = exc
        finally:
            if slot.done is not None:
                slot.done.set()

    # -- iteration ------------------------------------------------------------------------------

    def __aiter__(self) -> FanOut[K, R]:
        return self

    async def __anext__(self) -> R:
        while True:
            if self._results is not None:
                got = await self._results.get()
                if got is None:
                    raise StopAsyncIteration
                slot = got
                if slot.done is not None and not slot.done.is_set():  # a set Event's wait still costs a loop turn
                    await slot.done.wait()
                self._outstanding.release()
            else:
                if not self._ready:
                    await self._step()
                if not self._ready:
                    raise StopAsyncIteration
                slot = self._ready.popleft()
            if not slot.skipped:
                return slot.outcome()

    async def _step(self) -> None:
        """Without ``async with``: run the next batch to completion within this step.

        The batch slides: ``width`` workers each take the next item as they finish,
        so no slot waits for the slowest of a group, and only the batch's tail
        drains. The first batch is one window, so the first result comes after
        one round trip; the later ones are ``_BATCH_CAP`` items (or ``width`` if
        larger), so the drains are rare. An error stops new starts: what is in
        flight finishes, and the results before it come out first, in input order.
        """
        if self._items is None:
            self._items = as_async_iterator(self._source)
        if self._exhausted:
            return
        items, budget = self._items, self._batch
        self._batch = max(self._width, _BATCH_CAP)
        slots: list[_Slot[K, R]] = []
        # One worker at a time draws from an async source; a plain iterator's draw never
        # waits, so workers cannot interleave in it and its lock would be pure cost.
        taking: anyio.Lock | Unlocked = Unlocked() if isinstance(items, PlainSource) else anyio.Lock(fast_acquire=True)
        halted = False

        async def work() -> None:
            nonlocal budget, halted
            while True:
                async with taking:
                    if halted or budget <= 0 or self._exhausted:
                        return
                    try:
                        key = await items.__anext__()
                    except StopAsyncIteration:
                        self._exhausted = True
                        return
                    except Exception as exc:  # the source failed: hand over what is done, then its error
                        halted = True
                        failed: _Slot[K, R] = _Slot(cast(K, None), False)
                        failed.error = exc
                        slots.append(failed)  # after everything drawn before it, as it happened
                        return
                    budget -= 1
                    slot: _Slot[K, R] = _Slot(key, False)
                    slots.append(slot)  # drawn in input order, so handed over in it
                await self._settle(slot)
                if slot.error is not None:
                    halted = True

        narrow = self._widen(self._width) if self._widen is not None else None
        try:
            async with anyio.create_task_group() as tg:
                for _ in range(min(self._width, budget)):
                    tg.start_soon(work)
        except BaseExceptionGroup as group:
            raise first_leaf(group) from None
        finally:
            if narrow is not None:
                narrow()
        self._ready.extend(slots)
