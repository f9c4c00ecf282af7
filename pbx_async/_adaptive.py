"""``concurrency="auto"``: a limit on requests in flight that finds the server's by itself.

    auto = AutoLimit()
    auto.sent(now)                                            # as each request starts (the pace: auto.rate)
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
- a 429 or 503 (the server's own word) says the server counts requests a
  second, which no concurrency fits (with latency noise, at 100/s x 50 ms 5 in
  flight fall short and 6 overrun): from then the sends are paced, one every
  1 / ``rate`` seconds, and the limit only leaves room for latency
  (``RATE_HEADROOM``). The pace is RATE_MARGIN of the server's rate as the
  sends measure it: over any span ending when the refused request left, the
  server let through at most its rate for that long plus a burst (taken as
  ``BURST`` seconds of it), so the best such span gives a rate it has at
  least. After the first throttling the pace climbs RATE_CLIMB a second (the
  first measure, in slow start, may fall short); after the next it holds for
  ``HOLD`` seconds (doubling each time it is hit again, a step of HELD_CUT at
  most while held: a stall of this machine or the server's reads as a
  throttling too), then probes up by RATE_PROBE a second. The limit rises past
  the pace's room only with the pace, or after the hold; the session also pauses
  every sender for the reply's ``Retry-After`` (see ``Limiter.pause``), so one
  throttling costs one pause, not a storm, and throttled replies until just
  after it are the same throttling;
- otherwise it adds one a round while nothing queues and the callers use what
  they have (a round: ``limit`` replies, ``ROUND_MIN`` at least, so one slow
  reply is not taken for queueing); once throttled it climbs a step a second
  at most, and after a hold one at a time.

Each throttling costs a whole pause (``Retry-After`` is whole seconds), so the
pace stays just under the rate measured and probes up slowly: AWS's "adaptive"
retry mode (a client-side token bucket whose rate a throttling sets from the
measured send rate) and TCP's AIMD are the models; the figures that chose the
constants are in the README's Performance section (benchmarks/rate_limits.py).
"""

from __future__ import annotations

import math
from collections import deque

import attrs

INITIAL = 4  # requests in flight before anything is known
ROUND_MIN = 16  # replies a round takes at least: fewer, and one slow reply reads as queueing
GROW_BELOW = 1.1  # a round's mean latency under this many times the fastest seen: the limit may rise
CUT_ABOVE = 1.3  # over this: requests queue at the server, the limit falls in proportion
BASELINE_WINDOW = 60.0  # seconds the fastest round is remembered as the unloaded latency
MAXIMUM = 128  # the most the limit rises to (and a fan-out's workers under "auto")
CLIMB_EVERY = 1.0  # seconds between steps up, once the first sign of a limit was seen
CLIMB_SHARE = 0.1  # each step up: this share of the limit, at least one
HOLD = 30.0  # seconds before a ceiling the server set is tried again; doubles when hit again
HOLD_MAX = 600.0
HISTORY = 500  # changes kept for concurrency_stats()
BURST = 0.1  # seconds of its rate a server is taken to let through at once (what a throttling overshot by)
RATE_WINDOW = 10.0  # seconds of sends kept to measure the server's rate by
RATE_SPAN = 0.2  # the shortest span of them that measures it (a shorter one is all burst)
RATE_MARGIN = 0.985  # the pace: this share of the server's rate as a throttling measured it
HELD_CUT = 0.95  # a throttling while the pace is held takes it down this share at most
RATE_SETTLE = 1.0  # seconds the first pace holds before it climbs
RATE_CLIMB = 0.05  # the pace's climb, as a share of itself a second, until a throttling while paced
RATE_PROBE = 0.005  # the climb once a hold is over
RATE_HEADROOM = 2.0  # in flight allowed while paced: the pace x the unloaded latency x this


