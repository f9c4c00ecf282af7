"""``call_journey``: the rules that read a call's events into a ``CallJourney``."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import islice
from operator import lt

from .._records.calls import CallDetails, CallDirection
from .._records.event_types import EVENT_TYPES
from .._records.events import Event
from ._draft import Draft
from ._handlers import HANDLERS
from ._records import (
    CallJourney,
    ConferenceRefusal,
    DialOutResult,
    Outcome,
    Party,
    QueueOutcome,
    QueueVisit,
    RoutingKind,
    Voicemail,
)
from ._tables import NAMED_PARTIES, OUTBOUND_MARKS, STEP_ORDER

_MENU_ROUTING = frozenset(
    {RoutingKind.DIRECTORY, RoutingKind.DIRECTORY_INVALID, RoutingKind.DIRECTORY_TIMEOUT, RoutingKind.DIRECTORY_EXIT}
)


def call_journey(details: CallDetails) -> CallJourney:
    """What happened on a call, read from its events alone.

        details = await session.get_call_details(uuid)
        journey = pbx_async.call_journey(details)
        if journey.answered:
            print(journey.answered_by.number, journey.answered_by.name, journey.answered_at, journey.talk_time)

    The summary is used for two things only: ``uuid`` and the start (the
    clock's zero: the earlier of the call's date and its first event). Server
    verdicts such as ``spoke_to_person`` or ``last_event`` are not read.
    Events are taken in time order; within one second (the API's clock) in
    the order a call's steps happen (arrival, routing, menus, something starts
    ringing or waiting, it ends, what follows an answer, voicemail, the hangup:
    ``_tables.STEP_ORDER``), so the journey does not depend on how an export
    ordered events that share a second. The API document names the events but
    not how they combine; these are the rules:

    - Direction: inbound when a "Call in to DID" (1) is present; else outbound
      when a dial-out (37-43), an Outbound API Call (6), a Device Dialing List
      (88) or a fax send (81-84) is present; else internal; None without events.
      ``entry_did`` is the first event 1's DID number.
    - Ringing: "Extension Called" (3) opens a ring attempt for that extension;
      Busy / No Answer / Offline (9 / 10 / 11) or Answer (4) for the same
      extension number closes it, ``ringing`` being the seconds between. A 9-11
      with no 3 before it is an attempt whose ringing time is unknown (None).
      "Attempt Ring Group" (28) opens a group attempt; "Ring Group Answered"
      (29) closes it as answered (by data1, the Extension Answered), "Ring Group
      Timeout" (30) as no answer. Attempts still ringing when the call goes to
      voicemail (25) or meets "Voicemail Disabled" (23) end as no answer, and
      when the call hangs up, as ``ended``.
    - Queues: "Caller Enter Queue" (47) opens a visit; it is closed by an
      Extension Answer (4, answered by that extension), Abandoned (49, with the
      Reason Code as sent), Failover (50), Callback Requested (96), voicemail
      (25), another 47, or the hangup (``ended``). ``wait`` runs from entering to
      that event. Options pushed while waiting (48) and agents who did not pick
      up (98, with their Ring Time) belong to the open visit; a 98 outside any
      queue is a top-level ring attempt of kind ``queue_agent``. A queue event
      with no visit open starts one at that moment. "Queue Callback Deleted" (97)
      marks the latest callback visit.
    - An Extension Answer (4) closes, in this order of preference: the open ring
      attempt of that extension, else the open queue visit, else an open ring
      group attempt.
    - Answered: ``answered_by`` and ``answered_at`` (time to answer) come from the
      first 4 or 29; on a dial-out, "Dial-Out Answered" (89) sets
      ``answered_at`` (the far end is no extension, so ``answered_by`` stays
      None). A name missing from the answering event (29 carries only the
      number) is taken from another event of the call naming that extension.
      ``talk_time`` runs from the answer to the hangup (or the last event).
      A parked call's pickup (58) does not change who answered; see ``parks``.
    - IVR path: every 51-55 in order (menu, option, timeout, invalid option,
      direct dial), the pressed or dialled digits in ``digits``.
      Routing steps: time-based routes (60, 61), toggles (71, 72),
      announcements (77), the directory (67-70) and AnswerCare (90).
    - Voicemail: "Sent to Voicemail" (25) names the box; ``message_left`` when a
      "Voicemail Left" (36) is present anywhere in the call (a 36 with no 25 is a
      voicemail with an unknown box); 26 / 27 set ``exit_key`` "0" / "*".
    - Parking: 56 / 57 park (``parked_by`` is ExtenParked); 58 picks up and 59
      times out the waiting park in that lot and slot (else the latest waiting).
    - Conferences: the events of one bridge (62-66) make one visit until it is
      entered (62 user, 66 admin) or refused (63 full, 65 PIN timeout); 64 adds
      the invalid PIN entered.
    - Dial-out: 37 (domestic) or 43 (international) dials data1; 38-42 are
      failures (40's data1 is the wrong PIN and 42 carries CID Name / CID Number
      in data1 / data2, so neither has a number). ``result`` is answered after an
      89, failed for 38-42, else not answered.
    - Ending: "Hangup (Normal)" (5) or "Hangup (Loop Protection)" (31) gives
      ``ended``, ``ended_at``, ``jitter`` (Total Jitter) and ``packet_loss``
      (Total pLoss) as numbers, None when not numeric.
    - Internal apps: 45/46 queue login, 12/13/32 voicemail check, 14-16 echo
      test, 17-19/33-35 forwarding, 73-76 toggle change, 95 intercom; wake-up
      calls (20-22, 24), paging (44) and 94 are features without an app number.
    - Outcome, the first that applies: answered; voicemail (25 or 36);
      answer_care (90); forwarded (85/86); conference (entered); callback (96);
      abandoned (49); fax (7, 78-84); blocked (2); failed (a dial-out failure,
      "Default-no-Dialplan" 8, "Call Forward Blocked" 87, or a refused
      conference); not_answered (something rang or waited, a dial-out went
      unanswered, or voicemail was disabled); feature (a feature code);
      ivr (the call ended in an IVR menu or the directory); announcement; other.
    - Event ids the table does not list are kept whole in ``unknown_events``.
    """
    call = details.call
    events = in_step_order(details.events)
    origin = call.date
    if events and events[0].date < origin:
        origin = events[0].date
    d = Draft()
    types: set[int] = set()
    at = 0.0
    for e in events:
        t = e.type_id
        at = (e.date - origin).total_seconds()
        types.add(t)
        handler = HANDLERS.get(t)
        if handler is not None:
            handler(d, e, at)
        elif t not in EVENT_TYPES:
            d.unknown.append(e)
    d.last_at = at
    d.close_all(d.ended_at if d.ended_at is not None else d.last_at)
    return _freeze(details, d, types, origin, events)


def _step(event: Event) -> tuple[datetime, int]:
    return event.date, STEP_ORDER.get(event.type_id, 50)


def in_step_order(events: Iterable[Event]) -> list[Event]:
    """Events in time order; within one second, in the order a call's steps happen (as ``call_journey`` reads them)."""
    listed = list(events)
    dates = [e.date for e in listed]
    if all(map(lt, dates, islice(dates, 1, None))):  # each later than the last: no ties, nothing to sort
        return listed
    return sorted(listed, key=_step)


