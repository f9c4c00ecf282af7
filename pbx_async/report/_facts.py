"""What the report counts of one call: the same few facts whether read from a ``CallJourney`` or a stored journey row.

The report reads journeys two ways: computed from each call's events
(``call_journey``), or, from a SQLite export that has them, the ``journeys``
table the export wrote with those events (``journey_row``'s columns). Both
come down to ``Facts``, so the counting in ``_stats`` cannot tell them apart.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from .._journey import CallJourney, IvrStepKind, Outcome, QueueOutcome, RingKind, RingOutcome
from ._read import ExportCall

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


@attrs.frozen
class Call:
    """The summary fields the report reads, and how many events (and distinct event types) the call has."""

    uuid: str
    date: datetime
    direction: str
    num_dialed: str | None
    did_description: str | None
    recorded: bool
    downloaded: bool | None
    events: int
    event_types: int | None  # None: not counted yet (``Stats.unscored``)


@attrs.frozen
class Facts:
    """What the report counts of a journey; ``visits``: (queue, outcome, wait); ``option``: the last option pressed."""

    outcome: str
    entry_did: str | None
    answered_at: float | None
    by_number: str | None
    by_name: str | None
    box_number: str | None
    box_name: str | None
    visits: tuple[tuple[str, str, float], ...]
    ivr_kinds: frozenset[str]
    option: str | None  # "menu: digits" of the last option pressed
    reached: bool  # something past the IVR: a queue, ringing, voicemail, a forward or a conference
    via: str | None  # how an answered call was picked up
    sample: str | None  # which kind of sample call it could show (``SAMPLE_KINDS``)

    @property
    def answered(self) -> bool:
        return self.answered_at is not None


def call_of(item: ExportCall) -> Call:
    """The report's view of an export call read whole."""
    call, events = item.details.call, item.details.events
    return Call(
        call.uuid, call.date, call.direction.name.lower(), call.num_dialed, call.did_description, call.recorded,
        item.downloaded, len(events), len({e.type_id for e in events}),
    )  # fmt: skip


def answered_via(answered: bool, queue_answered: bool, ring_group_answered: bool, dial_out: bool) -> str | None:
    """How an answered call was picked up: queue, ring group, dial-out or extension."""
    if not answered:
        return None
    if queue_answered:
        return "queue"
    if ring_group_answered:
        return "ring group"
    return "dial-out" if dial_out else "extension"


def sample_kind(
    outcome: str, via: str | None, *, picked_up: bool, ivr: bool, message_left: bool, dial_out: bool, failure: bool,
    internal_app: bool,
) -> str | None:  # fmt: skip
    """Which kind of sample call this journey shows, if any (the first of ``SAMPLE_KINDS`` that fits)."""
    if picked_up:
        return "Parked and picked up"
    if via == "queue" and ivr:
        return "IVR, queue, answered"
    if via == "ring group":
        return "Ring group answered"
    if outcome == Outcome.ABANDONED:
        return "Abandoned in a queue"
    if message_left:
        return "Voicemail, message left"
    if outcome == Outcome.IVR:
        return "IVR timeout"
    if outcome == Outcome.CONFERENCE:
        return "Conference"
    if dial_out:
        return "Outbound, answered" if via == "dial-out" else "Dial-out failed" if failure else None
    return "Internal app" if internal_app else None


def option_key(menu: str | None, exten: str | None, digits: str | None) -> str:
    return f"{(menu or exten or 'IVR').removeprefix('IVR ')}: {digits}"


def facts(j: CallJourney) -> Facts:
    """The facts of a computed journey."""
    visits = tuple((v.queue_name or v.queue_exten or "queue", str(v.outcome), v.wait) for v in j.queue_visits)
    last = next((s for s in reversed(j.ivr_path) if s.kind is IvrStepKind.OPTION), None)
    answered_by, voicemail, dial_out = j.answered_by, j.voicemail, j.dial_out
    box = voicemail.box if voicemail is not None else None
    via = answered_via(
        j.answered_at is not None,
        any(v.outcome is QueueOutcome.ANSWERED for v in j.queue_visits),
        any(r.kind is RingKind.RING_GROUP and r.outcome is RingOutcome.ANSWERED for r in j.ring_attempts),
        dial_out is not None,
    )
    sample = sample_kind(
        str(j.outcome), via, picked_up=any(p.picked_up_by for p in j.parks), ivr=bool(j.ivr_path),
        message_left=voicemail is not None and voicemail.message_left, dial_out=dial_out is not None,
        failure=dial_out is not None and dial_out.failure is not None, internal_app=j.internal_app is not None,
    )  # fmt: skip
    return Facts(
        str(j.outcome), j.entry_did, j.answered_at,
        answered_by.number if answered_by else None, answered_by.name if answered_by else None,
        box.number if box else None, box.name if box else None,
        visits, frozenset(str(s.kind) for s in j.ivr_path),
        option_key(last.ivr_name, last.ivr_exten, last.digits) if last is not None else None,
        bool(j.queue_visits or j.ring_attempts or voicemail or j.forward or j.conferences), via, sample,
    )  # fmt: skip
