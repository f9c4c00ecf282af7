"""Counting what the report shows, one call at a time (memory grows with DIDs, queues and extensions, not calls)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import attrs

from .._journey import CallJourney, IvrStepKind, Outcome, QueueOutcome, RingKind, RingOutcome
from ._read import ExportCall

# Upper bounds in seconds of the wait and time-to-answer buckets; the last is open.
BUCKETS = (5, 10, 20, 30, 60, 120, 300)
BUCKET_LABELS = ("<5 s", "5-10 s", "10-20 s", "20-30 s", "30-60 s", "1-2 min", "2-5 min", "5 min+")
MAX_SAMPLE_EVENTS = 30  # a sample timeline must stay readable


def bucket(seconds: float) -> int:
    return next((i for i, top in enumerate(BUCKETS) if seconds < top), len(BUCKETS))


def answered_via(j: CallJourney) -> str:
    """How an answered call was picked up: queue, ring group, dial-out or extension."""
    if j.queue_visits and any(v.outcome is QueueOutcome.ANSWERED for v in j.queue_visits):
        return "queue"
    if j.ring_attempts and any(
        r.kind is RingKind.RING_GROUP and r.outcome is RingOutcome.ANSWERED for r in j.ring_attempts
    ):
        return "ring group"
    if j.dial_out is not None:
        return "dial-out"
    return "extension"


SAMPLE_KINDS = (
    "IVR, queue, answered",
    "Ring group answered",
    "Abandoned in a queue",
    "Voicemail, message left",
    "Parked and picked up",
    "IVR timeout",
    "Conference",
    "Outbound, answered",
    "Dial-out failed",
    "Internal app",
)


def sample_kind(j: CallJourney, via: str | None) -> str | None:
    """Which kind of sample call this journey shows, if any (the first of ``SAMPLE_KINDS`` that fits)."""
    if j.parks and any(p.picked_up_by for p in j.parks):
        return "Parked and picked up"
    outcome = j.outcome
    if via == "queue" and j.ivr_path:
        return "IVR, queue, answered"
    if via == "ring group":
        return "Ring group answered"
    if outcome is Outcome.ABANDONED:
        return "Abandoned in a queue"
    if j.voicemail is not None and j.voicemail.message_left:
        return "Voicemail, message left"
    if outcome is Outcome.IVR:
        return "IVR timeout"
    if outcome is Outcome.CONFERENCE:
        return "Conference"
    if j.dial_out is not None:
        return "Outbound, answered" if via == "dial-out" else "Dial-out failed" if j.dial_out.failure else None
    return "Internal app" if j.internal_app is not None else None


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
    samples: dict[str, Sample] = attrs.Factory(dict)

    def add(self, item: ExportCall, j: CallJourney) -> None:
        call = item.details.call
        self.calls += 1
        when = call.date
        self.first = when if self.first is None or when < self.first else self.first
        self.last = when if self.last is None or when > self.last else self.last
        direction = call.direction.name.lower()
        self.directions[direction] += 1
        self.week[when.weekday()][when.hour] += 1
        if not item.details.events:
            return  # the rest reads the events: an export without --details has none
        self.with_events += 1
        self.outcomes[str(j.outcome)] += 1
        answered = j.answered
        if direction == "inbound":
            self.week_inbound[when.weekday()][when.hour] += 1
            did = j.entry_did or call.num_dialed or "unknown"
            tally = self.dids.setdefault(did, [0, 0])
            tally[0] += 1
            tally[1] += answered
            if call.did_description and did not in self.did_names:
                self.did_names[did] = call.did_description
            self.hours[when.hour][0] += 1
            self.hours[when.hour][1] += answered
        self._queues(j)
        self._ivr(j)
        via = answered_via(j) if answered else None
        self._people(j, direction, via)
        if answered:
            tally = self.recordings.setdefault(direction, [0, 0, 0])
            tally[0] += 1
            tally[1] += call.recorded
            if item.downloaded is not None:
                self.downloads_known = True
                tally[2] += call.recorded and item.downloaded
        self._sample(item, j, via)

    def _queues(self, j: CallJourney) -> None:
        for v in j.queue_visits:
            name = v.queue_name or v.queue_exten or "queue"
            self.queues.setdefault(name, Counter())[str(v.outcome)] += 1
            if v.outcome is QueueOutcome.ANSWERED:
                self.queue_waits.setdefault(name, []).append(v.wait)
            kind = str(v.outcome) if v.outcome in (QueueOutcome.ANSWERED, QueueOutcome.ABANDONED) else "other"
            self.wait_buckets.setdefault(kind, [0] * len(BUCKET_LABELS))[bucket(v.wait)] += 1

    def _ivr(self, j: CallJourney) -> None:
        if not j.ivr_path:
            return
        kinds = {s.kind for s in j.ivr_path}
        self.ivr["heard"] += IvrStepKind.MENU in kinds
        chose = IvrStepKind.OPTION in kinds or IvrStepKind.DIRECT_DIAL in kinds
        self.ivr["chose"] += chose
        self.ivr["timeout"] += IvrStepKind.TIMEOUT in kinds
        self.ivr["invalid"] += IvrStepKind.INVALID in kinds
        reached = bool(j.queue_visits or j.ring_attempts or j.voicemail or j.forward or j.conferences)
        self.ivr["reached"] += chose and reached
        self.ivr["answered"] += chose and j.answered
        last = next((s for s in reversed(j.ivr_path) if s.kind is IvrStepKind.OPTION), None)
        if last is not None:
            menu = (last.ivr_name or last.ivr_exten or "IVR").removeprefix("IVR ")
            tally = self.options.setdefault(f"{menu}: {last.digits}", [0, 0])
            tally[0] += 1
            tally[1] += j.answered

    def _people(self, j: CallJourney, direction: str, via: str | None) -> None:
        by = j.answered_by
        if by is not None and by.number:
            self.extensions.setdefault(by.number, [0, 0])[0] += 1
            if by.name:
                self.extension_names.setdefault(by.number, by.name)
        box = j.voicemail.box if j.voicemail else None
        if box is not None and box.number:
            self.extensions.setdefault(box.number, [0, 0])[1] += 1
            if box.name:
                self.extension_names.setdefault(box.number, box.name)
        if via is not None and j.answered_at is not None and direction != "outbound":
            self.answer_buckets.setdefault(via, [0] * len(BUCKET_LABELS))[bucket(j.answered_at)] += 1
            self.answer_times.append(j.answered_at)

    def _sample(self, item: ExportCall, j: CallJourney, via: str | None) -> None:
        kind = sample_kind(j, via)
        events = item.details.events
        if kind is None or len(events) > MAX_SAMPLE_EVENTS:
            return
        score = (len({e.type_id for e in events}), item.details.call.uuid)
        best = self.samples.get(kind)
        if best is None or score > best.score:
            self.samples[kind] = Sample(kind, score, item, j)
