"""Call Summary records, pages of them, and Call Details."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from .events import Event
from .json_form import JsonForm


class CallDirection(enum.IntEnum):
    """Which way a call went."""

    INBOUND = 1
    OUTBOUND = 2
    INTERNAL = 3


class InternalApp(enum.IntEnum):
    """The feature-code applications an internal call can reach (filter ``internal_app``)."""

    QUEUE_LOGIN_LOGOUT = 1  # *45
    VOICEMAIL_CHECK = 2  # *97 or *98
    ECHO_TEST = 3  # *43
    CALL_FORWARDING = 4  # *62
    TOGGLE_CHANGE = 5  # *49
    TARGETED_INTERCOM = 6  # *80


class IvrEventType(enum.IntEnum):
    """Values the seed documents for the ``ivr_event_type`` filter.

    The seed names 54 "Direct Dial", while its own event table has
    54 = IVR Invalid Option Pushed and 55 = IVR Direct Dialed. The filter
    passes any integer through unchanged, so ``55`` can be sent as well.
    """

    ANY = 0
    OPTION_PUSHED = 52
    TIMEOUT = 53
    DIRECT_DIAL = 54


@attrs.frozen
class CallSummary(JsonForm):
    """One row of the Call Summary list.

        async for call in session.iter_calls(from_date=date(2026, 11, 2)):
            print(call.uuid, call.date, call.direction.name, call.duration)

    Text fields the server leaves empty are None; 0/1 flags are bools.
    ``severity`` is read as sent (the provider documents 0-10 on reads).
    """

    uuid: str
    date: datetime
    direction: CallDirection
    cid_name: str | None = None
    cid_num: str | None = None
    num_dialed: str | None = None
    duration: int | None = None
    recorded: bool = False
    recording_url: str | None = None
    did_description: str | None = None
    cid_prefix: str | None = None
    last_event: str | None = None
    flagged: bool = False
    severity: int | None = None
    notes: str | None = None
    went_to_voicemail: bool = False
    spoke_to_person: bool = False
    did_group: str | None = None
    transcription: str | None = None


@attrs.frozen
class CallPage(JsonForm):
    """One page (up to 500 rows) of a Call Summary scan.

    ``calls`` holds the rows not already yielded earlier in the same scan, so
    a page may hold fewer rows than the server sent when rows shifted.
    """

    page: int
    max_pages: int
    total: int
    utc_offset: int
    calls: tuple[CallSummary, ...] = ()


@attrs.frozen
class CallDetails(JsonForm):
    """A call's summary and its whole event timeline, in time order.

    details = await session.get_call_details(call.uuid)
    for event in details.events:
        print(event.date, event.PURPOSE)
    """

    call: CallSummary
    events: tuple[Event, ...]
