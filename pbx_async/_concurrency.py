"""Structured fan-out helpers: every task has a parent that waits for it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Literal, TypeVar, cast

import anyio

from ._adaptive import AutoLimit, ConcurrencyStats

T = TypeVar("T")
K = TypeVar("K")


Width = int | Literal["auto"]


class Limiter:
    """The session's bound on requests in flight: a semaphore whose size can change while in use.

    anyio's ``CapacityLimiter`` can be resized but yields to the event loop on
    every acquire; at thousands of requests a second that extra loop turn per
    request shows, so this takes the fast path when a permit is free.

    With ``"auto"`` (the session's base, or a call widening it so) the size
    follows an ``AutoLimit`` fed by ``observe``; under it a ``Retry-After``
    pauses every sender at once (``pause``), and once a throttling set a pace
    (``AutoLimit.rate``) the requests start one every 1 / rate seconds.
    """

    def __init__(self, total: Width) -> None:
        self._auto = AutoLimit() if total == "auto" else None
        self._base: int | None = None if total == "auto" else total
        self._total: int = self._auto.limit if self._auto is not None else self._base or 1
        self._permits = anyio.Semaphore(self._total, fast_acquire=True)
        self._debt = 0  # permits to swallow on release after a shrink
        self._widths: list[Width] = []  # calls running with a width of their own
        self.watching = self._base is None  # whether replies feed the adaptive limit
        self.in_flight = 0
        self._resume_at = 0.0  # no new request starts before this (a Retry-After)
        self.pauses, self.paused_seconds = 0, 0.0
        self._next_send = 0.0  # under a pace: when the next request may start

    def widen(self, width: Width) -> Callable[[], None]:
        """Let one call run ``width`` requests at once (or adaptively), past the base size; returns the undo."""
        self._widths.append(width)
        if width == "auto" and self._auto is None:
            self._auto = AutoLimit()  # learned once, kept for the session's later calls
        self._fit()

        def narrow() -> None:
            self._widths.remove(width)
            self._fit()

        return narrow

    def _fit(self) -> None:
        self.watching = self._base is None or "auto" in self._widths
        sizes = [w for w in self._widths if isinstance(w, int)]
        if self._base is not None:
            sizes.append(self._base)
        if self.watching and self._auto is not None:
            sizes.append(self._auto.limit)
        self.resize(max(sizes))

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

    # -- the adaptive part ----------------------------------------------------------------------

    def observe(self, started: float, *, throttled: bool, ok: bool) -> None:
        """A reply to a request that held a permit from ``started``: fed to the adaptive limit."""
        auto = self._auto
        if auto is None:
            return
        now = anyio.current_time()
        if auto.reply(now, now - started, throttled=throttled, in_flight=self.in_flight + 1, ok=ok):
            self._fit()

    def pause(self, seconds: float) -> None:
        """No request of this session starts for ``seconds`` (those in flight go on): one server's
        ``Retry-After`` holds every sender, not just the one that heard it."""
        now = anyio.current_time()
        resume = now + seconds
        if resume > self._resume_at:
            self.pauses += self._resume_at <= now  # a new pause, not one made longer
            self.paused_seconds += resume - max(self._resume_at, now)
            self._resume_at = resume
            if self._auto is not None:
                self._auto.note_pause(resume)

    def stats(self) -> ConcurrencyStats:
        auto = self._auto
        return ConcurrencyStats(
            limit=self._total,
            auto=self.watching,
            ceiling=auto.ceiling if auto is not None and self.watching else None,
            history=tuple(auto.history) if auto is not None else (),
            throttled=auto.throttled if auto is not None else 0,
            replies=auto.replies if auto is not None else 0,
            pauses=self.pauses,
            paused_seconds=round(self.paused_seconds, 3),
            in_flight=self.in_flight,
            rate=round(auto.rate, 1) if auto is not None and self.watching and auto.rate is not None else None,
        )

    # -- acquiring --------------------------------------------------------------------------------

    async def __aenter__(self) -> None:
        while True:
            while self._resume_at and self._resume_at > anyio.current_time():  # noqa: ASYNC110 - a Retry-After
                await anyio.sleep_until(self._resume_at)  # holds every sender (and may grow while it waits)
            try:
                # A free permit is taken without anyio's cancellation check, a call per request:
                # the request's first wait checks for cancellation anyway.
                self._permits.acquire_nowait()
            except anyio.WouldBlock:
                await self._permits.acquire()
            if self._resume_at:
                if self._resume_at > anyio.current_time():
                    self._release()  # a pause began while it queued for the permit: it waits the pause out too
                    continue
                self._resume_at = 0.0  # over: the next senders need not read the clock
            if self._auto is None or not self.watching or await self._paced(self._auto):
                break
        self.in_flight += 1

    async def _paced(self, auto: AutoLimit) -> bool:
        """Under a pace (``AutoLimit.rate``), wait for this send's turn; False if a pause began meanwhile
        (the permit is then given back). Turns are kept in order, one every 1 / rate seconds."""
        now = anyio.current_time()
        if auto.rate is not None:
            at = max(now, self._next_send)
            self._next_send = at + 1 / auto.rate
            if at > now:
                try:
                    await anyio.sleep_until(at)
                except BaseException:  # cancelled while waiting: the permit goes back
                    self._release()
                    raise
                if self._resume_at > at:
                    self._release()
                    return False
                now = at
        auto.sent(now)
        return True

    async def __aexit__(self, *exc_info: object) -> None:
        self.in_flight -= 1
        self._release()

    def _release(self) -> None:
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
