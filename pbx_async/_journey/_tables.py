"""Which event type ids mean what to a journey (ids of the provider's table)."""

from __future__ import annotations

from .._records.calls import InternalApp
from ._records import DialOutFailure, IvrStepKind, RingOutcome, RoutingKind, SupervisionKind

OUTBOUND_MARKS = frozenset({6, 37, 38, 39, 40, 41, 42, 43, 81, 82, 83, 84, 88})
INTERNAL_APPS = {
    45: InternalApp.QUEUE_LOGIN_LOGOUT,
    46: InternalApp.QUEUE_LOGIN_LOGOUT,
    12: InternalApp.VOICEMAIL_CHECK,
    13: InternalApp.VOICEMAIL_CHECK,
    32: InternalApp.VOICEMAIL_CHECK,
    14: InternalApp.ECHO_TEST,
    15: InternalApp.ECHO_TEST,
    16: InternalApp.ECHO_TEST,
    17: InternalApp.CALL_FORWARDING,
    18: InternalApp.CALL_FORWARDING,
    19: InternalApp.CALL_FORWARDING,
    33: InternalApp.CALL_FORWARDING,
    34: InternalApp.CALL_FORWARDING,
    35: InternalApp.CALL_FORWARDING,
    73: InternalApp.TOGGLE_CHANGE,
    74: InternalApp.TOGGLE_CHANGE,
    75: InternalApp.TOGGLE_CHANGE,
    76: InternalApp.TOGGLE_CHANGE,
    95: InternalApp.TARGETED_INTERCOM,
}
FEATURE_EVENTS = frozenset({*INTERNAL_APPS, 20, 21, 22, 24, 44, 94})
IVR_KINDS = {
    51: IvrStepKind.MENU,
    52: IvrStepKind.OPTION,
    53: IvrStepKind.TIMEOUT,
    54: IvrStepKind.INVALID,
    55: IvrStepKind.DIRECT_DIAL,
}
ROUTING_KINDS = {
    60: RoutingKind.TIME_ROUTE,
    61: RoutingKind.DEFAULT_ROUTE,
    71: RoutingKind.TOGGLE_ON,
    72: RoutingKind.TOGGLE_OFF,
    77: RoutingKind.ANNOUNCEMENT,
    67: RoutingKind.DIRECTORY,
    68: RoutingKind.DIRECTORY_INVALID,
    69: RoutingKind.DIRECTORY_TIMEOUT,
    70: RoutingKind.DIRECTORY_EXIT,
    90: RoutingKind.ANSWER_CARE,
}
RING_ENDS = {9: RingOutcome.BUSY, 10: RingOutcome.NO_ANSWER, 11: RingOutcome.OFFLINE}
DIAL_OUT_FAILURES = {
    38: DialOutFailure.INVALID_CID,
    39: DialOutFailure.INTERNATIONAL_DISABLED,
    40: DialOutFailure.INVALID_PIN,
    41: DialOutFailure.CONCURRENT_CALLS,
    42: DialOutFailure.OTHER,
}
SUPERVISION = {91: SupervisionKind.LISTEN, 92: SupervisionKind.WHISPER, 93: SupervisionKind.BARGE}


NAMED_PARTIES = frozenset({3, 4, 9, 10, 11, 13, 25, 91, 92, 93, 95})

# Within one second (the API's clock) events are put in the order a call's steps happen, since an export may not
# keep the server's order there: arrival and routing, menus, something starts ringing or waiting, it ends, what
# follows an answer, voicemail, the hangup. Ids not listed sit in the middle (50).
STEP_ORDER: dict[int, int] = {
    **dict.fromkeys((1, 2, 6, 8, 88), 0),
    **dict.fromkeys((60, 61, 71, 72), 10),
    77: 11,
    90: 12,
    51: 20,
    53: 21,
    54: 21,
    52: 22,
    55: 22,
    67: 23,
    68: 24,
    69: 25,
    70: 25,
    **dict.fromkeys((3, 28, 47, 37, 43, 64, 85, 86, 87, 7, 81), 30),
    **dict.fromkeys((62, 63, 65, 66, 78), 31),
    **dict.fromkeys((98, 48), 35),
    **dict.fromkeys((4, 9, 10, 11, 29, 30, 49, 50, 96, 89, 38, 39, 40, 41, 42, 79, 80, 82, 83, 84), 40),
    97: 45,
    17: 48,  # the forwarding menu, before the choice made in it (18, 19, 35)
    **dict.fromkeys((91, 92, 93, 56, 57), 50),
    **dict.fromkeys((58, 59), 55),
    **dict.fromkeys((23, 25), 60),
    **dict.fromkeys((36, 26, 27), 65),
    5: 99,
    31: 99,
}
