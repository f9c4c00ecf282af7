"""What the simulator decided for each call, written down as the scenario runs (not read back from its events).

A test compares a journey read from the events against this record, so the
two readings meet only at the outcome vocabulary: ``answered``, ``voicemail``,
``answer_care``, ``forwarded``, ``conference``, ``callback``, ``abandoned``,
``fax``, ``blocked``, ``failed``, ``not_answered``, ``feature``, ``ivr``,
``announcement``. Times are seconds from the call's start, unrounded (the API
shows event times to the second).
"""

from __future__ import annotations

import attrs


@attrs.frozen
class RingTruth:
    kind: str  # "extension" or "ring_group"
    number: str  # extension number, or the ring group's extension
    outcome: str  # "answered", "busy", "no_answer", "offline"
    ringing: float


@attrs.frozen
class QueueTruth:
    name: str
    wait: float
    outcome: str  # "answered", "abandoned", "failover", "callback"
    answered_by: str | None = None
    abandon_reason: str | None = None
    agents_not_answering: int = 0
    options_pressed: tuple[str, ...] = ()


@attrs.frozen
class ParkTruth:
    lot: str
    slot: str
    parked_by: str
    picked_up_by: str | None
    timed_out: bool


@attrs.frozen
class DialOutTruth:
    number: str | None
    international: bool
    result: str  # "answered", "not_answered", "failed"
    failure: str | None = None  # "invalid_cid", "international_disabled", "invalid_pin", "concurrent_calls", "other"


@attrs.frozen
class Scenario:
    """One generated call's truth: ``sim.truth_scenario(uuid)``."""

    outcome: str
    entry_did: str | None
    answered_by: str | None  # extension number
    answered_by_name: str | None
    answered_via: str | None  # "extension", "queue", "ring_group", "dial_out"
    answered_at: float | None
    talk_time: float | None
    queue_visits: tuple[QueueTruth, ...]
    rings: tuple[RingTruth, ...]
    ivr: tuple[tuple[str, str | None], ...]  # (kind, digits): menu, option, timeout, invalid, direct_dial
    voicemail_box: str | None
    message_left: bool
    voicemail_disabled: bool
    park: ParkTruth | None
    conference: str | None  # the bridge name when the caller got in
    dial_out: DialOutTruth | None
    forwarded_to: str | None
    fax_succeeded: bool | None
    internal_app: int | None
    ended: str  # "normal" or "loop_protection"
    jitter: float
    packet_loss: float
    unknown_type_ids: tuple[int, ...]


@attrs.define
class ScenarioLog:
    """Filled in by the scenario code while it emits a call's events."""

    outcome: str = "other"
    entry_did: str | None = None
    answered: tuple[str | None, str | None, str, float] | None = None  # number, name, via, at
    hangup_at: float | None = None
    queues: list[QueueTruth] = attrs.Factory(list)
    rings: list[RingTruth] = attrs.Factory(list)
    ivr: list[tuple[str, str | None]] = attrs.Factory(list)
    voicemail_box: str | None = None
    message_left: bool = False
    voicemail_disabled: bool = False
    park: ParkTruth | None = None
    conference: str | None = None
    dial_out: DialOutTruth | None = None
    forwarded_to: str | None = None
    fax_succeeded: bool | None = None
    internal_app: int | None = None
    ended: str = "normal"
    jitter: float = 0.0
    packet_loss: float = 0.0
    unknown_type_ids: list[int] = attrs.Factory(list)

    def answer(self, number: str | None, name: str | None, via: str, at: float) -> None:
        if self.answered is None:
            self.answered = (number, name, via, at)
            self.outcome = "answered"

    def freeze(self) -> Scenario:
        number, name, via, at = self.answered or (None, None, None, None)
        talk = None if at is None or self.hangup_at is None else self.hangup_at - at
        return Scenario(
            outcome=self.outcome,
            entry_did=self.entry_did,
            answered_by=number,
            answered_by_name=name,
            answered_via=via,
            answered_at=at,
            talk_time=talk,
            queue_visits=tuple(self.queues),
            rings=tuple(self.rings),
            ivr=tuple(self.ivr),
            voicemail_box=self.voicemail_box,
            message_left=self.message_left,
            voicemail_disabled=self.voicemail_disabled,
            park=self.park,
            conference=self.conference,
            dial_out=self.dial_out,
            forwarded_to=self.forwarded_to,
            fax_succeeded=self.fax_succeeded,
            internal_app=self.internal_app,
            ended=self.ended,
            jitter=self.jitter,
            packet_loss=self.packet_loss,
            unknown_type_ids=tuple(self.unknown_type_ids),
        )
