"""Structured fan-out helpers: every task has a parent that waits for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

import anyio

T = TypeVar("T")
K = TypeVar("K")


def first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    """The first real error inside a (nested) task-group exception group."""
    leaves: list[BaseException] = []
    stack: list[BaseException] = [group]
    while stack:
        exc = stack.pop(0)
        if isinstance(exc, BaseExceptionGroup):
            stack[:0] = list(exc.exceptions)
        else:
            leaves.append(exc)
    cancelled = anyio.get_cancelled_exc_class()
    return next((e for e in leaves if not isinstance(e, cancelled)), leaves[0])


async def gather_ordered(fetch: Callable[[K], Awaitable[T]], keys: Sequence[K]) -> list[T]:
    """``[await fetch(k) for k in keys]``, run concurrently; the first failure cancels the rest.

    The error raised is the failing call's own (not an exception group), so
    callers can ``except PbxError``.
    """
    if len(keys) == 1:
        return [await fetch(keys[0])]
    results: dict[int, T] = {}

    async def run(index: int, key: K) -> None:
        results[index] = await fetch(key)

    try:
        async with anyio.create_task_group() as tg:
            for index, key in enumerate(keys):
                tg.start_soon(run, index, key)
    except BaseExceptionGroup as group:
        raise first_leaf(group) from None
    return [results[i] for i in range(len(keys))]
