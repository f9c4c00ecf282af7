"""Handlers for the rest of a call: IVR and routing, parking, conferences, dial-outs, forwards, faxes, features.

Each takes the draft, the event and its time (seconds from the call's start);
the rules are written in ``call_journey``'s docstring.
"""

from __future__ import annotations

import attrs

from .._records.events import Event, _as_int
from ._draft import Draft, party
from ._records import (
    ConferenceRefusal,
    ConferenceVisit,
    DialOut,
    DialOutResult,
    Fax,
    Forward,
    IvrStep,
    Park,
    RoutingStep,
    Supervision,
)
from ._tables import DIAL_OUT_FAILURES, INTERNAL_APPS, IVR_KINDS, ROUTING_KINDS, SUPERVISION


def ivr(d: Draft, e: Event, at: float) -> None:
    d.ivr.append(IvrStep(at, IVR_KINDS[e.type_id], e.data1, e.data2, e.data3, e.data4 if e.type_id != 51 else None))


def routing(d: Draft, e: Event, at: float) -> None:
    kind = ROUTING_KINDS[e.type_id]
    if e.type_id in (60, 61):  # RouteID, Route Name: no extension
        step = RoutingStep(at, kind, e.data1, None, e.data2)
    elif e.type_id == 90:  # AccountID only
        step = RoutingStep(at, kind, e.data1, None, None)
    else:
        step = RoutingStep(at, kind, e.data1, e.data2, e.data3)
    d.routing.append(step)


def park(d: Draft, e: Event, at: float) -> None:
    d.parks.append(Park(e.data1, e.data2, e.data3, e.data4, e.type_id == 57, at))


def _find_park(d: Draft, e: Event) -> int | None:
    """The waiting park in this lot and slot, else the latest waiting one."""
    waiting = [i for i, p in enumerate(d.parks) if p.picked_up_by is None and not p.timed_out]
    same = [i for i in waiting if (d.parks[i].lot_id, d.parks[i].slot) == (e.data1, e.data3)]
    found = same or waiting
    return found[-1] if found else None


def park_pickup(d: Draft, e: Event, at: float) -> None:
    i = _find_park(d, e)
    if i is not None:
        d.parks[i] = attrs.evolve(d.parks[i], picked_up_by=e.data4, picked_up_at=at)


def park_timeout(d: Draft, e: Event, at: float) -> None:
    i = _find_park(d, e)
    if i is not None:
        d.parks[i] = attrs.evolve(d.parks[i], timed_out=True)


def conference(d: Draft, e: Event, at: float) -> None:
    t = e.type_id
    i: int | None = None
    for n, visit in enumerate(d.conferences):
        if visit.bridge_id == e.data1 and not visit.entered and visit.refused is None:
            i = n  # the latest undecided visit of this bridge
    if i is None:  # a first event for this bridge: a visit starts
        d.conferences.append(ConferenceVisit(e.data1, e.data2, e.data3, at, entered=False))
        i = len(d.conferences) - 1
    visit = d.conferences[i]
    if t in (62, 66):
        visit = attrs.evolve(visit, entered=True, admin=t == 66)
    elif t == 63:
        visit = attrs.evolve(visit, refused=ConferenceRefusal.FULL)
    elif t == 65:
        visit = attrs.evolve(visit, refused=ConferenceRefusal.PIN_TIMEOUT)
    else:
        visit = attrs.evolve(visit, invalid_pins=(*visit.invalid_pins, e.data4 or ""))
    d.conferences[i] = visit


def dial_out(d: Draft, e: Event, at: float) -> None:
    t = e.type_id
    failure = DIAL_OUT_FAILURES.get(t)
    if t == 42:  # CID Name, CID Number in data1, data2 (the table's reading; no number)
        number, cid_name, cid_number = None, e.data1, e.data2
    elif t == 40:  # data1 is the wrong PIN, not a number
        number, cid_name, cid_number = None, e.data2, e.data3
    elif t == 41:
        number = cid_name = cid_number = None
    else:
        number, cid_name, cid_number = e.data1, e.data2, e.data3
    result = DialOutResult.FAILED if failure else DialOutResult.NOT_ANSWERED
    d.dial_out = DialOut(number, cid_name, cid_number, at, t == 43, result, failure)


def dial_out_answered(d: Draft, e: Event, at: float) -> None:
    if d.dial_out is not None and d.dial_out.result is DialOutResult.NOT_ANSWERED:
        d.dial_out = attrs.evolve(d.dial_out, result=DialOutResult.ANSWERED, answered_at=at)
    if d.answered_at is None:  # the far end is no extension: a time, no party
        d.answered_at = at


def forward(d: Draft, e: Event, at: float) -> None:
    if e.type_id == 87:
        d.forward = Forward(e.data1, None, None, at, origin_cid=False, blocked=True)
    else:
        d.forward = Forward(e.data1, e.data2, e.data3, at, origin_cid=e.type_id == 86)


def fax(d: Draft, e: Event, at: float) -> None:
    t = e.type_id
    fax = d.fax or Fax(inbound=t in (7, 78, 79, 80), user_id=None, user_name=None, number=None, succeeded=None)
    if t != 7:
        fax = attrs.evolve(fax, user_id=e.data1, user_name=e.data2)
    if t == 81:
        fax = attrs.evolve(fax, number=e.data3)
    elif t in (80, 84):
        fax = attrs.evolve(fax, succeeded=True, pages=_as_int(e.data3))
    elif t == 79:
        fax = attrs.evolve(fax, succeeded=False, pages=_as_int(e.data3), status=e.data4)
    elif t == 83:
        fax = attrs.evolve(fax, succeeded=False, status=e.data3)
    elif t == 82:
        fax = attrs.evolve(fax, succeeded=False)
    d.fax = fax


def supervise(d: Draft, e: Event, at: float) -> None:
    d.supervision.append(Supervision(at, SUPERVISION[e.type_id], party(e)))


def feature(d: Draft, e: Event, at: float) -> None:
    if d.feature is None:
        d.feature = e.PURPOSE
    app = INTERNAL_APPS.get(e.type_id)
    if app is not None and d.internal_app is None:
        d.internal_app = app
