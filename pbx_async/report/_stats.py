"""Counting what the report shows, one call at a time (memory grows with DIDs, queues and extensions, not calls)."""

from __future__ import annotations

import bisect
from collections import Counter
from datetime import datetime

import attrs

from .._journey import CallJourney, IvrStepKind, QueueOutcome
from ._facts import SAMPLE_KINDS, Call, Facts
from ._read import ExportCall

__all__ = ["BUCKET_LABELS", "SAMPLE_KINDS", "Sample", "Stats", "bucket"]

# Upper bounds in seconds of the wait and time-to-answer buckets; the last is open.
BUCKETS = (5, 10, 20, 30, 60, 120, 300)
BUCKET_LABELS = ("<5 s", "5-10 s", "10-20 s", "20-30 s", "30-60 s", "1-2 min", "2-5 min", "5 min+")
MAX_SAMPLE_EVENTS = 30  # a sample timeline must stay readable


def bucket(seconds: float) -> int:
    """The index of the bucket of ``seconds``: the first whose upper bound is above it."""
    return bisect.bisect_right(BUCKETS, seconds)


@attrs.define
class Sample:
    kind: str
    score: tuple[int, str]
    call: ExportCall
    journey: CallJourney


@attrs.define
class Stats:
    calls: int = 0
    with_events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    directions: Counter[str] = attrs.Factory(Counter)
    outcomes: Counter[str] = attrs.Factory(Counter)
    week: list[list[int]] = attrs.Factory(lambda: [[0] * 24 for _ in range(7)])
    week_inbound: list[list[int]] = attrs.Factory(lambda: [[0] * 24 for _ in range(7)])
    dids: dict[str, list[int]] = attrs.Factory(dict)  # DID -> [calls, answered]
    did_names: dict[str, str] = attrs.Factory(dict)
    hours: list[list[int]] = attrs.Factory(lambda: [[0, 0] for _ in range(24)])  # inbound [calls, answered]
    queues: dict[str, Counter[str]] = attrs.Factory(dict)  # queue -> outcome -> visits
    queue_waits: dict[str, list[float]] = attrs.Factory(dict)  # queue -> waits of answered visits
    wait_buckets: dict[str, list[int]] = attrs.Factory(dict)  # outcome -> visits per bucket
    ivr: Counter[str] = attrs.Factory(Counter)  # funnel steps
    options: dict[str, list[int]] = attrs.Factory(dict)  # "menu: option" -> [calls, answered]
    extensions: dict[str, list[int]] = attrs.Factory(dict)  # number -> [answered, voicemails]
    extension_names: dict[str, str] = attrs.Factory(dict)
    answer_buckets: dict[str, list[int]] = attrs.Factory(dict)  # via -> answered calls per time-to-answer bucket
    answer_times: list[float] = attrs.Factory(list)
    recordings: dict[str, list[int]] = attrs.Factory(dict)  # direction -> [answered, recorded, downloaded]
    downloads_known: bool = False
    best: dict[str, tuple[int, str]] = attrs.Factory(dict)  # sample kind -> score of the best call: (types, uuid)
    samples: dict[str, Sample] = attrs.Factory(dict)  # the best calls themselves, once read whole
    unscored: dict[str, list[tuple[int, str]]] = attrs.Factory(dict)  # sample kind -> (events, uuid) of candidates

    def add(self, call: Call, f: Facts | None, whole: tuple[ExportCall, CallJourney] | None = None) -> None:
        """Count one call; ``f`` is None for a call without events. ``whole``: the call read whole, kept as a sample."""
        self.calls += 1
        when = call.date
        self.first = when if self.first is None or when < self.first else self.first
        self.last = when if self.last is None or when > self.last else self.last
        direction = call.direction
        self.directions[direction] += 1
        self.week[when.weekday()][when.hour] += 1
        if f is None or not call.events:
            return  # the rest reads the events: an export without --details has none
        self.with_events += 1
        self.outcomes[f.outcome] += 1
        answered = f.answered_at is not None
        if direction == "inbound":
            self.week_inbound[when.weekday()][when.hour] += 1
            did = f.entry_did or call.num_dialed or "unknown"
            tally = self.dids.setdefault(did, [0, 0])
            tally[0] += 1
            tally[1] += answered
            if call.did_description and did not in self.did_names:
                self.did_names[did] = call.did_description
            self.hours[when.hour][0] += 1
            self.hours[when.hour][1] += answered
        if f.visits:
            self._queues(f)
        if f.ivr_kinds:
            self._ivr(f)
        self._people(f, direction)
        if answered:
            tally = self.recordings.setdefault(direction, [0, 0, 0])
            tally[0] += 1
            tally[1] += call.recorded
            if call.downloaded is not None:
                self.downloads_known = True
                tally[2] += call.recorded and call.downloaded
        kind = f.sample
        if kind is not None and call.events <= MAX_SAMPLE_EVENTS:
            if call.event_types is None:  # scored later, by whoever counted the events
                self.unscored.setdefault(kind, []).append((call.events, call.uuid))
                return
            score = (call.event_types, call.uuid)
            best = self.best.get(kind)
            if best is None or score > best:
                self.best[kind] = score
                if whole is not None:
                    self.samples[kind] = Sample(kind, score, *whole)

    def _queues(self, f: Facts) -> None:
        for name, outcome, wait in f.visits:
            self.queues.setdefault(name, Counter())[outcome] += 1
            if outcome == QueueOutcome.ANSWERED:
                self.queue_waits.setdefault(name, []).append(wait)
            kind = outcome if outcome in (QueueOutcome.ANSWERED, QueueOutcome.ABANDONED) else "other"
            self.wait_buckets.setdefault(kind, [0] * len(BUCKET_LABELS))[bucket(wait)] += 1

    def _ivr(self, f: Facts) -> None:
        kinds = f.ivr_kinds
        self.ivr["heard"] += IvrStepKind.MENU in kinds
        chose = IvrStepKind.OPTION in kinds or IvrStepKind.DIRECT_DIAL in kinds
        self.ivr["chose"] += chose
        self.ivr["timeout"] += IvrStepKind.TIMEOUT in kinds
        self.ivr["invalid"] += IvrStepKind.INVALID in kinds
        answered = f.answered_at is not None
        self.ivr["reached"] += chose and f.reached
        self.ivr["answered"] += chose and answered
        if f.option is not None:
            tally = self.options.setdefault(f.option, [0, 0])
            tally[0] += 1
            tally[1] += answered

    def _people(self, f: Facts, direction: str) -> None:
        if f.by_number:
            self.extensions.setdefault(f.by_number, [0, 0])[0] += 1
            if f.by_name:
                self.extension_names.setdefault(f.by_number, f.by_name)
        if f.box_number:
            self.extensions.setdefault(f.box_number, [0, 0])[1] += 1
            if f.box_name:
                self.extension_names.setdefault(f.box_number, f.box_name)
        if f.via is not None and f.answered_at is not None and direction != "outbound":
            self.answer_buckets.setdefault(f.via, [0] * len(BUCKET_LABELS))[bucket(f.answered_at)] += 1
            self.answer_times.append(f.answered_at)
