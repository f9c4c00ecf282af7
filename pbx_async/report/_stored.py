"""Journeys an export stored, read back as the report's ``Facts``: a SQLite ``journeys`` row, or a JSON lines one.

The rows are ``journey_row``'s; the report reads few of their fields, so the
list-shaped ones are decoded into small structs of just those fields
(msgspec skips the rest), and only when they are not empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec

from .._journey import IvrStepKind, QueueOutcome, RingKind, RingOutcome
from ._facts import Facts, answered_via, option_key, sample_kind

# The SQLite row's columns that ``stored_facts`` reads, in this order.
STORED_COLUMNS = (
    "outcome", "entry_did", "answered_at", "answered_by_number", "answered_by_name", "dial_out_result",
    "dial_out_failure", "internal_app", "queue_visits", "ivr_path", "ring_attempts", "voicemail", "parks",
    "conferences", "forward",
)  # fmt: skip


class _Visit(msgspec.Struct):
    queue_exten: str | None
    queue_name: str | None
    outcome: str
    wait: float


class _Step(msgspec.Struct):
    kind: str
    ivr_exten: str | None
    ivr_name: str | None
    digits: str | None


class _Ring(msgspec.Struct):
    kind: str
    outcome: str


class _Box(msgspec.Struct):
    number: str | None
    name: str | None


class _Voicemail(msgspec.Struct):
    box: _Box | None
    message_left: bool


class _Park(msgspec.Struct):
    picked_up_by: str | None


class JsonlJourney(msgspec.Struct):
    """A line of ``OUT-journeys.jsonl``: the fields the report reads, lists as objects."""

    call_uuid: str
    outcome: str
    entry_did: str | None
    answered_at: float | None
    answered_by_number: str | None
    answered_by_name: str | None
    dial_out_result: str | None
    dial_out_failure: str | None
    internal_app: int | None
    queue_visits: list[_Visit]
    ivr_path: list[_Step]
    ring_attempts: list[_Ring]
    voicemail: _Voicemail | None
    parks: list[_Park]
    conferences: list[Any]
    forward: Any


_visits = msgspec.json.Decoder(list[_Visit]).decode
_steps = msgspec.json.Decoder(list[_Step]).decode
_rings = msgspec.json.Decoder(list[_Ring]).decode
_voicemail = msgspec.json.Decoder(_Voicemail | None).decode
_parks = msgspec.json.Decoder(list[_Park]).decode
jsonl_journey = msgspec.json.Decoder(JsonlJourney).decode
_NO_KINDS: frozenset[str] = frozenset()


def _facts(
    row: Sequence[Any], visits: Sequence[_Visit], steps: Sequence[_Step], rings: Sequence[_Ring] | None,
    voicemail: _Voicemail | None, parks: Sequence[_Park], *, rang: bool, reached: bool,
) -> Facts:  # fmt: skip
    """``Facts`` of the first eight ``STORED_COLUMNS`` and the decoded lists (``rings`` None: not decoded)."""
    outcome, entry_did, answered_at, by_number, by_name, dial_out_result, dial_out_failure, internal_app = row[:8]
    queue = tuple((v.queue_name or v.queue_exten or "queue", v.outcome, v.wait) for v in visits) if visits else ()
    kinds, option = _NO_KINDS, None
    if steps:
        kinds = frozenset(s.kind for s in steps)
        last = next((s for s in reversed(steps) if s.kind == IvrStepKind.OPTION), None)
        option = option_key(last.ivr_name, last.ivr_exten, last.digits) if last is not None else None
    via = None
    if answered_at is not None:
        if rings is None:
            rings = _rings(row[10]) if rang else ()
        via = answered_via(
            True,
            any(v.outcome == QueueOutcome.ANSWERED for v in visits),
            any(r.kind == RingKind.RING_GROUP and r.outcome == RingOutcome.ANSWERED for r in rings),
            dial_out_result is not None,
        )
    box = voicemail.box if voicemail is not None else None
    sample = sample_kind(
        outcome, via, picked_up=any(p.picked_up_by for p in parks), ivr=bool(steps),
        message_left=voicemail is not None and voicemail.message_left, dial_out=dial_out_result is not None,
        failure=dial_out_failure is not None, internal_app=internal_app is not None,
    )  # fmt: skip
    return Facts(
        outcome, entry_did, None if answered_at is None else float(answered_at), by_number, by_name,
        box.number if box else None, box.name if box else None, queue, kinds, option,
        bool(visits or rang or reached or voicemail is not None), via, sample,
    )  # fmt: skip


def stored_facts(row: Sequence[Any]) -> Facts:
    """The facts of a SQLite ``journeys`` row (``STORED_COLUMNS``: lists as JSON text, written by ``journey_row``)."""
    queue, ivr, rings, voicemail, parks, conferences, forward = row[8:]
    return _facts(
        row, () if queue == "[]" else _visits(queue), () if ivr == "[]" else _steps(ivr), None,
        None if voicemail == "null" else _voicemail(voicemail), () if parks == "[]" else _parks(parks),
        rang=rings != "[]", reached=forward != "null" or conferences != "[]",
    )  # fmt: skip


def jsonl_facts(j: JsonlJourney) -> Facts:
    """The facts of a line of ``OUT-journeys.jsonl``."""
    row = (j.outcome, j.entry_did, j.answered_at, j.answered_by_number, j.answered_by_name, j.dial_out_result,
           j.dial_out_failure, j.internal_app)  # fmt: skip
    return _facts(
        row, j.queue_visits, j.ivr_path, j.ring_attempts, j.voicemail, j.parks, rang=bool(j.ring_attempts),
        reached=j.forward is not None or bool(j.conferences),
    )  # fmt: skip