@attrs.frozen
class LimitChange:
    """One move of the limit: when (seconds on the event loop's clock), to what, and why.

    ``rate`` is the pace of sends (requests a second) from then, once a
    throttling set one (None before).
    """

    at: float
    limit: int
    reason: str  # "slow start", "climb", "latency", "throttled", "probe", "pace"
    rate: float | None = None


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
    waits a ``Retry-After`` caused; ``rate`` the pace of sends (requests a
    second) once a throttling set one: the server's rate, just under it, is
    then what holds the requests back, and ``limit`` only leaves room for
    latency (it may stand above ``ceiling``).
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
    rate: float | None = None


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
        self.rate: float | None = None  # the pace of sends, once a throttling marked the server's rate
        self._sends: deque[float] = deque()  # when the requests since the window's start started
        self._window_start: float | None = None  # sends count from here: the first, or a pause's end
        self._sent = self._tick_sent = 0  # requests started: all, and at the pace's last climb
        self._rate_from = self._rate_at = 0.0  # when the pace may climb; when it last did
        self._rate_climb = RATE_CLIMB
        self._rate_noted = -math.inf  # a climb of the pace goes to the history once a second

    def sent(self, now: float) -> None:
        """A request starts now: the send rate a throttling is measured by."""
        self._sent += 1
        sends = self._sends
        sends.append(now)
        if self._window_start is None:
            self._window_start = now
        while sends[0] < now - RATE_WINDOW:
            sends.popleft()

    def reply(self, now: float, latency: float, *, throttled: bool, in_flight: int, ok: bool = True) -> bool:
        """Account for one reply (``ok``: a success whose latency counts); True when the limit moved."""
        self.replies += 1
        if self._round_start is None:
            self._round_start = now - latency
        if throttled:
            return self._throttle(now, now - latency)
        if self.rate is not None and now >= self._rate_from and now - self._rate_at >= 0.1 and self._pace_up(now):
            return True
        if now - latency < self._changed_at:
            return False  # sent under the limit before the last change: says nothing about this one
        self._n += 1
        self._peak = max(self._peak, in_flight)
        if ok:
            self._ok += 1
            self._latency += latency
        if self._n < max(self.limit, ROUND_MIN) or now - self._round_start < (self._baseline or 0.0):
            return False
        return self._end_round(now)

    def note_pause(self, until: float) -> None:
        """The session pauses until ``until`` for the throttling just cut for: throttled replies until
        just after belong to the same episode (a later pause, made longer by them, does not)."""
        if self._episode_open:
            self._episode_open = False
            self._quiet_until = max(self._quiet_until, until + 2 * (self._baseline or 0.05))
            self._next_climb = max(self._next_climb, until + CLIMB_EVERY)
            self._window_start = until  # what was sent before says nothing once the server's bucket refilled
            self._sends.clear()
            self._rate_from = max(self._rate_from, until + (RATE_SETTLE if self._rate_climb == RATE_CLIMB else 0.0))
            self._rate_at = max(self._rate_at, until)

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
            # Under a pace it stops at the room the pace needs: the pace holds the requests back.
            cut = math.floor(self.limit * baseline / mean * GROW_BELOW)
            return self._set(now, max(cut, self._room(self.rate) if self.rate is not None else 1), "latency")
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

    def _server_rate(self, end: float) -> float:
        """The server's rate, from the requests started since the first or the last pause's end, up to
        ``end``, when the request it said no to was sent (those sent later met an empty bucket too).

        Over any span ending then it let through at most its rate for that long plus a burst (taken
        as BURST seconds of it): each span of RATE_SPAN or more gives a rate the server has at
        least (less if its bucket was not full at the span's start or the sends fell short of it
        for a while), and the highest is the estimate.
        """
        best, count = 0.0, 0
        for sent in reversed(self._sends):
            if sent > end:
                continue
            count += 1
            if end - sent >= RATE_SPAN:
                best = max(best, count / (end - sent + BURST))
        if not best:  # said no at once: all of it was the burst
            start = self._window_start if self._window_start is not None else end
            best = count / (max(end - start, 0.05) + BURST)
        return best

    def _pace_up(self, now: float) -> bool:
        """The pace climbs, in proportion to the time since it last did, while the callers use it."""
        assert self.rate is not None
        elapsed, self._rate_at = now - max(self._rate_at, self._rate_from), now
        used, self._tick_sent = self._sent - self._tick_sent, self._sent
        if used < 0.9 * self.rate * elapsed:
            return False  # the callers send less than the pace: nothing learnt about the server
        self.rate *= 1 + self._rate_climb * elapsed
        room = self._room(self.rate)
        if room > self.limit:
            return self._set(now, room, "pace")  # in the history with the pace
        if now - self._rate_noted >= 1.0:  # the history takes the pace's climb once a second
            self._rate_noted = now
            self.history.append(LimitChange(now, self.limit, "pace", round(self.rate, 1)))
        return False

    def _room(self, rate: float) -> int:
        """Requests in flight that let ``rate`` a second through with room for latency (Little's law)."""
        return min(self.maximum, max(2, math.ceil(rate * (self._baseline or 0.05) * RATE_HEADROOM)))

    def _pace(self, now: float, sent_at: float) -> int:
        """A throttling: the pace falls just under the server's rate as measured; returns the room it needs.

        The first: a climb of RATE_CLIMB a second follows (after RATE_SETTLE), in case the measure
        fell short; any later one: a hold (HOLD, doubling) before a slower probe.
        """
        first, measured = self.rate is None, self._server_rate(sent_at) * RATE_MARGIN
        if self.rate is not None:  # held, a throttling may be a stall of this machine or the server's:
            held = now < self._rate_from and self._rate_climb == RATE_PROBE  # past the first climb
            floor = self.rate * HELD_CUT if held else 0.0  # a step down, not a leap
            measured = max(floor, min(measured, self.rate * RATE_MARGIN))
        self.rate = max(0.5, measured)
        if first:
            self._rate_from = now + RATE_SETTLE
        else:
            self._rate_from, self._rate_climb = now + self._hold, RATE_PROBE
        self._rate_at = now
        return self._room(self.rate)

    def _throttle(self, now: float, sent_at: float) -> bool:
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
        self._start = False
        # The server counts requests a second, not in flight: from now on a pace just under the
        # rate it said no at holds them back, and the limit only leaves room for latency.
        self._found = self._pace(now, sent_at)
        return self._set(now, self._found, "throttled", noted=True)

    def _set(self, now: float, limit: int, reason: str, *, noted: bool = False) -> bool:
        """The limit becomes ``limit`` (True if it moved); ``noted``: goes to the history even if not."""
        limit = max(1, min(self.maximum, limit))
        rate = None if self.rate is None else round(self.rate, 1)
        if limit == self.limit:
            if noted:
                self.history.append(LimitChange(now, limit, reason, rate))
            return False
        self.limit, self._changed_at = limit, now
        self._round_start, self._n, self._ok, self._peak, self._latency = now, 0, 0, 0, 0.0
        self.history.append(LimitChange(now, limit, reason, rate))
        return True
