"""Every event type id a journey reads, and the handler that reads it."""

from __future__ import annotations

from . import _ringing as r
from . import _services as s
from ._draft import Handler
from ._tables import FEATURE_EVENTS, IVR_KINDS, ROUTING_KINDS, SUPERVISION

HANDLERS: dict[int, Handler] = {
    1: r.did,
    2: r.blocked,
    3: r.ext_called,
    4: r.ext_answer,
    5: r.hangup,
    8: r.no_dialplan,
    9: r.ext_ring_end,
    10: r.ext_ring_end,
    11: r.ext_ring_end,
    23: r.voicemail_disabled,
    25: r.sent_to_voicemail,
    26: r.voicemail_exit,
    27: r.voicemail_exit,
    28: r.ring_group,
    29: r.ring_group_answered,
    30: r.ring_group_timeout,
    31: r.hangup,
    36: r.voicemail_left,
    47: r.enter_queue,
    48: r.queue_option,
    49: r.queue_abandoned,
    50: r.queue_failover,
    56: s.park,
    57: s.park,
    58: s.park_pickup,
    59: s.park_timeout,
    62: s.conference,
    63: s.conference,
    64: s.conference,
    65: s.conference,
    66: s.conference,
    89: s.dial_out_answered,
    96: r.queue_callback,
    97: r.queue_callback_deleted,
    98: r.queue_agent_missed,
    **dict.fromkeys(IVR_KINDS, s.ivr),
    **dict.fromkeys(ROUTING_KINDS, s.routing),
    **dict.fromkeys((37, 38, 39, 40, 41, 42, 43), s.dial_out),
    **dict.fromkeys((85, 86, 87), s.forward),
    **dict.fromkeys((7, 78, 79, 80, 81, 82, 83, 84), s.fax),
    **dict.fromkeys(SUPERVISION, s.supervise),
    **dict.fromkeys(FEATURE_EVENTS, s.feature),
}
