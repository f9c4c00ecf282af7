"""A fan-out's source, whatever the user passed: a plain or async iterable, drawn as an async iterator.

items = as_async_iterator(calls)   # a list, a generator, session.iter_calls(...)
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable
from typing import Generic, TypeVar

K = TypeVar("K")


class PlainSource(Generic[K]):
    """A plain iterator seen as an async one (a class, not an async generator, so that
    abandoning it half-way leaves nothing to finalise)."""

    def __init__(self, items: Iterable[K]) -> None:
        self._items = iter(items)

    def __aiter__(self) -> PlainSource[K]:
        return self

    async def __anext__(self) -> K:
        try:
            return next(self._items)
        except StopIteration:
            raise StopAsyncIteration from None


class Unlocked:
    """The lock a step needs not take: an async context manager that does nothing."""

    async def __aenter__(self) -> None:
        pass

    async def __aexit__(self, *exc_info: object) -> None:
        pass


def as_async_iterator(source: Iterable[K] | AsyncIterable[K]) -> AsyncIterator[K]:
    return aiter(source) if isinstance(source, AsyncIterable) else PlainSource(source)
