"""``concurrency="auto"``: a limit on requests in flight that finds the server's by itself.

    auto = AutoLimit()
    auto.reply(now, latency, throttled=False, in_flight=8)   # after each reply; True when the limit moved

The controller reads the replies a session gets, in rounds of about ``limit``
replies:

- it starts at a few requests and doubles every third round while the server
  keeps up (no queueing, throughput rises by a tenth at least);
- a round's mean latency against the fastest seen tells whether requests
  wait at the server (by Little's law, a tenth more latency is a tenth of
  them queued): past ``CUT_ABOVE`` the limit falls in proportion, under
  ``GROW_BELOW`` it may rise, between it holds (TCP Vegas's alpha and beta,
  Netflix's concurrency-limits' gradient); it takes two slow rounds running
  (or one twice as slow) to cut, so one hiccup of the client is not taken
  for queueing;
- a 429 or 503 (the server's own word) marks a ceiling: the limit drops a
  tenth (half, if it came while doubling) and, once a climb has hit it, stays
  there (a burst allowance hides a small excess for seconds); nothing above
  is tried for ``HOLD`` seconds (doubling each time it is hit again); the
  session also pauses every sender for the reply's ``Retry-After`` (see
  ``Limiter.pause``), so one throttling costs one pause, not a storm;
- otherwise it adds one a round while nothing queues and the callers use what
  they have; below a ceiling set while doubling it climbs by a tenth (at least
  one) a second and stops one short of it; after a hold, one a second.

Each throttling costs a whole pause (``Retry-After`` is whole seconds), so the
climb is slow and the ceiling remembered: TCP's AIMD and AWS's "adaptive"
retry mode are the models; the figures that chose the constants are in the
README's Performance section (benchmarks/rate_limits.py).
"""

from __future__ import annotations

import math
from collections import deque

import attrs

INITIAL = 4  # requests in flight before anything is known
GROW_BELOW = 1.1  # a round's mean latency under this many times the fastest seen: the limit may rise
CUT_ABOVE = 1.3  # over this: requests queue at the server, the limit falls in proportion
BASELINE_WINDOW = 60.0  # seconds the fastest round is remembered as the unloaded latency
MAXIMUM = 128  # the most the limit rises to (and a fan-out's workers under "auto")
CLIMB_EVERY = 1.0  # seconds between steps up, once the first sign of a limit was seen
CLIMB_SHARE = 0.1  # each step up: this share of the limit, at least one
BACK_OFF = 0.1  # a throttling while climbing takes the limit this share down (at least one)
HOLD = 30.0  # seconds before a ceiling the server set is tried again; doubles when hit again
HOLD_MAX = 600.0
HISTORY = 500  # changes kept for concurrency_stats()


@attrs.frozen
class LimitChange:
    """One move of the limit: when (seconds on the event loop's clock), to what, and why."""

    at: float
    limit: int
    reason: str  # "slow start", "climb", "latency", "throttled", "probe"


@attrs.frozen
class ConcurrencyStats:
    """What a session's concurrency did: ``session.concurrency_stats()``.

        stats = session.concurrency_stats()
        print(stats.limit, stats.throttled, [(c.limit, c.reason) for c in stats.history[-5:]])

    ``limit`` is the requests in flight allowed now, ``in_flight`` those
    running now (both equal and steady: the limit, not the server, sets the
    pace); ``auto`` says whether it
    adapts (``max_concurrency="auto"`` or a call with ``concurrency="auto"``);
    ``ceiling`` the lowest limit the server throttled at, while it is held;
    ``history`` the limit's changes; ``throttled`` the 429 and 503 replies
    seen (of ``replies``); ``pauses`` and ``paused_seconds`` the session-wide
    waits a ``Retry-After`` caused.
    """

    limit: int
    auto: bool
    ceiling: int | None
    history: tuple[LimitChange, ...]
    throttled: int
    replies: int
    pauses: int
    paused_seconds: float
    in_flight: int = 0


