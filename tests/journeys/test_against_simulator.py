"""Every journey of the simulator's 10,000-call dataset agrees with what the simulator decided for that call.

The simulator writes its decisions down while it makes each call's events
(``sim.truth_scenario``); the journey reads only the events. Event times come
to the second, so times agree within one second.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs
import pytest

from pbx_async import CallJourney, call_journey
from pbx_async.testing import Simulator
from pbx_async.testing._scenario import Scenario

CLOCK = 1.0  # the API's event times are whole seconds


def _near(a: float | None, b: float | None) -> bool:
    return (a is None) == (b is None) and (a is None or b is None or abs(a - b) < CLOCK)


def disagreements(j: CallJourney, t: Scenario, direction: int) -> list[str]:
    """Every way the journey and the scenario differ, as readable lines."""
    out: list[str] = []

    def check(name: str, ok: bool, got: Any, want: Any) -> None:
        if not ok:
            out.append(f"{name}: journey {got!r}, simulator {want!r}")

    def same(name: str, got: Any, want: Any) -> None:
        check(name, got == want, got, want)

    same("direction", int(j.direction or 0), direction)
    same("outcome", str(j.outcome), t.outcome)
    same("entry_did", j.entry_did, t.entry_did)
    by = j.answered_by
    if t.answered_via == "dial_out":
        same("answered_by", by, None)
    else:
        same("answered_by", by.number if by else None, t.answered_by)
        name = by.name if by else None
        if t.answered_via == "ring_group":  # 29 carries no name: known only if another event names the extension
            check("answered_by_name", name in (None, t.answered_by_name), name, t.answered_by_name)
        else:
            same("answered_by_name", name, t.answered_by_name)
    check("answered_at", _near(j.answered_at, t.answered_at), j.answered_at, t.answered_at)
    check("talk_time", _near(j.talk_time, t.talk_time), j.talk_time, t.talk_time)
    same("queues", len(j.queue_visits), len(t.queue_visits))
    for v, tv in zip(j.queue_visits, t.queue_visits, strict=False):
        same("queue name", v.queue_name, tv.name)
        same("queue outcome", str(v.outcome), tv.outcome)
        check("queue wait", _near(v.wait, tv.wait), v.wait, tv.wait)
        same("queue answered_by", v.answered_by.number if v.answered_by else None, tv.answered_by)
        same("abandon reason", v.abandon_reason, tv.abandon_reason)
        same("agents not answering", len(v.agents_not_answering), tv.agents_not_answering)
        same("queue options", v.options_pressed, tv.options_pressed)
    rings = [r for r in j.ring_attempts if r.kind in ("extension", "ring_group")]
    same(
        "rings",
        [(str(r.kind), r.number, str(r.outcome)) for r in rings],
        [(r.kind, r.number, r.outcome) for r in t.rings],
    )
    for r, tr in zip(rings, t.rings, strict=False):
        check("ringing", _near(r.ringing, tr.ringing), r.ringing, tr.ringing)
    same("ivr", [(str(s.kind), s.digits) for s in j.ivr_path], list(t.ivr))
    vm = j.voicemail
    same("voicemail box", vm.box.number if vm and vm.box else None, t.voicemail_box)
    same("message left", bool(vm and vm.message_left), t.message_left)
    same("voicemail disabled", j.voicemail_disabled, t.voicemail_disabled)
    parks = [(p.lot_name, p.slot, p.parked_by, p.picked_up_by, p.timed_out) for p in j.parks]
    tp = t.park
    same("parks", parks, [(tp.lot, tp.slot, tp.parked_by, tp.picked_up_by, tp.timed_out)] if tp else [])
    same("conference", [c.bridge_name for c in j.conferences if c.entered], [t.conference] if t.conference else [])
    d, td = j.dial_out, t.dial_out
    same(
        "dial_out",
        (d.number, d.international, str(d.result), d.failure and str(d.failure)) if d else None,
        (td.number, td.international, td.result, td.failure) if td else None,
    )
    same("forwarded to", j.forward.number if j.forward and not j.forward.blocked else None, t.forwarded_to)
    same("fax succeeded", j.fax.succeeded if j.fax else None, t.fax_succeeded)
    same("internal app", int(j.internal_app) if j.internal_app else None, t.internal_app)
    same("ended", str(j.ended), t.ended)
    same("jitter, packet loss", (j.jitter, j.packet_loss), (t.jitter, t.packet_loss))
    same("unknown ids", [e.type_id for e in j.unknown_events], list(t.unknown_type_ids))
    return out


@pytest.fixture(scope="module")
def sim() -> Simulator:
    return Simulator(calls=10_000, days=7, seed=0)


def test_every_journey_of_10000_calls_agrees_with_the_simulator(sim: Simulator) -> None:
    wrong: dict[str, list[str]] = {}
    outcomes: Counter[str] = Counter()
    for uuid in sim.uuids():
        journey = call_journey(sim.truth_details(uuid))
        outcomes[str(journey.outcome)] += 1
        problems = disagreements(journey, sim.truth_scenario(uuid), sim.sim_call(uuid).direction)
        if problems:
            wrong[uuid] = problems
    assert len(sim) == 10_000
    assert not wrong, f"{len(wrong)} journeys disagree, e.g. {next(iter(wrong.items()))}"
    # the comparison covered every kind of ending the simulator makes
    assert set(outcomes) == {
        "answered", "voicemail", "answer_care", "forwarded", "conference", "callback", "abandoned", "fax",
        "blocked", "failed", "not_answered", "feature", "ivr", "announcement",
    }  # fmt: skip


def test_the_comparison_notices_a_wrong_reading(sim: Simulator) -> None:
    uuid = next(u for u in sim.uuids() if sim.truth_scenario(u).queue_visits)
    journey = call_journey(sim.truth_details(uuid))
    truth = sim.truth_scenario(uuid)
    direction = sim.sim_call(uuid).direction
    assert disagreements(journey, truth, direction) == []
    late = attrs.evolve(
        journey, queue_visits=(attrs.evolve(journey.queue_visits[0], wait=journey.queue_visits[0].wait + 2),)
    )
    assert any(p.startswith("queue wait") for p in disagreements(late, truth, direction))
    assert disagreements(attrs.evolve(journey, outcome="voicemail"), truth, direction)