def _direction(types: set[int]) -> CallDirection | None:
    if not types:
        return None
    if 1 in types:
        return CallDirection.INBOUND
    if types & OUTBOUND_MARKS:
        return CallDirection.OUTBOUND
    return CallDirection.INTERNAL


def _outcome(d: Draft, visits: tuple[QueueVisit, ...]) -> Outcome:
    if d.answered_at is not None:
        return Outcome.ANSWERED
    if d.voicemail is not None:
        return Outcome.VOICEMAIL
    queue_outcomes = {v.outcome for v in visits} if visits else set()
    routing = {s.kind for s in d.routing} if d.routing else set()
    if RoutingKind.ANSWER_CARE in routing:
        return Outcome.ANSWER_CARE
    if d.forward is not None and not d.forward.blocked:
        return Outcome.FORWARDED
    if any(c.entered for c in d.conferences):
        return Outcome.CONFERENCE
    if QueueOutcome.CALLBACK in queue_outcomes:
        return Outcome.CALLBACK
    if QueueOutcome.ABANDONED in queue_outcomes:
        return Outcome.ABANDONED
    if d.fax is not None:
        return Outcome.FAX
    if d.blocked:
        return Outcome.BLOCKED
    if (
        (d.dial_out is not None and d.dial_out.result is DialOutResult.FAILED)
        or d.no_dialplan
        or (d.forward is not None and d.forward.blocked)
        or any(isinstance(c.refused, ConferenceRefusal) for c in d.conferences)
    ):
        return Outcome.FAILED
    if d.rings or visits or d.dial_out is not None or d.voicemail_disabled:
        return Outcome.NOT_ANSWERED
    if d.feature is not None:
        return Outcome.FEATURE
    if d.ivr or routing & _MENU_ROUTING:
        return Outcome.IVR
    if RoutingKind.ANNOUNCEMENT in routing:
        return Outcome.ANNOUNCEMENT
    return Outcome.OTHER


def _named(party: Party | None, events: Sequence[Event]) -> Party | None:
    """The party, with its name from another event of the call naming that extension when it has none."""
    if party is None or party.name:
        return party
    for e in events:
        if e.type_id in NAMED_PARTIES and e.data2 == party.number and e.data3:
            return Party(party.number, e.data3, party.endpoint_id)
    return party


def _freeze(details: CallDetails, d: Draft, types: set[int], origin: datetime, events: Sequence[Event]) -> CallJourney:
    visits = (
        tuple(
            QueueVisit(
                q.queue_id,
                q.queue_exten,
                q.queue_name,
                q.entered_at,
                (q.left_at if q.left_at is not None else d.last_at) - q.entered_at,
                q.outcome or QueueOutcome.ENDED,
                q.answered_by,
                q.abandon_reason,
                tuple(q.options),
                tuple(q.agents),
                q.callback_number,
                q.callback_deleted,
            )
            for q in d.queues
        )
        if d.queues
        else ()
    )
    voicemail = None
    if d.voicemail is not None:
        box, at = d.voicemail
        voicemail = Voicemail(box, at, d.message_left, d.voicemail_exit)
    end = d.ended_at if d.ended_at is not None else d.last_at
    talk = None if d.answered_at is None else max(0.0, end - d.answered_at)
    return CallJourney(  # positionally, in field order: measurably faster than 29 keywords, once per call
        details.call.uuid,
        origin,
        _direction(types),
        _outcome(d, visits),
        d.entry_did,
        _named(d.answered_by, events),
        d.answered_at,
        talk,
        tuple(d.ivr) if d.ivr else (),
        visits,
        tuple(r.freeze() for r in d.rings) if d.rings else (),
        voicemail,
        d.voicemail_disabled,
        tuple(d.parks) if d.parks else (),
        tuple(d.conferences) if d.conferences else (),
        d.dial_out,
        d.forward,
        d.fax,
        tuple(d.routing) if d.routing else (),
        tuple(d.supervision) if d.supervision else (),
        d.internal_app,
        d.feature,
        d.blocked,
        d.ended,
        d.ended_at,
        d.jitter,
        d.packet_loss,
        d.last_at,
        tuple(d.unknown) if d.unknown else (),
    )
