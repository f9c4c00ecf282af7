"""Handlers for who rang, waited and picked up: extensions, ring groups, queues, voicemail, the hangup.

Each takes the draft, the event and its time (seconds from the call's start);
the rules are written in ``call_journey``'s docstring.
"""

from __future__ import annotations

from .._records.events import Event, _as_int
from ._draft import Draft, Queue, Ring, to_float
from ._draft import party as party_of
from ._records import EndReason, Party, QueueOutcome, RingAttempt, RingKind, RingOutcome
from ._tables import RING_ENDS


def did(d: Draft, e: Event, at: float) -> None:
    if d.entry_did is None:
        d.entry_did = e.data1


def ext_called(d: Draft, e: Event, at: float) -> None:
    d.rings.append(Ring(RingKind.EXTENSION, e.data2, e.data3, at))


def ext_answer(d: Draft, e: Event, at: float) -> None:
    party = party_of(e)
    ring = d.open_ring(RingKind.EXTENSION, party.number)
    queue = d.open_queue()
    if ring is not None:
        ring.close(at, RingOutcome.ANSWERED, party)
    elif queue is not None:
        queue.close(at, QueueOutcome.ANSWERED)
        queue.answered_by = party
    elif (group := d.open_ring(RingKind.RING_GROUP)) is not None:
        group.close(at, RingOutcome.ANSWERED, party)
    d.answer(at, party)


def ext_ring_end(d: Draft, e: Event, at: float) -> None:
    ring = d.open_ring(RingKind.EXTENSION, e.data2)
    if ring is None:  # the call was not seen ringing: how long it rang is unknown
        ring = Ring(RingKind.EXTENSION, e.data2, e.data3, at)
        d.rings.append(ring)
        ring.close(at, RING_ENDS[e.type_id])
        ring.ended_at = None
        return
    ring.close(at, RING_ENDS[e.type_id])


def ring_group(d: Draft, e: Event, at: float) -> None:
    d.rings.append(Ring(RingKind.RING_GROUP, e.data1, e.data2, at))


def ring_group_answered(d: Draft, e: Event, at: float) -> None:
    party = Party(e.data1)
    group = d.open_ring(RingKind.RING_GROUP)
    if group is not None:
        group.close(at, RingOutcome.ANSWERED, party)
    d.answer(at, party)


def ring_group_timeout(d: Draft, e: Event, at: float) -> None:
    group = d.open_ring(RingKind.RING_GROUP, e.data1) or d.open_ring(RingKind.RING_GROUP)
    if group is not None:
        group.close(at, RingOutcome.NO_ANSWER)


def sent_to_voicemail(d: Draft, e: Event, at: float) -> None:
    for ring in d.rings:
        if ring.outcome is None:
            ring.close(at, RingOutcome.NO_ANSWER)
    queue = d.open_queue()
    if queue is not None:
        queue.close(at, QueueOutcome.ENDED)
    if d.voicemail is None or d.voicemail[0] is None:  # a 36 in the same second may come first
        d.voicemail = (party_of(e), at)


def voicemail_left(d: Draft, e: Event, at: float) -> None:
    d.message_left = True
    if d.voicemail is None:
        d.voicemail = (None, at)


def voicemail_exit(d: Draft, e: Event, at: float) -> None:
    d.voicemail_exit = "0" if e.type_id == 26 else "*"


def hangup(d: Draft, e: Event, at: float) -> None:
    d.close_all(at)
    if d.ended is None:
        d.ended = EndReason.NORMAL if e.type_id == 5 else EndReason.LOOP_PROTECTION
        d.ended_at, d.jitter, d.packet_loss = at, to_float(e.data1), to_float(e.data2)


def enter_queue(d: Draft, e: Event, at: float) -> None:
    previous = d.open_queue()
    if previous is not None:
        previous.close(at, QueueOutcome.ENDED)
    d.queues.append(Queue(e.data1, e.data2, e.data3, at))


def _queue_of(d: Draft, e: Event, at: float) -> Queue:
    """The open visit; a queue event with none open stands for a visit that starts there."""
    queue = d.open_queue()
    if queue is None:
        queue = Queue(e.data1, e.data2, e.data3, at)
        d.queues.append(queue)
    return queue


def queue_option(d: Draft, e: Event, at: float) -> None:
    _queue_of(d, e, at).options.append(e.data4 or "")


def queue_abandoned(d: Draft, e: Event, at: float) -> None:
    queue = _queue_of(d, e, at)
    queue.close(at, QueueOutcome.ABANDONED)
    queue.abandon_reason = e.data4


def queue_failover(d: Draft, e: Event, at: float) -> None:
    _queue_of(d, e, at).close(at, QueueOutcome.FAILOVER)


def queue_callback(d: Draft, e: Event, at: float) -> None:
    queue = _queue_of(d, e, at)
    queue.close(at, QueueOutcome.CALLBACK)
    queue.callback_number = e.data4


def queue_callback_deleted(d: Draft, e: Event, at: float) -> None:
    for queue in reversed(d.queues):
        if queue.outcome is QueueOutcome.CALLBACK:
            queue.callback_deleted = True
            return


def queue_agent_missed(d: Draft, e: Event, at: float) -> None:
    ring_time = _as_int(e.data3)
    started = at - ring_time if ring_time is not None else at
    attempt = RingAttempt(
        RingKind.QUEUE_AGENT, e.data1, e.data2, started, ring_time, RingOutcome.NO_ANSWER
    )  # fmt: skip
    queue = d.open_queue()
    if queue is not None:
        queue.agents.append(attempt)
    else:
        ring = Ring(RingKind.QUEUE_AGENT, e.data1, e.data2, started)
        ring.close(at, RingOutcome.NO_ANSWER)
        d.rings.append(ring)


def blocked(d: Draft, e: Event, at: float) -> None:
    d.blocked = True


def no_dialplan(d: Draft, e: Event, at: float) -> None:
    d.no_dialplan = True


def voicemail_disabled(d: Draft, e: Event, at: float) -> None:
    d.voicemail_disabled = True
    for ring in d.rings:
        if ring.outcome is None:
            ring.close(at, RingOutcome.NO_ANSWER)