class AutoLimit:
    """The adaptive limit (see the module's docstring); the clock is the caller's."""

    def __init__(self, *, initial: int = INITIAL, maximum: int = MAXIMUM) -> None:
        self.limit, self.maximum = initial, maximum
        self.ceiling: int | None = None  # the lowest limit throttled at, until held_until
        self.history: deque[LimitChange] = deque(maxlen=HISTORY)
        self.throttled = self.replies = 0
        self._start = True  # doubling until the first sign of a limit
        self._baseline: float | None = None  # the fastest recent round's mean latency
        self._fastest: deque[tuple[float, float]] = deque()  # (when, mean): rising means, a sliding minimum
        self._held_until = self._quiet_until = self._next_climb = 0.0
        self._hold = HOLD
        self._episode_open = False  # a cut was made and its pause not yet noted
        self._found: int | None = None  # the level a throttling while climbing left: held till the hold ends
        self._round_start: float | None = None
        self._rounds = self._settle_until = 0  # rounds ended; no decision before the one after settle_until
        self._changed_at = -math.inf
        self._n = self._ok = self._peak = 0
        self._latency = 0.0
        self._slow_last = False  # whether the last round was over CUT_ABOVE
        self._last_throughput = 0.0

    def reply(self, now: float, latency: float, *, throttled: bool, in_flight: int, ok: bool = True) -> bool:
        """Account for one reply (``ok``: a success whose latency counts); True when the limit moved."""
        self.replies += 1
        if self._round_start is None:
            self._round_start = now - latency
        if throttled:
            return self._throttle(now)
        if now - latency < self._changed_at:
            return False  # sent under the limit before the last change: says nothing about this one
        self._n += 1
        self._peak = max(self._peak, in_flight)
        if ok:
            self._ok += 1
            self._latency += latency
        if self._n < max(self.limit, 4) or now - self._round_start < (self._baseline or 0.0):
            return False
        return self._end_round(now)

    def note_pause(self, until: float) -> None:
        """The session pauses until ``until`` for the throttling just cut for: throttled replies until
        just after belong to the same episode (a later pause, made longer by them, does not)."""
        if self._episode_open:
            self._episode_open = False
            self._quiet_until = max(self._quiet_until, until + 2 * (self._baseline or 0.05))
            self._next_climb = max(self._next_climb, until + CLIMB_EVERY)

    # -- decisions --------------------------------------------------------------------------------

    def _end_round(self, now: float) -> bool:
        elapsed = max(now - (now if self._round_start is None else self._round_start), 1e-6)
        mean = self._latency / self._ok if self._ok else None
        throughput = self._ok / elapsed
        saturated = self._peak >= self.limit
        self._round_start, self._n, self._ok, self._peak, self._latency = now, 0, 0, 0, 0.0
        self._rounds += 1
        if mean is None:
            return False
        # The fastest round of the last BASELINE_WINDOW seconds is the server unloaded (a server that
        # became slower for good is the new normal after that long; queueing within it cannot hide).
        fastest = self._fastest
        while fastest and fastest[-1][1] >= mean:
            fastest.pop()
        fastest.append((now, mean))
        while fastest[0][0] < now - BASELINE_WINDOW:
            fastest.popleft()
        baseline = self._baseline = fastest[0][1]
        if self._rounds <= self._settle_until:
            return False  # the replies still reflect the limit before the last change
        slow = mean > baseline * CUT_ABOVE
        twice, self._slow_last = slow and self._slow_last, slow
        if slow and (twice or mean > 2 * baseline):
            # Queueing at the server (two rounds running, so one hiccup of this machine is not taken
            # for it): fewer in flight, in proportion.
            self._start = False
            return self._set(now, math.floor(self.limit * baseline / mean * GROW_BELOW), "latency")
        if mean > baseline * GROW_BELOW:
            return False  # a little queueing: the server is busy enough, hold
        if not saturated:
            return False  # the callers do not use what they have: nothing learnt about the server
        if self._start:
            rising = throughput > self._last_throughput * 1.1
            self._last_throughput = throughput
            if rising:  # the next doubling waits two rounds: a burst allowance can hide a limit that long
                self._settle_until = self._rounds + 2
                return self._set(now, self.limit * 2, "slow start")
            self._start = False
        if self.ceiling is None:
            return self._set(now, self.limit + 1, "climb")  # only latency speaks: a step a round
        if now < self._next_climb:
            return False  # the server has said no before: a step a second at most
        self._next_climb = now + CLIMB_EVERY
        if now >= self._held_until:  # the hold is over: try above again, one at a time
            return self._set(now, self.limit + 1, "probe")
        top = self.ceiling - 1 if self._found is None else self._found  # where the climb stops
        if self.limit >= top:
            return False  # at the level found, or just below where the server said no: stay
        return self._set(now, min(self.limit + max(1, round(self.limit * CLIMB_SHARE)), top), "climb")

    def _throttle(self, now: float) -> bool:
        self.throttled += 1
        if now < self._quiet_until:
            return False  # the same episode: one cut per throttling, not one per 429
        self._quiet_until = now + 2 * (self._baseline or 0.05)  # the replies already on their way
        self._episode_open = True
        at = self.limit
        repeated = self.ceiling is not None and now < self._held_until + self._hold
        self._hold = min(HOLD_MAX, self._hold * 2) if repeated else HOLD
        self.ceiling = at if self.ceiling is None or now >= self._held_until else min(self.ceiling, at)
        self._held_until = now + self._hold
        self._next_climb = now + CLIMB_EVERY
        if self._start:  # it doubled past the server's limit: back to the last size that passed
            self._start, self._found = False, None
            return self._set(now, at // 2, "throttled")
        # Climbing, it went past the server's rate some while ago (a burst allowance hides a small
        # excess for seconds): a fifth down, and no higher until the hold is over.
        self._found = max(1, min(at - 1, round(at * (1 - BACK_OFF))))
        return self._set(now, self._found, "throttled")

    def _set(self, now: float, limit: int, reason: str) -> bool:
        limit = max(1, min(self.maximum, limit))
        if limit == self.limit:
            return False
        self.limit, self._changed_at = limit, now
        self._round_start, self._n, self._ok, self._peak, self._latency = now, 0, 0, 0, 0.0
        self.history.append(LimitChange(now, limit, reason))
        return True
