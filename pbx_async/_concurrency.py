"""Structured fan-out helpers: every task has a parent that waits for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

import anyio

T = TypeVar("T")
K = TypeVar("K")


class Limiter:
    """The session's bound on requests in flight: a semaphore whose size can change while in use.

    anyio's ``CapacityLimiter`` can be resized but yields to the event loop on
    every acquire; at thousands of requests a second that extra loop turn per
    request shows, so this takes the fast path when a permit is free.
    """

    def __init__(self, total: int) -> None:
        self._permits = anyio.Semaphore(total, fast_acquire=True)
        self._base = self._total = total
        self._debt = 0  # permits to swallow on release after a shrink
        self._widths: list[int] = []  # calls running with a width of their own

    def widen(self, width: int) -> Callable[[], None]:
        """Let one call run ``width`` requests at once, past the base size if asked; returns the undo."""
        self._widths.append(width)
        self.resize(max([self._base, *self._widths]))

        def narrow() -> None:
            self._widths.remove(width)
            self.resize(max([self._base, *self._widths]))

        return narrow

    @property
    def total(self) -> int:
        return self._total

    def resize(self, total: int) -> None:
        grow = total - self._total
        self._total = total
        if grow < 0:
            shrink = -grow
            while shrink and self._permits.value > 0:  # free permits go at once
                self._permits.acquire_nowait()
                shrink -= 1
            self._debt += shrink  # held ones as they come back
            return
        paid = min(self._debt, grow)
        self._debt -= paid
        for _ in range(grow - paid):
            self._permits.release()

    async def __aenter__(self) -> None:
        await self._permits.acquire()

    async def __aexit__(self, *exc_info: object) -> None:
        if self._debt:
            self._debt -= 1
        else:
            self._permits.release()


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error inside a (nested) task-group exception group."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack[:0] = cast(BaseExceptionGroup[BaseException], exc).exceptions
        else:
            leaves.append(exc)
    cancelled = anyio.get_cancelled_exc_class()
    return next((e for e in leaves if not isinstance(e, cancelled)), leaves[0])


async def gather_ordered(fetch: Callable[[K], Awaitable[T]], keys: Sequence[K], *, width: int) -> list[T]:
    """``[await fetch(k) for k in keys]``, at most ``width`` at once in a sliding window; in order.

    A fixed set of workers takes the next key as each finishes, so no slot waits
    for the slowest of a group. The first failure cancels the rest and is raised
    as itself (not an exception group), so callers can ``except PbxError``.
    """
    if len(keys) == 1:
        return [await fetch(keys[0])]
    results: list[T | None] = [None] * len(keys)
    todo = iter(range(len(keys)))

    async def work() -> None:
        for index in todo:  # shared: each worker takes the next key when it is free
            results[index] = await fetch(keys[index])

    try:
        async with anyio.create_task_group() as tg:
            for _ in range(min(width, len(keys))):
                tg.start_soon(work)
    except BaseExceptionGroup as group:
        raise first_leaf(group) from None
    return cast("list[T]", results)
