"""The records a call journey is made of: frozen, slotted, plain data.

Times are seconds (float) from the call's start; names and numbers are the
text the events carry, None when an event leaves them empty.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from .._records.calls import CallDirection, InternalApp
from .._records.events import Event


class Outcome(enum.StrEnum):
    """How the call went, the first that applies in this order (see ``call_journey`` for each rule)."""

    ANSWERED = "answered"
    VOICEMAIL = "voicemail"
    ANSWER_CARE = "answer_care"
    FORWARDED = "forwarded"
    CONFERENCE = "conference"
    CALLBACK = "callback"
    ABANDONED = "abandoned"
    FAX = "fax"
    BLOCKED = "blocked"
    FAILED = "failed"
    NOT_ANSWERED = "not_answered"
    FEATURE = "feature"
    IVR = "ivr"
    ANNOUNCEMENT = "announcement"
    OTHER = "other"


class EndReason(enum.StrEnum):
    NORMAL = "normal"  # Hangup (Normal), event 5
    LOOP_PROTECTION = "loop_protection"  # Hangup (Loop Protection), event 31


class IvrStepKind(enum.StrEnum):
    MENU = "menu"  # 51 greeting played
    OPTION = "option"  # 52
    TIMEOUT = "timeout"  # 53
    INVALID = "invalid"  # 54
    DIRECT_DIAL = "direct_dial"  # 55


class RingKind(enum.StrEnum):
    EXTENSION = "extension"  # 3 .. 4 / 9 / 10 / 11
    RING_GROUP = "ring_group"  # 28 .. 29 / 30
    QUEUE_AGENT = "queue_agent"  # 98, an agent a queue rang who did not pick up


class RingOutcome(enum.StrEnum):
    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"  # includes a ring group's timeout and ringing that ended in voicemail
    OFFLINE = "offline"
    ENDED = "ended"  # the call ended (or moved on without a word) while it rang


class QueueOutcome(enum.StrEnum):
    ANSWERED = "answered"
    ABANDONED = "abandoned"
    FAILOVER = "failover"
    CALLBACK = "callback"
    ENDED = "ended"  # the call ended in the queue, or left it without a queue event saying how


class DialOutResult(enum.StrEnum):
    ANSWERED = "answered"
    NOT_ANSWERED = "not_answered"
    FAILED = "failed"


class DialOutFailure(enum.StrEnum):
    INVALID_CID = "invalid_cid"  # 38
    INTERNATIONAL_DISABLED = "international_disabled"  # 39
    INVALID_PIN = "invalid_pin"  # 40
    CONCURRENT_CALLS = "concurrent_calls"  # 41
    OTHER = "other"  # 42


class RoutingKind(enum.StrEnum):
    TIME_ROUTE = "time_route"  # 60
    DEFAULT_ROUTE = "default_route"  # 61
    TOGGLE_ON = "toggle_on"  # 71
    TOGGLE_OFF = "toggle_off"  # 72
    ANNOUNCEMENT = "announcement"  # 77
    DIRECTORY = "directory"  # 67
    DIRECTORY_INVALID = "directory_invalid"  # 68
    DIRECTORY_TIMEOUT = "directory_timeout"  # 69
    DIRECTORY_EXIT = "directory_exit"  # 70
    ANSWER_CARE = "answer_care"  # 90


class ConferenceRefusal(enum.StrEnum):
    FULL = "full"  # 63
    PIN_TIMEOUT = "pin_timeout"  # 65


class SupervisionKind(enum.StrEnum):
    LISTEN = "listen"  # 91
    WHISPER = "whisper"  # 92
    BARGE = "barge"  # 93


@attrs.frozen
class Party:
    """An extension as the events name it."""

    number: str | None
    name: str | None = None
    endpoint_id: str | None = None


@attrs.frozen
class IvrStep:
    at: float
    kind: IvrStepKind
    ivr_id: str | None
    ivr_exten: str | None
    ivr_name: str | None
    digits: str | None = None  # the option, the invalid number or the digits dialled


@attrs.frozen
class RingAttempt:
    """Something rang: an extension, a ring group, or an agent of a queue."""

    kind: RingKind
    number: str | None  # extension number, or the ring group's extension
    name: str | None  # extension name, or the ring group's description
    started_at: float
    ringing: float | None  # seconds it rang; None when the events do not tell
    outcome: RingOutcome
    answered_by: Party | None = None


@attrs.frozen
class QueueVisit:
    queue_id: str | None
    queue_exten: str | None
    queue_name: str | None
    entered_at: float
    wait: float  # seconds from entering to leaving (answer, abandon, failover, callback or the call's end)
    outcome: QueueOutcome
    answered_by: Party | None = None
    abandon_reason: str | None = None  # the Reason Code, as sent
    options_pressed: tuple[str, ...] = ()
    agents_not_answering: tuple[RingAttempt, ...] = ()
    callback_number: str | None = None
    callback_deleted: bool = False


@attrs.frozen
class Voicemail:
    box: Party | None  # whose voicemail; None for a message with no "Sent to Voicemail"
    at: float
    message_left: bool
    exit_key: str | None = None  # "0" or "*" when the caller pressed out of it


@attrs.frozen
class Park:
    lot_id: str | None
    lot_name: str | None
    slot: str | None
    parked_by: str | None  # the extension that parked it
    specific: bool  # a chosen slot (57) rather than a random one (56)
    parked_at: float
    picked_up_by: str | None = None
    picked_up_at: float | None = None
    timed_out: bool = False


@attrs.frozen
class ConferenceVisit:
    bridge_id: str | None
    bridge_exten: str | None
    bridge_name: str | None
    at: float
    entered: bool
    admin: bool = False
    refused: ConferenceRefusal | None = None
    invalid_pins: tuple[str, ...] = ()


@attrs.frozen
class DialOut:
    number: str | None
    cid_name: str | None
    cid_number: str | None
    at: float
    international: bool
    result: DialOutResult
    failure: DialOutFailure | None = None
    answered_at: float | None = None


@attrs.frozen
class Forward:
    number: str | None
    cid_name: str | None
    cid_number: str | None
    at: float
    origin_cid: bool  # the caller's own number was shown (86) rather than a spoofed one (85)
    blocked: bool = False  # 87


@attrs.frozen
class Fax:
    inbound: bool
    user_id: str | None
    user_name: str | None
    number: str | None  # the number a sent fax went to
    succeeded: bool | None  # None while no result event came
    pages: int | None = None
    status: str | None = None


@attrs.frozen
class RoutingStep:
    at: float
    kind: RoutingKind
    id: str | None
    exten: str | None
    name: str | None


@attrs.frozen
class Supervision:
    at: float
    kind: SupervisionKind
    by: Party


@attrs.frozen
class CallJourney:
    """What happened on one call, read from its events by ``call_journey``.

        journey = pbx_async.call_journey(await session.get_call_details(uuid))
        print(journey.outcome, journey.answered_by, journey.answered_at, [v.wait for v in journey.queue_visits])

    Times are seconds from the call's start (``start``).
    """

    uuid: str
    start: datetime
    direction: CallDirection | None
    outcome: Outcome
    entry_did: str | None = None
    answered_by: Party | None = None
    answered_at: float | None = None  # time to answer
    talk_time: float | None = None
    ivr_path: tuple[IvrStep, ...] = ()
    queue_visits: tuple[QueueVisit, ...] = ()
    ring_attempts: tuple[RingAttempt, ...] = ()
    voicemail: Voicemail | None = None
    voicemail_disabled: bool = False
    parks: tuple[Park, ...] = ()
    conferences: tuple[ConferenceVisit, ...] = ()
    dial_out: DialOut | None = None
    forward: Forward | None = None
    fax: Fax | None = None
    routing: tuple[RoutingStep, ...] = ()
    supervision: tuple[Supervision, ...] = ()
    internal_app: InternalApp | None = None
    feature: str | None = None  # the purpose of the first feature-code event (internal apps, wake-up, paging)
    blocked: bool = False
    ended: EndReason | None = None
    ended_at: float | None = None
    jitter: float | None = None
    packet_loss: float | None = None
    length: float = 0.0  # seconds from the start to the last event
    unknown_events: tuple[Event, ...] = ()

    @property
    def answered(self) -> bool:
        """A person picked up: an extension, a ring group's member, a queue's agent, or a dial-out's far end."""
        return self.answered_at is not None
