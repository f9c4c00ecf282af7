"""A deterministic, seeded PBX: extensions, DIDs, IVRs, queues, and calls with believable timelines.

Each call is a scenario (an inbound call through an IVR to a queue, an outbound
dial-out that fails, a feature code dialled internally, ...) that emits the
events the provider's table describes, in order, with the data fields filled
the way the table labels them. Weights are chosen so that a 10,000-call
dataset holds every one of the 98 event types, plus a few ids the table does
not list (the provider adds ids over time).
"""

from __future__ import annotations

import random
import uuid as uuid_module
from collections.abc import Callable
from datetime import datetime, timedelta

import attrs

from ._scenario import DialOutTruth, ParkTruth, QueueTruth, RingTruth, Scenario, ScenarioLog

__all__ = ["Generator", "Scenario", "SimCall", "SimEvent"]

FIRST_NAMES = ["Ana", "Ben", "Chloe", "Dev", "Eva", "Femi", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lena"]
LAST_NAMES = ["Reyes", "Okafor", "Schmidt", "Nguyen", "Patel", "Kowalski", "Haddad", "Silva", "Berg"]
COMPANIES = ["ACME CORP", "GLOBEX", "INITECH", "UMBRELLA", "WIRELESS CALLER", "HOOLI", "VANDELAY IND"]
UNKNOWN_EVENT_TYPES = (99, 104, 120)
DID_WEIGHTS = (30, 20, 10, 8, 8, 2, 4, 18)  # the fax line and after-hours numbers ring rarely


def _hex_id(rng: random.Random) -> str:
    return f"{rng.getrandbits(52):013x}"  # EndpointID-style: 63492d1e45d3c


def _phone(rng: random.Random) -> str:
    return f"{rng.choice([312, 415, 646, 702, 813])}{rng.randint(2000000, 9999999)}"


@attrs.frozen
class Extension:
    endpoint_id: str
    number: str
    name: str


@attrs.frozen
class Feature:
    """A routing object (IVR, queue, ring group, ...) with the id/extension/name triple the events carry."""

    id: str
    exten: str
    name: str


@attrs.frozen
class Did:
    number: str
    description: str
    group: str | None
    cid_prefix: str | None


@attrs.frozen
class Pbx:
    """The phone system the calls run through."""

    extensions: tuple[Extension, ...]
    dids: tuple[Did, ...]
    ivrs: tuple[Feature, ...]
    queues: tuple[Feature, ...]
    ring_groups: tuple[Feature, ...]
    lots: tuple[Feature, ...]
    bridges: tuple[Feature, ...]
    directories: tuple[Feature, ...]
    toggles: tuple[Feature, ...]
    routes: tuple[Feature, ...]
    announcements: tuple[Feature, ...]
    page_groups: tuple[Feature, ...]
    fax_users: tuple[Feature, ...]

    @classmethod
    def build(cls, rng: random.Random) -> Pbx:
        names = [f"{f} {la}" for f in FIRST_NAMES for la in LAST_NAMES]
        rng.shuffle(names)

        def features(prefix: str, start: int, labels: list[str]) -> tuple[Feature, ...]:
            return tuple(Feature(_hex_id(rng), str(start + i), f"{prefix} {label}") for i, label in enumerate(labels))

        return cls(
            extensions=tuple(Extension(_hex_id(rng), str(101 + i), names[i]) for i in range(40)),
            dids=tuple(
                Did(
                    f"800555{i:04d}",
                    desc,
                    group,
                    prefix,
                )
                for i, (desc, group, prefix) in enumerate(
                    [
                        ("Main line", "Sales", None),
                        ("Support line", "Support", "SUP: "),
                        ("Billing", "Support", "BILL: "),
                        ("Spring campaign", "Marketing", "SPRING: "),
                        ("Radio ad", "Marketing", "RADIO: "),
                        ("Fax line", None, None),
                        ("After hours", None, None),
                        ("Front desk", "Sales", None),
                    ]
                )
            ),
            ivrs=features("IVR", 8300, ["Main Menu", "Support Menu", "Spanish Menu"]),
            queues=features("Queue", 8400, ["Sales", "Support", "Billing"]),
            ring_groups=features("RG", 8500, ["All Phones", "Front Desk", "Managers"]),
            lots=features("Lot", 8600, ["Lobby", "Warehouse"]),
            bridges=features("Bridge", 8700, ["Team Standup", "Board Room"]),
            directories=features("Directory", 8800, ["Company"]),
            toggles=features("Toggle", 8900, ["Holiday", "Lunch"]),
            routes=features("Route", 9000, ["Business Hours", "Weekend"]),
            announcements=features("Announcement", 9100, ["Closed Notice", "Hold Message"]),
            page_groups=features("Page", 9200, ["Warehouse", "Office"]),
            fax_users=features("Fax", 9300, ["Accounts", "Legal", "Front Office"]),
        )


@attrs.frozen
class SimEvent:
    uuid: str
    at: datetime  # UTC, with microseconds
    type_id: int
    data: tuple[str, str, str, str]


@attrs.define
class SimCall:
    """Ground truth for one call, in UTC; notes, flag and severity change through the notes endpoint."""

    uuid: str
    start: datetime
    direction: int
    cid_name: str | None
    cid_num: str | None
    num_dialed: str | None
    duration: int
    recorded: bool
    did: Did | None
    last_event: str
    went_to_voicemail: bool
    spoke_to_person: bool
    transcription: str | None
    events: tuple[SimEvent, ...]
    scenario: Scenario  # what the scenario decided, for checking readings of the events
    exten: str | None = None  # inbound: who took it; outbound: who dialled
    internal_extens: tuple[str, ...] = ()
    internal_app: int | None = None
    flagged: bool = False
    severity: int = 0
    notes: str | None = None


class _Timeline:
    """Collects a call's events as (seconds from start, type, data) while a scenario runs."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.t = 0.0
        self.items: list[tuple[float, int, tuple[str, str, str, str]]] = []
        self.spoke = self.voicemail = False
        self.exten: str | None = None
        self.ended = "Hangup"
        self.log = ScenarioLog()

    def add(self, type_id: int, *data: str, after: tuple[float, float] = (0.2, 4.0)) -> None:
        self.t += self.rng.uniform(*after)
        fields = (*data, "", "", "", "")[:4]
        self.items.append((self.t, type_id, (fields[0], fields[1], fields[2], fields[3])))

    def talk(self, low: float, high: float) -> None:
        self.spoke = True
        self.t += self.rng.uniform(low, high)

    def hangup(self) -> None:
        loop = self.rng.random() < 0.004
        jitter, loss = f"{self.rng.uniform(0, 30):.2f}", f"{self.rng.uniform(0, 2):.2f}"
        self.add(31 if loop else 5, jitter, loss)
        if loop:
            self.ended = "Hangup (Loop Protection)"
        self.log.ended = "loop_protection" if loop else "normal"
        self.log.jitter, self.log.packet_loss, self.log.hangup_at = float(jitter), float(loss), self.t


def _ext_triple(ext: Extension) -> tuple[str, str, str]:
    return ext.endpoint_id, ext.number, ext.name


def _feat(f: Feature) -> tuple[str, str, str]:
    return f.id, f.exten, f.name


class Generator:
    """Turns a seed into a PBX and a list of calls."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pbx = Pbx.build(self.rng)

    def uuid(self) -> str:
        return str(uuid_module.UUID(int=self.rng.getrandbits(128), version=4))

    def calls(self, count: int, start: datetime, end: datetime) -> list[SimCall]:
        span = (end - start).total_seconds()
        moments = sorted(
            (start + timedelta(seconds=self.rng.uniform(0, span))).replace(microsecond=0) for _ in range(count)
        )
        return [self.call(moment) for moment in moments]

    def call(self, when: datetime) -> SimCall:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return self._inbound(when)
        if roll < 0.85:
            return self._outbound(when)
        return self._internal(when)

    # -- assembling ---------------------------------------------------------------------------

    def _finish(self, tl: _Timeline, when: datetime, **fields: object) -> SimCall:
        rng = self.rng
        if rng.random() < 0.0015:  # an event type newer than the table, just before the hangup
            end = len(tl.items) - 1
            moment = (tl.items[end][0] + (tl.items[end - 1][0] if end else 0.0)) / 2
            data = (_hex_id(rng), "future", "", str(rng.randint(0, 9)))
            kind = rng.choice(UNKNOWN_EVENT_TYPES)
            tl.items.insert(end, (moment, kind, data))
            tl.log.unknown_type_ids.append(kind)
        events = tuple(
            SimEvent(self.uuid(), when + timedelta(seconds=offset), type_id, data) for offset, type_id, data in tl.items
        )
        duration = int(tl.t)
        recorded = tl.spoke and duration > 0 and rng.random() < 0.7
        transcription = None
        if recorded and rng.random() < 0.3:
            transcription = rng.choice(
                ["Hi, I'm calling about my order.", "Can someone call me back?", "Thanks, that fixes it."]
            )
        call = SimCall(
            uuid=self.uuid(),
            start=when,
            duration=duration,
            recorded=recorded,
            last_event=tl.ended,
            went_to_voicemail=tl.voicemail,
            spoke_to_person=tl.spoke,
            transcription=transcription,
            events=events,
            scenario=tl.log.freeze(),
            **fields,  # type: ignore[arg-type]
        )
        if rng.random() < 0.05:
            call.flagged = True
        if rng.random() < 0.08:
            call.severity = rng.randint(1, 5)
        if rng.random() < 0.05:
            call.notes = rng.choice(["Left a message", "Wants a quote", "Escalated", "Wrong number"])
        return call

    # -- inbound --------------------------------------------------------------------------------

    def _inbound(self, when: datetime) -> SimCall:
        rng, pbx = self.rng, self.pbx
        tl = _Timeline(rng)
        did = rng.choices(pbx.dids, weights=DID_WEIGHTS)[0]
        caller = _phone(rng)
        tl.add(1, did.number, after=(0, 0.01))
        tl.log.entry_did = did.number
        if rng.random() < 0.01:
            tl.add(2)
            tl.ended = "Call blocked"
            tl.log.outcome = "blocked"
        elif rng.random() < 0.004:
            tl.add(8)
            tl.ended = "No dialplan"
            tl.log.outcome = "failed"
        elif did.description == "Fax line" or rng.random() < 0.01:
            self._fax_in(tl)
        else:
            self._route_inbound(tl)
        if tl.ended == "Hangup" or not tl.items or tl.items[-1][1] not in (5, 31):
            tl.hangup()
        name = rng.choice([*COMPANIES, f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"])
        return self._finish(
            tl,
            when,
            direction=1,
            cid_name=name,
            cid_num=caller,
            num_dialed=did.number,
            did=did,
            exten=tl.exten,
        )

    def _fax_in(self, tl: _Timeline) -> None:
        rng = self.rng
        user = rng.choice(self.pbx.fax_users)
        tl.add(7)
        tl.add(78, user.id, user.name)
        tl.log.outcome = "fax"
        tl.log.fax_succeeded = rng.random() < 0.8
        if tl.log.fax_succeeded:
            tl.t += rng.uniform(20, 90)
            tl.add(80, user.id, user.name, str(rng.randint(1, 12)))
            tl.ended = "Fax received"
        else:
            tl.add(79, user.id, user.name, str(rng.randint(0, 3)), rng.choice(["NO CARRIER", "T.30 timeout"]))
            tl.ended = "Fax failed"

    def _route_inbound(self, tl: _Timeline) -> None:
        rng, pbx = self.rng, self.pbx
        if rng.random() < 0.3:
            route = rng.choice(pbx.routes)
            tl.add(60 if rng.random() < 0.85 else 61, route.id, route.name)
        if rng.random() < 0.06:
            toggle = rng.choice(pbx.toggles)
            if rng.random() < 0.5:
                tl.add(71, *_feat(toggle))
                ann = rng.choice(pbx.announcements)
                tl.add(77, *_feat(ann))
                if rng.random() < 0.3:
                    tl.add(90, str(rng.randint(10000, 99999)))
                    tl.talk(20, 120)
                    tl.ended = "Transferred to AnswerCare"
                    tl.log.outcome = "answer_care"
                else:
                    tl.ended = "Announcement played"
                    tl.log.outcome = "announcement"
                return
            tl.add(72, *_feat(toggle))
        if rng.random() < 0.45 and not self._ivr(tl):
            return
        target = rng.random()
        if target < 0.3:
            self._queue(tl)
        elif target < 0.5:
            self._ring_group(tl)
        elif target < 0.53:
            self._conference(tl)
        else:
            self._extension(tl, rng.choice(pbx.extensions))

    def _ivr(self, tl: _Timeline) -> bool:
        """IVR menu; False when the call ends inside it."""
        rng = self.rng
        ivr = rng.choice(self.pbx.ivrs)
        tl.add(51, *_feat(ivr))
        tl.log.ivr.append(("menu", None))
        roll = rng.random()
        if roll < 0.7:
            option = rng.choice("1234567890*#")
            tl.add(52, *_feat(ivr), option, after=(3, 12))
            tl.log.ivr.append(("option", option))
            if rng.random() < 0.04:
                self._directory(tl)
                return False
        elif roll < 0.8:
            tl.add(53, *_feat(ivr), after=(8, 15))
            tl.log.ivr.append(("timeout", None))
            if rng.random() < 0.5:
                tl.ended = "IVR timeout"
                tl.log.outcome = "ivr"
                return False
        elif roll < 0.9:
            invalid = str(rng.randint(10, 99))
            tl.add(54, *_feat(ivr), invalid, after=(3, 10))
            option = rng.choice("123")
            tl.add(52, *_feat(ivr), option, after=(3, 10))
            tl.log.ivr.extend([("invalid", invalid), ("option", option)])
        else:
            ext = rng.choice(self.pbx.extensions)
            tl.add(55, *_feat(ivr), ext.number, after=(3, 10))
            tl.log.ivr.append(("direct_dial", ext.number))
            self._extension(tl, ext)
            return False
        return True

    def _directory(self, tl: _Timeline) -> None:
        rng = self.rng
        d = self.pbx.directories[0]
        tl.add(67, *_feat(d))
        roll = rng.random()
        if roll < 0.25:
            tl.add(68, *_feat(d))
        elif roll < 0.45:
            tl.add(69, *_feat(d))
            tl.ended = "Directory timeout"
            tl.log.outcome = "ivr"
            return
        elif roll < 0.6:
            tl.add(70, *_feat(d))
            tl.ended = "Directory exit"
            tl.log.outcome = "ivr"
            return
        self._extension(tl, rng.choice(self.pbx.extensions))

    def _extension(self, tl: _Timeline, ext: Extension) -> None:
        rng = self.rng
        if rng.random() < 0.04:  # forwarded to a cell phone
            fwd = _phone(rng)
            kind = rng.choice([85, 86, 87])
            if kind == 87:
                tl.add(87, fwd)
                tl.ended = "Forward blocked"
                tl.log.outcome = "failed"
                return
            tl.add(kind, fwd, rng.choice(COMPANIES), _phone(rng))
            tl.log.outcome, tl.log.forwarded_to = "forwarded", fwd
            tl.talk(10, 200)
            tl.exten = ext.number
            tl.ended = "Forwarded call ended"
            return
        tl.add(3, *_ext_triple(ext))
        called = tl.t
        outcome = rng.random()
        if outcome < 0.62:
            tl.add(4, *_ext_triple(ext), after=(2, 18))
            tl.log.rings.append(RingTruth("extension", ext.number, "answered", tl.t - called))
            tl.log.answer(ext.number, ext.name, "extension", tl.t)
            tl.exten = ext.number
            self._conversation(tl, ext)
        else:
            kind = rng.choice([9, 10, 10, 10, 11])
            tl.add(kind, *_ext_triple(ext), after=(2, 25))
            ended = {9: "busy", 10: "no_answer", 11: "offline"}[kind]
            tl.log.rings.append(RingTruth("extension", ext.number, ended, tl.t - called))
            self._voicemail(tl, ext)

    def _conversation(self, tl: _Timeline, ext: Extension) -> None:
        rng = self.rng
        tl.talk(5, 400)
        if rng.random() < 0.03:  # a supervisor joins
            sup = rng.choice(self.pbx.extensions)
            tl.add(rng.choice([91, 92, 93]), *_ext_triple(sup))
            tl.talk(5, 60)
        if rng.random() < 0.03:
            lot = rng.choice(self.pbx.lots)
            slot = str(rng.randint(1, 9))
            tl.add(rng.choice([56, 57]), lot.id, lot.name, slot, ext.number)
            if rng.random() < 0.8:
                picker = rng.choice(self.pbx.extensions)
                tl.add(58, lot.id, lot.name, slot, picker.number, after=(5, 90))
                tl.log.park = ParkTruth(lot.name, slot, ext.number, picker.number, timed_out=False)
                tl.exten = picker.number
                tl.talk(5, 120)
            else:
                tl.add(59, lot.id, lot.name, slot, after=(60, 180))
                tl.log.park = ParkTruth(lot.name, slot, ext.number, None, timed_out=True)
                tl.ended = "Parked call timed out"

    def _voicemail(self, tl: _Timeline, ext: Extension) -> None:
        rng = self.rng
        if rng.random() < 0.05:
            tl.add(23)
            tl.ended = "Voicemail disabled"
            tl.log.outcome, tl.log.voicemail_disabled = "not_answered", True
            return
        tl.add(25, *_ext_triple(ext))
        tl.voicemail = True
        tl.exten = ext.number
        tl.log.outcome, tl.log.voicemail_box = "voicemail", ext.number
        roll = rng.random()
        if roll < 0.6:
            tl.add(36, after=(10, 60))
            tl.ended = "Voicemail left"
            tl.log.message_left = True
        elif roll < 0.7:
            tl.add(26)
            tl.ended = "Exited voicemail (0)"
        elif roll < 0.8:
            tl.add(27)
            tl.ended = "Exited voicemail (*)"
        else:
            tl.ended = "Hung up in voicemail"

    def _queue(self, tl: _Timeline) -> None:
        rng = self.rng
        queue = rng.choice(self.pbx.queues)
        q = _feat(queue)
        tl.add(47, *q)
        entered, missed, options = tl.t, 0, []
        if rng.random() < 0.003:  # a marathon hold: over 500 events, so Call Details pages
            for _ in range(rng.randint(260, 700)):
                agent = rng.choice(self.pbx.extensions)
                tl.add(98, agent.number, agent.name, str(rng.randint(10, 30)), after=(0.5, 2))
                options.append(rng.choice("0123456789"))
                tl.add(48, *q, options[-1], after=(0.5, 2))
                missed += 1
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            agent = rng.choice(self.pbx.extensions)
            tl.add(98, agent.number, agent.name, str(rng.randint(10, 30)), after=(10, 30))
            missed += 1
        if rng.random() < 0.1:
            options.append(rng.choice("0123456789*#"))
            tl.add(48, *q, options[-1], after=(5, 60))

        def left(outcome: str, answered_by: str | None = None, reason: str | None = None) -> None:
            visit = QueueTruth(queue.name, tl.t - entered, outcome, answered_by, reason, missed, tuple(options))
            tl.log.queues.append(visit)

        roll = rng.random()
        if roll < 0.05:
            number = _phone(rng)
            tl.add(96, *q, number)
            left("callback")
            if rng.random() < 0.4:
                tl.add(97, *q, number)
            tl.ended = "Callback requested"
            tl.log.outcome = "callback"
        elif roll < 0.2:
            reason = str(rng.choice([1, 2, 3]))
            tl.add(49, *q, reason, after=(10, 200))
            left("abandoned", reason=reason)
            tl.ended = "Abandoned in queue"
            tl.log.outcome = "abandoned"
        elif roll < 0.27:
            tl.add(50, *q, after=(60, 300))
            left("failover")
            self._voicemail(tl, rng.choice(self.pbx.extensions))
        else:
            agent = rng.choice(self.pbx.extensions)
            tl.add(4, *_ext_triple(agent), after=(5, 120))
            left("answered", agent.number)
            tl.log.answer(agent.number, agent.name, "queue", tl.t)
            tl.exten = agent.number
            self._conversation(tl, agent)

    def _ring_group(self, tl: _Timeline) -> None:
        rng = self.rng
        group = rng.choice(self.pbx.ring_groups)
        tl.add(28, group.exten, group.name)
        called = tl.t
        if rng.random() < 0.75:
            agent = rng.choice(self.pbx.extensions)
            tl.add(29, agent.number, f"PJSIP/{agent.number}-{rng.getrandbits(32):08x}", group.name, after=(2, 20))
            tl.log.rings.append(RingTruth("ring_group", group.exten, "answered", tl.t - called))
            tl.log.answer(agent.number, agent.name, "ring_group", tl.t)
            tl.exten = agent.number
            self._conversation(tl, agent)
        else:
            tl.add(30, group.exten, group.name, after=(20, 40))
            tl.log.rings.append(RingTruth("ring_group", group.exten, "no_answer", tl.t - called))
            self._voicemail(tl, rng.choice(self.pbx.extensions))

    def _conference(self, tl: _Timeline) -> None:
        rng = self.rng
        bridge = _feat(rng.choice(self.pbx.bridges))
        roll = rng.random()
        if roll < 0.1:
            tl.add(63, *bridge)
            tl.ended = "Bridge full"
            tl.log.outcome = "failed"
            return
        if roll < 0.25:
            tl.add(64, *bridge, str(rng.randint(1000, 9999)))
            if rng.random() < 0.5:
                tl.add(65, *bridge)
                tl.ended = "PIN entry timeout"
                tl.log.outcome = "failed"
                return
        tl.add(66 if rng.random() < 0.2 else 62, *bridge)
        tl.log.outcome, tl.log.conference = "conference", bridge[2]
        tl.talk(60, 1800)
        tl.ended = "Left conference"

    # -- outbound -------------------------------------------------------------------------------

    def _outbound(self, when: datetime) -> SimCall:
        rng, pbx = self.rng, self.pbx
        tl = _Timeline(rng)
        ext = rng.choice(pbx.extensions)
        number = _phone(rng)
        cid_name, cid_num = "ACME CORP", "8005550000"
        if rng.random() < 0.02:
            tl.add(6, after=(0, 0.01))
        if rng.random() < 0.01:
            parts = [_phone(rng) for _ in range(4)]
            tl.add(88, *parts, after=(0, 0.01))
        roll = rng.random()
        if roll < 0.03:
            self._fax_out(tl, number)
        elif roll < 0.1:
            failure = rng.choice([38, 39, 40, 41, 42])
            reason = {38: "invalid_cid", 39: "international_disabled", 40: "invalid_pin", 41: "concurrent_calls"}
            dialled = number if failure in (38, 39) else None
            tl.log.dial_out = DialOutTruth(dialled, False, "failed", reason.get(failure, "other"))
            tl.log.outcome = "failed"
            if failure == 40:
                tl.add(40, str(rng.randint(1000, 9999)), cid_name, cid_num)
            elif failure == 41:
                tl.add(41)
            elif failure == 42:
                tl.add(42, cid_name, cid_num)
            else:
                tl.add(failure, number, cid_name, cid_num)
            tl.ended = "Dial-out failed"
        else:
            international = rng.random() < 0.05
            if international:
                number = "011" + number
            tl.add(43 if international else 37, number, cid_name, cid_num)
            if rng.random() < 0.75:
                tl.add(89, after=(3, 25))
                tl.log.dial_out = DialOutTruth(number, international, "answered")
                tl.log.answer(None, None, "dial_out", tl.t)
                tl.talk(5, 600)
            else:
                tl.t += rng.uniform(10, 40)
                tl.ended = "No answer"
                tl.log.dial_out = DialOutTruth(number, international, "not_answered")
                tl.log.outcome = "not_answered"
        if rng.random() < 0.004:
            room = str(rng.randint(100, 450))
            tl.add(24, rng.choice(["Snoozed", "Cancelled"]), after=(1, 5))
            number = room
        tl.hangup()
        return self._finish(
            tl,
            when,
            direction=2,
            cid_name=ext.name,
            cid_num=ext.number,
            num_dialed=number,
            did=None,
            exten=ext.number,
        )

    def _fax_out(self, tl: _Timeline, number: str) -> None:
        rng = self.rng
        user = rng.choice(self.pbx.fax_users)
        tl.add(81, user.id, user.name, number)
        roll = rng.random()
        tl.log.outcome, tl.log.fax_succeeded = "fax", roll >= 0.3
        if roll < 0.15:
            tl.add(82, user.id, user.name)
            tl.ended = "Fax send failed"
        elif roll < 0.3:
            tl.add(83, user.id, user.name, rng.choice(["BUSY", "NO ANSWER", "T.30 error"]))
            tl.ended = "Fax send failed"
        else:
            tl.t += rng.uniform(20, 120)
            tl.add(84, user.id, user.name, str(rng.randint(1, 20)))
            tl.ended = "Fax sent"

    # -- internal -------------------------------------------------------------------------------

    def _internal(self, when: datetime) -> SimCall:
        rng, pbx = self.rng, self.pbx
        tl = _Timeline(rng)
        caller = rng.choice(pbx.extensions)
        extens = [caller.number]
        dialed: str
        app: int | None = None
        roll = rng.random()
        features: list[tuple[float, Callable[[], tuple[str, int | None]]]] = [
            (0.08, lambda: self._queue_login(tl, caller)),
            (0.18, lambda: self._voicemail_check(tl, caller)),
            (0.22, lambda: self._echo(tl)),
            (0.3, lambda: self._forwarding(tl, caller)),
            (0.36, lambda: self._toggle_change(tl)),
            (0.42, lambda: self._intercom(tl, extens)),
            (0.46, lambda: self._wakeup(tl)),
            (0.5, lambda: self._page(tl, caller)),
            (0.52, lambda: self._no_parked_call(tl)),
        ]
        for threshold, run in features:
            if roll < threshold:
                dialed, app = run()
                tl.log.outcome, tl.log.internal_app = "feature", app
                break
        else:
            callee = rng.choice([e for e in pbx.extensions if e is not caller])
            extens.append(callee.number)
            dialed = callee.number
            if rng.random() < 0.03:
                self._conference(tl)
            else:
                self._extension(tl, callee)
        tl.hangup()
        return self._finish(
            tl,
            when,
            direction=3,
            cid_name=caller.name,
            cid_num=caller.number,
            num_dialed=dialed,
            did=None,
            exten=caller.number,
            internal_extens=tuple(extens),
            internal_app=app,
        )

    def _queue_login(self, tl: _Timeline, caller: Extension) -> tuple[str, int | None]:
        queue = self.rng.choice(self.pbx.queues)
        tl.add(45 if self.rng.random() < 0.5 else 46, *_feat(queue), caller.number)
        tl.ended = "Queue login/logout"
        return "*45", 1

    def _voicemail_check(self, tl: _Timeline, caller: Extension) -> tuple[str, int | None]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            tl.add(12)
            code = "*97"
        elif roll < 0.85:
            tl.add(13, *_ext_triple(rng.choice(self.pbx.extensions)))
            code = "*98"
        else:
            tl.add(32)
            code = "*98"
        tl.talk(10, 90)
        tl.ended = "Voicemail checked"
        return code, 2

    def _echo(self, tl: _Timeline) -> tuple[str, int | None]:
        rng = self.rng
        roll = rng.random()
        tl.add(14 if roll < 0.8 else 15 if roll < 0.9 else 16)
        tl.t += rng.uniform(5, 30)
        tl.ended = "Echo test"
        return "*43", 3

    def _forwarding(self, tl: _Timeline, caller: Extension) -> tuple[str, int | None]:
        rng = self.rng
        if rng.random() < 0.4:
            tl.add(33 if rng.random() < 0.5 else 34, caller.number)
            tl.ended = "Forwarding toggled"
            return "*63", 4
        tl.add(17)
        roll = rng.random()
        fwd = _phone(rng)
        if roll < 0.4:
            tl.add(18, fwd)
        elif roll < 0.7:
            tl.add(19)
        else:
            tl.add(35, fwd)
        tl.ended = "Forwarding menu"
        return "*62", 4

    def _toggle_change(self, tl: _Timeline) -> tuple[str, int | None]:
        rng = self.rng
        toggle = _feat(rng.choice(self.pbx.toggles))
        roll = rng.random()
        if roll < 0.15:
            tl.add(75, *toggle, str(rng.randint(100, 999)))
        elif roll < 0.25:
            tl.add(76, *toggle)
        else:
            tl.add(73 if rng.random() < 0.5 else 74, *toggle)
        tl.ended = "Toggle change"
        return "*49", 5

    def _intercom(self, tl: _Timeline, extens: list[str]) -> tuple[str, int | None]:
        target = self.rng.choice(self.pbx.extensions)
        extens.append(target.number)
        tl.add(95, *_ext_triple(target))
        tl.talk(3, 40)
        tl.ended = "Intercom"
        return "*80" + target.number, 6

    def _wakeup(self, tl: _Timeline) -> tuple[str, int | None]:
        rng = self.rng
        room = str(rng.randint(100, 450))
        roll = rng.random()
        if roll < 0.5:
            tl.add(20, room, f"{rng.randint(5, 9):02d}:{rng.choice(['00', '15', '30'])}")
        elif roll < 0.8:
            tl.add(21, room)
        else:
            tl.add(22)
        tl.ended = "Wake-up call menu"
        return "*55", None

    def _page(self, tl: _Timeline, caller: Extension) -> tuple[str, int | None]:
        group = self.rng.choice(self.pbx.page_groups)
        tl.add(44, group.exten, group.name, caller.number)
        tl.t += self.rng.uniform(3, 20)
        tl.ended = "Page"
        return group.exten, None

    def _no_parked_call(self, tl: _Timeline) -> tuple[str, int | None]:
        lot = self.rng.choice(self.pbx.lots)
        slot = str(self.rng.randint(1, 9))
        tl.add(94, lot.id, lot.name, slot, slot)
        tl.ended = "No call parked"
        return lot.exten, None
