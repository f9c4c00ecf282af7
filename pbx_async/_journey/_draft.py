"""The mutable drafts a journey is gathered in while its events are walked; ``_build`` freezes them."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from .._records.calls import InternalApp
from .._records.events import Event
from ._records import (
    ConferenceVisit,
    DialOut,
    EndReason,
    Fax,
    Forward,
    IvrStep,
    Park,
    Party,
    QueueOutcome,
    RingAttempt,
    RingKind,
    RingOutcome,
    RoutingStep,
    Supervision,
)


def to_float(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def party(event: Event) -> Party:
    """The EndpointID / Ext Num / Ext Name triple (events 3, 4, 9-11, 13, 25, 91-93, 95)."""
    return Party(event.data2, event.data3, event.data1)


@attrs.define
class Ring:
    kind: RingKind
    number: str | None
    name: str | None
    started_at: float
    ended_at: float | None = None
    outcome: RingOutcome | None = None
    answered_by: Party | None = None

    def close(self, at: float, outcome: RingOutcome, answered_by: Party | None = None) -> None:
        self.ended_at, self.outcome, self.answered_by = at, outcome, answered_by

    def freeze(self) -> RingAttempt:
        ringing = None if self.ended_at is None else self.ended_at - self.started_at
        return RingAttempt(
            self.kind, self.number, self.name, self.started_at, ringing, self.outcome or RingOutcome.ENDED,
            self.answered_by,
        )  # fmt: skip


@attrs.define
class Queue:
    queue_id: str | None
    queue_exten: str | None
    queue_name: str | None
    entered_at: float
    left_at: float | None = None
    outcome: QueueOutcome | None = None
    answered_by: Party | None = None
    abandon_reason: str | None = None
    options: list[str] = attrs.Factory(list)
    agents: list[RingAttempt] = attrs.Factory(list)
    callback_number: str | None = None
    callback_deleted: bool = False

    def close(self, at: float, outcome: QueueOutcome) -> None:
        self.left_at, self.outcome = at, outcome


@attrs.define
class Draft:
    """Everything seen so far; ``_build`` turns it into a ``CallJourney``."""

    entry_did: str | None = None
    answered_by: Party | None = None
    answered_at: float | None = None
    ivr: list[IvrStep] = attrs.Factory(list)
    queues: list[Queue] = attrs.Factory(list)
    rings: list[Ring] = attrs.Factory(list)
    voicemail: tuple[Party | None, float] | None = None
    message_left: bool = False
    voicemail_exit: str | None = None
    voicemail_disabled: bool = False
    parks: list[Park] = attrs.Factory(list)
    conferences: list[ConferenceVisit] = attrs.Factory(list)
    dial_out: DialOut | None = None
    forward: Forward | None = None
    fax: Fax | None = None
    routing: list[RoutingStep] = attrs.Factory(list)
    supervision: list[Supervision] = attrs.Factory(list)
    internal_app: InternalApp | None = None
    feature: str | None = None
    blocked: bool = False
    no_dialplan: bool = False
    ended: EndReason | None = None
    ended_at: float | None = None
    jitter: float | None = None
    packet_loss: float | None = None
    last_at: float = 0.0
    unknown: list[Event] = attrs.Factory(list)

    # -- rings and queues ----------------------------------------------------------------------------

    def open_queue(self) -> Queue | None:
        return self.queues[-1] if self.queues and self.queues[-1].outcome is None else None

    def open_ring(self, kind: RingKind, number: str | None = None) -> Ring | None:
        for ring in reversed(self.rings):
            if ring.outcome is None and ring.kind is kind and (number is None or ring.number == number):
                return ring
        return None

    def answer(self, at: float, party: Party) -> None:
        if self.answered_at is None:
            self.answered_at, self.answered_by = at, party

    def close_all(self, at: float) -> None:
        """The call ended: whatever still rings or waits ended with it."""
        for ring in self.rings:
            if ring.outcome is None:
                ring.close(at, RingOutcome.ENDED)
        queue = self.open_queue()
        if queue is not None:
            queue.close(at, QueueOutcome.ENDED)


Handler = Callable[[Draft, Event, float], None]
