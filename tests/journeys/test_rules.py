"""Journey rules on handcrafted timelines, one per kind of call the simulator makes (and the API's odd cases)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from pbx_async import CallDetails, CallDirection, CallSummary, InternalApp, call_journey, event_class
from pbx_async._journey import (
    JOURNEY_COLUMNS,
    ConferenceRefusal,
    DialOutFailure,
    DialOutResult,
    EndReason,
    IvrStepKind,
    Outcome,
    Park,
    Party,
    QueueOutcome,
    RingKind,
    RingOutcome,
    RoutingKind,
    journey_row,
)

START = datetime(2026, 11, 2, 9, 0, 0, tzinfo=UTC)
ANA = ("63492d1e45d3c", "101", "Ana Reyes")
BEN = ("7aaf01fb797fa", "102", "Ben Okafor")
SALES_QUEUE = ("q1", "8400", "Queue Sales")
MAIN_MENU = ("ivr1", "8300", "IVR Main Menu")
HANGUP = (5, "3.20", "0.10")


def timeline(*steps: tuple[float | int | str, ...], direction: int = 1) -> CallDetails:
    """A call starting at START whose events are (seconds, type id, data1, data2, ...)."""
    events = []
    for i, (at, type_id, *data) in enumerate(steps):
        fields = [str(d) or None for d in data] + [None] * (4 - len(data))
        events.append(
            event_class(int(type_id))(
                uuid=f"event-{i}",
                date=START + timedelta(seconds=float(at)),
                type_id=int(type_id),
                data1=fields[0],
                data2=fields[1],
                data3=fields[2],
                data4=fields[3],
            )
        )
    return CallDetails(CallSummary("call-1", START, CallDirection(direction)), tuple(events))


def test_answered_directly() -> None:
    j = call_journey(timeline((0, 1, "8005550000"), (1, 3, *ANA), (9, 4, *ANA), (129, *HANGUP)))
    assert (j.direction, j.outcome, j.entry_did) == (CallDirection.INBOUND, Outcome.ANSWERED, "8005550000")
    assert j.answered_by == Party("101", "Ana Reyes", "63492d1e45d3c")
    assert (j.answered_at, j.talk_time) == (9.0, 120.0)
    [ring] = j.ring_attempts
    assert (ring.kind, ring.number, ring.ringing, ring.outcome) == (
        RingKind.EXTENSION,
        "101",
        8.0,
        RingOutcome.ANSWERED,
    )
    assert (j.ended, j.jitter, j.packet_loss, j.ended_at) == (EndReason.NORMAL, 3.2, 0.1, 129.0)


def test_ring_group_answered_takes_the_name_from_another_event_of_the_call() -> None:
    j = call_journey(
        timeline(
            (0, 1, "8005550001"),
            (2, 28, "8500", "RG All Phones"),
            (14, 29, "102", "PJSIP/102-0000001a", "RG All Phones"),
            (200, 92, *BEN),  # Ben whispers later: his name is known from here
            (300, *HANGUP),
        )
    )
    assert j.outcome is Outcome.ANSWERED
    assert j.answered_by == Party("102", "Ben Okafor")
    [ring] = j.ring_attempts
    assert (ring.kind, ring.number, ring.name, ring.ringing) == (RingKind.RING_GROUP, "8500", "RG All Phones", 12.0)
    assert ring.answered_by == Party("102")
    assert [s.kind for s in j.supervision] == ["whisper"]


def test_ring_group_timeout_then_voicemail_with_a_message() -> None:
    j = call_journey(
        timeline(
            (0, 1, "8005550001"),
            (1, 28, "8500", "RG All Phones"),
            (31, 30, "8500", "RG All Phones"),
            (32, 25, *ANA),
            (70, 36),
            (71, *HANGUP),
        )
    )
    assert j.outcome is Outcome.VOICEMAIL and not j.answered
    assert (j.ring_attempts[0].outcome, j.ring_attempts[0].ringing) == (RingOutcome.NO_ANSWER, 30.0)
    assert j.voicemail is not None
    assert (j.voicemail.box, j.voicemail.message_left, j.voicemail.at) == (
        Party("101", "Ana Reyes", ANA[0]),
        True,
        32.0,
    )


def test_busy_extension_then_voicemail_without_a_message() -> None:
    j = call_journey(timeline((0, 1, "8005550000"), (1, 3, *ANA), (6, 9, *ANA), (7, 25, *ANA), (9, 26), (10, *HANGUP)))
    assert j.outcome is Outcome.VOICEMAIL
    assert j.ring_attempts[0].outcome is RingOutcome.BUSY
    assert j.voicemail is not None and not j.voicemail.message_left and j.voicemail.exit_key == "0"


def test_queue_answered_with_agents_who_did_not_pick_up() -> None:
    j = call_journey(
        timeline(
            (0, 1, "8005550000"),
            (1, 47, *SALES_QUEUE),
            (20, 98, "103", "Chloe Schmidt", "15"),
            (35, 48, *SALES_QUEUE, "5"),
            (61, 4, *BEN),
            (400, *HANGUP),
        )
    )
    assert (j.outcome, j.answered_by, j.answered_at, j.talk_time) == (
        Outcome.ANSWERED,
        Party("102", "Ben Okafor", BEN[0]),
        61.0,
        339.0,
    )
    [visit] = j.queue_visits
    assert (visit.queue_name, visit.outcome, visit.wait, visit.entered_at) == (
        "Queue Sales",
        QueueOutcome.ANSWERED,
        60.0,
        1.0,
    )
    assert visit.answered_by == j.answered_by and visit.options_pressed == ("5",)
    [missed] = visit.agents_not_answering
    assert (missed.kind, missed.number, missed.ringing, missed.outcome) == (
        RingKind.QUEUE_AGENT,
        "103",
        15,
        RingOutcome.NO_ANSWER,
    )
    assert j.ring_attempts == ()


def test_queue_abandoned_keeps_the_reason_code() -> None:
    j = call_journey(timeline((0, 1, "8005550002"), (2, 47, *SALES_QUEUE), (95, 49, *SALES_QUEUE, "2"), (96, *HANGUP)))
    assert j.outcome is Outcome.ABANDONED and not j.answered
    [visit] = j.queue_visits
    assert (visit.outcome, visit.wait, visit.abandon_reason) == (QueueOutcome.ABANDONED, 93.0, "2")


def test_queue_failover_to_voicemail_and_callback() -> None:
    failover = call_journey(
        timeline((0, 1, "8005550002"), (2, 47, *SALES_QUEUE), (200, 50, *SALES_QUEUE), (201, 25, *ANA), (230, *HANGUP))
    )
    assert failover.outcome is Outcome.VOICEMAIL
    assert (failover.queue_visits[0].outcome, failover.queue_visits[0].wait) == (QueueOutcome.FAILOVER, 198.0)
    callback = call_journey(
        timeline(
            (0, 1, "8005550002"),
            (2, 47, *SALES_QUEUE),
            (40, 96, *SALES_QUEUE, "3125550101"),
            (41, 97, *SALES_QUEUE, "3125550101"),
            (42, *HANGUP),
        )
    )
    assert callback.outcome is Outcome.CALLBACK
    visit = callback.queue_visits[0]
    assert (visit.outcome, visit.callback_number, visit.callback_deleted) == (QueueOutcome.CALLBACK, "3125550101", True)


def test_ivr_then_option_then_queue() -> None:
    j = call_journey(
        timeline(
            (0, 1, "8005550001"),
            (0, 60, "r1", "Route Business Hours"),
            (1, 51, *MAIN_MENU),
            (6, 54, *MAIN_MENU, "42"),
            (11, 52, *MAIN_MENU, "2"),
            (12, 47, *SALES_QUEUE),
            (50, 4, *ANA),
            (90, *HANGUP),
        )
    )
    assert [(s.kind, s.digits, s.ivr_name) for s in j.ivr_path] == [
        (IvrStepKind.MENU, None, "IVR Main Menu"),
        (IvrStepKind.INVALID, "42", "IVR Main Menu"),
        (IvrStepKind.OPTION, "2", "IVR Main Menu"),
    ]
    assert [(r.kind, r.name) for r in j.routing] == [(RoutingKind.TIME_ROUTE, "Route Business Hours")]
    assert (j.outcome, j.queue_visits[0].wait, j.answered_at) == (Outcome.ANSWERED, 38.0, 50.0)


def test_ivr_timeout_ends_in_the_menu_and_direct_dial_reaches_an_extension() -> None:
    timeout = call_journey(timeline((0, 1, "8005550000"), (1, 51, *MAIN_MENU), (12, 53, *MAIN_MENU), (13, *HANGUP)))
    assert timeout.outcome is Outcome.IVR
    assert [s.kind for s in timeout.ivr_path] == [IvrStepKind.MENU, IvrStepKind.TIMEOUT]
    direct = call_journey(
        timeline((0, 1, "8005550000"), (1, 51, *MAIN_MENU), (5, 55, *MAIN_MENU, "101"), (6, 3, *ANA), (10, 4, *ANA))
    )
    assert direct.ivr_path[-1].kind is IvrStepKind.DIRECT_DIAL and direct.ivr_path[-1].digits == "101"
    assert direct.outcome is Outcome.ANSWERED and direct.ended is None
    assert direct.talk_time == 0.0  # no hangup event: the talk runs to the last event


def test_park_and_pickup() -> None:
    j = call_journey(
        timeline(
            (0, 1, "8005550007"),
            (1, 3, *ANA),
            (5, 4, *ANA),
            (60, 57, "lot1", "Lot Lobby", "3", "101"),
            (90, 58, "lot1", "Lot Lobby", "3", "102"),
            (200, *HANGUP),
        )
    )
    assert j.answered_by is not None and j.answered_by.number == "101"  # the pickup does not change who answered
    assert j.parks == (Park("lot1", "Lot Lobby", "3", "101", True, 60.0, "102", 90.0, False),)
    timed_out = call_journey(
        timeline(
            (0, 3, *ANA), (5, 4, *ANA), (60, 56, "lot1", "Lot Lobby", "4", "101"), (200, 59, "lot1", "Lot Lobby", "4")
        )
    )
    assert timed_out.parks[0].timed_out and timed_out.parks[0].picked_up_by is None
    assert timed_out.direction is CallDirection.INTERNAL


def test_conference_entered_after_a_wrong_pin_and_refused() -> None:
    bridge = ("b1", "8700", "Bridge Team Standup")
    j = call_journey(timeline((0, 1, "8005550000"), (2, 64, *bridge, "1234"), (8, 66, *bridge), (900, *HANGUP)))
    assert j.outcome is Outcome.CONFERENCE
    [visit] = j.conferences
    assert (visit.bridge_name, visit.entered, visit.admin, visit.invalid_pins) == (
        "Bridge Team Standup",
        True,
        True,
        ("1234",),
    )
    refused = call_journey(timeline((0, 1, "8005550000"), (2, 64, *bridge, "1"), (9, 65, *bridge), (10, *HANGUP)))
    assert refused.outcome is Outcome.FAILED and refused.conferences[0].refused is ConferenceRefusal.PIN_TIMEOUT
    full = call_journey(timeline((0, 1, "8005550000"), (2, 63, *bridge), (3, *HANGUP)))
    assert full.outcome is Outcome.FAILED and full.conferences[0].refused is ConferenceRefusal.FULL


def test_outbound_domestic_answered_and_not_answered() -> None:
    answered = call_journey(timeline((1, 37, "3125550101", "ACME CORP", "8005550000"), (12, 89), (100, *HANGUP)))
    assert (answered.direction, answered.outcome) == (CallDirection.OUTBOUND, Outcome.ANSWERED)
    assert answered.answered_by is None and (answered.answered_at, answered.talk_time) == (12.0, 88.0)
    d = answered.dial_out
    assert d is not None and (d.number, d.cid_name, d.international, d.result) == (
        "3125550101",
        "ACME CORP",
        False,
        DialOutResult.ANSWERED,
    )
    unanswered = call_journey(timeline((1, 37, "3125550101", "ACME CORP", "8005550000"), (40, *HANGUP)))
    assert unanswered.outcome is Outcome.NOT_ANSWERED and unanswered.dial_out is not None
    assert unanswered.dial_out.result is DialOutResult.NOT_ANSWERED


def test_outbound_international_and_failures() -> None:
    intl = call_journey(timeline((1, 43, "0114420794601", "ACME CORP", "8005550000"), (9, 89), (60, *HANGUP)))
    assert intl.dial_out is not None and intl.dial_out.international and intl.outcome is Outcome.ANSWERED
    disabled = call_journey(timeline((1, 39, "0114420794601", "ACME CORP", "8005550000"), (2, *HANGUP)))
    assert disabled.outcome is Outcome.FAILED and disabled.dial_out is not None
    assert (disabled.dial_out.failure, disabled.dial_out.number) == (
        DialOutFailure.INTERNATIONAL_DISABLED,
        "0114420794601",
    )
    pin = call_journey(timeline((1, 40, "9999", "ACME CORP", "8005550000"), (2, *HANGUP)))
    assert pin.dial_out is not None and (pin.dial_out.failure, pin.dial_out.number, pin.dial_out.cid_name) == (
        DialOutFailure.INVALID_PIN,
        None,
        "ACME CORP",
    )
    other = call_journey(timeline((1, 42, "ACME CORP", "8005550000"), (2, *HANGUP)))
    assert other.dial_out is not None
    assert (other.dial_out.failure, other.dial_out.cid_name, other.dial_out.cid_number) == (
        DialOutFailure.OTHER,
        "ACME CORP",
        "8005550000",
    )


def test_internal_apps() -> None:
    cases = {
        InternalApp.QUEUE_LOGIN_LOGOUT: (45, *SALES_QUEUE, "101"),
        InternalApp.VOICEMAIL_CHECK: (12,),
        InternalApp.ECHO_TEST: (14,),
        InternalApp.CALL_FORWARDING: (18, "3125550101"),
        InternalApp.TOGGLE_CHANGE: (73, "t1", "8900", "Toggle Holiday"),
        InternalApp.TARGETED_INTERCOM: (95, *BEN),
    }
    for app, event in cases.items():
        j = call_journey(timeline((1, *event), (20, *HANGUP), direction=3))
        assert (j.direction, j.outcome, j.internal_app) == (CallDirection.INTERNAL, Outcome.FEATURE, app), app
    page = call_journey(timeline((1, 44, "9200", "Page Warehouse", "101"), (9, *HANGUP)))
    assert (page.outcome, page.internal_app, page.feature) == (Outcome.FEATURE, None, "Page Group")


def test_internal_extension_call_and_fax_and_blocked_and_forwarded() -> None:
    internal = call_journey(timeline((1, 3, *BEN), (4, 4, *BEN), (30, *HANGUP)))
    assert (internal.direction, internal.outcome) == (CallDirection.INTERNAL, Outcome.ANSWERED)
    fax = call_journey(
        timeline((0, 1, "8005550005"), (1, 7), (2, 78, "u1", "Fax Accounts"), (60, 80, "u1", "Fax Accounts", "4"))
    )
    assert (
        fax.outcome is Outcome.FAX
        and fax.fax is not None
        and (fax.fax.inbound, fax.fax.succeeded, fax.fax.pages) == (True, True, 4)
    )
    blocked = call_journey(timeline((0, 1, "8005550000"), (1, 2), (2, *HANGUP)))
    assert blocked.outcome is Outcome.BLOCKED
    forwarded = call_journey(
        timeline((0, 1, "8005550000"), (1, 86, "3125550199", "GLOBEX", "4155550100"), (90, *HANGUP))
    )
    assert forwarded.outcome is Outcome.FORWARDED and forwarded.forward is not None and forwarded.forward.origin_cid


def test_announcement_answer_care_and_loop_protection() -> None:
    toggle, notice = ("t1", "8900", "Toggle Holiday"), ("a1", "9100", "Announcement Closed Notice")
    closed = call_journey(timeline((0, 1, "8005550006"), (1, 71, *toggle), (2, 77, *notice), (20, 31, "1.5", "0.25")))
    assert (closed.outcome, closed.ended, closed.jitter) == (Outcome.ANNOUNCEMENT, EndReason.LOOP_PROTECTION, 1.5)
    care = call_journey(
        timeline((0, 1, "8005550006"), (1, 71, *toggle), (2, 77, *notice), (3, 90, "12345"), (99, *HANGUP))
    )
    assert care.outcome is Outcome.ANSWER_CARE and care.routing[-1].id == "12345"


def test_unknown_event_ids_are_kept_whole() -> None:
    j = call_journey(timeline((0, 1, "8005550000"), (1, 120, "abc", "future", "", "7"), (2, *HANGUP)))
    [unknown] = j.unknown_events
    assert (unknown.type_id, unknown.data1, unknown.data2, unknown.data4) == (120, "abc", "future", "7")
    assert j.outcome is Outcome.OTHER


def test_no_events_no_direction() -> None:
    j = call_journey(timeline())
    assert (j.direction, j.outcome, j.length) == (None, Outcome.OTHER, 0.0)


def test_a_row_per_journey_with_every_column_and_lists_as_json() -> None:
    j = call_journey(
        timeline(
            (0, 1, "8005550001"),
            (1, 51, *MAIN_MENU),
            (6, 52, *MAIN_MENU, "1"),
            (7, 47, *SALES_QUEUE),
            (20, 4, *ANA),
            (120, *HANGUP),
            (121, 104, "x"),
        )
    )
    row = journey_row(j)
    assert list(row) == [name for name, _ in JOURNEY_COLUMNS]
    assert row["outcome"] == "answered" and row["answered_by_number"] == "101" and row["queue_wait"] == 13.0
    assert row["ivr_options"] == "1" and row["direction"] == "inbound" and row["ended"] == "normal"
    visits = json.loads(row["queue_visits"])
    assert visits[0]["queue_name"] == "Queue Sales" and visits[0]["outcome"] == "answered"
    assert visits[0]["answered_by"]["name"] == "Ana Reyes"
    assert json.loads(row["unknown_events"])[0]["type_id"] == 104
    assert json.loads(row["voicemail"]) is None
