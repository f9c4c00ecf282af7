"""A server that changes over time: what a sync has to catch up with.

    changes = Changes(sim, seed=1)
    changes.edit(20)             # notes, flag and severity of 20 recent calls change (people work the calls)
    changes.transcribe(5)        # transcriptions arrive for 5 recent recorded calls
    changes.arrive(50)           # 50 new calls in the last hour
    changes.arrive_late(3)       # 3 calls begun before the last midnight, written only now (at hangup)
    changes.answer_in_offset(0)  # replies in UTC whatever offset was asked
    changes.advance(3600)        # the server's clock moves on an hour

Each change is ground truth at once (``sim.truth_calls()``, ``sim.truth_details()``);
each method returns the UUIDs it touched. Calls are picked with the seed, among
those that began within ``recent`` (48 hours) before the server's ``now``.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from ._dataset import Generator, SimCall
from ._simulator import Simulator

_NOTES = ("Called back", "Left a message", "Customer wants a quote", "Escalated to billing", "Resolved")
_TRANSCRIPTS = ("Hi, I'm calling about my invoice.", "Please call me back after five.", "Is the store open Sunday?")


class Changes:
    """Changes to a ``Simulator``'s calls after they ended, new and late calls, another reply offset.

    changes = Changes(sim, seed=1); changes.edit(20); changes.arrive(50)
    """

    def __init__(self, sim: Simulator, seed: int = 0, *, recent: timedelta = timedelta(hours=48)) -> None:
        self.sim, self.recent = sim, recent
        self._rng = random.Random(seed)
        self._edits = 0

    def _recent(self) -> list[SimCall]:
        since = self.sim.now - self.recent
        calls = [self.sim.sim_call(u) for u in sorted(self.sim.uuids())]
        return [c for c in calls if since <= c.start <= self.sim.now]

    def _pick(self, calls: list[SimCall], count: int) -> list[SimCall]:
        if count > len(calls):
            raise ValueError(f"only {len(calls)} calls to change, asked for {count}")
        return self._rng.sample(calls, count)

    def edit(self, count: int) -> list[str]:
        """Notes, follow-up flag and severity change on ``count`` recent calls (each call really changes)."""
        picked = self._pick(self._recent(), count)

        def apply(_: Generator) -> list[SimCall]:
            for call in picked:
                self._edits += 1
                call.notes = f"{self._rng.choice(_NOTES)} (#{self._edits})"
                call.flagged = not call.flagged
                call.severity = (call.severity + self._rng.randint(1, 5)) % 6
            return []

        self.sim.change(apply)
        return [c.uuid for c in picked]

    def transcribe(self, count: int) -> list[str]:
        """Transcriptions arrive for ``count`` recent recorded calls that had none."""
        picked = self._pick([c for c in self._recent() if c.recorded and not c.transcription], count)

        def apply(_: Generator) -> list[SimCall]:
            for call in picked:
                call.transcription = self._rng.choice(_TRANSCRIPTS)
            return []

        self.sim.change(apply)
        return [c.uuid for c in picked]

    def arrive(self, count: int, *, within: timedelta = timedelta(hours=1)) -> list[str]:
        """``count`` new calls that began within the last ``within`` before the server's ``now``."""
        span = within.total_seconds()
        starts = [self.sim.now - timedelta(seconds=round(self._rng.uniform(60, max(span, 61)))) for _ in range(count)]
        return self._add(starts)

    def arrive_late(self, count: int) -> list[str]:
        """``count`` calls begun in the hour before the last midnight (UTC), first listed now: written at
        hangup, after their day ended."""
        midnight = self.sim.now.replace(hour=0, minute=0, second=0, microsecond=0)
        return self._add([midnight - timedelta(seconds=self._rng.randint(60, 3600)) for _ in range(count)])

    def _add(self, starts: list[datetime]) -> list[str]:
        added: list[SimCall] = []

        def apply(generator: Generator) -> list[SimCall]:
            for start in sorted(starts):
                call = generator.call(start)
                call.recorded = call.recorded and self.sim.recordings
                added.append(call)
            return added

        self.sim.change(apply)
        return [c.uuid for c in added]

    def answer_in_offset(self, minutes: int | None) -> None:
        """Reply in UTC offset ``minutes`` whatever offset a request asks for (None: as asked)."""
        self.sim.reply_offset = minutes
        self.sim.change(lambda _: [])

    def advance(self, seconds: float) -> None:
        """The server's clock moves on."""
        self.sim.now += timedelta(seconds=seconds)
        self.sim.change(lambda _: [])
