"""What the simulated Call Summary list keeps: its date window and its filters, as the seed describes them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta, timezone

from ._dataset import SimCall

IVR_EVENTS = frozenset({51, 52, 53, 54, 55})


def flag(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    return value.strip() not in ("0", "false")


def to_int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def window(params: Mapping[str, str], offset: int, now: datetime) -> tuple[datetime, datetime]:
    tz = timezone(timedelta(minutes=offset))
    today: date = now.astimezone(tz).date()

    def parse(name: str, default: datetime) -> datetime:
        text = params.get(name)
        if not text:
            return default
        try:
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz)
        except ValueError:
            return default

    start = parse("fromDate", datetime(today.year, today.month, today.day, tzinfo=tz))
    end = parse("toDate", datetime(today.year, today.month, today.day, 23, 59, 59, tzinfo=tz))
    return start, end


def keep(call: SimCall, p: Mapping[str, str], window: tuple[datetime, datetime]) -> bool:
    start, end = window
    if not start <= call.start <= end:
        return False
    shown = {1: p.get("showInbound"), 2: p.get("showOutbound"), 3: p.get("showInternal")}[call.direction]
    if flag(shown) is False:
        return False
    # Direction filters narrow their own direction only ("When showInbound=1, inbound calls
    # will be filtered by ..."); the flag filters below apply to every call.
    checks: list[tuple[int, str, str | None]] = [
        (1, "filterInboundCallerNumber", call.cid_num),
        (1, "filterInboundDid", call.did.number if call.did else None),
        (1, "filterInboundExtenReceived", call.exten),
        (2, "filterOutboundNumberDialed", call.num_dialed),
        (2, "filterOutboundExtenDialed", call.exten),
    ]
    for direction, name, value in checks:
        wanted = p.get(name)
        if wanted and call.direction == direction and value != wanted:
            return False
    if call.direction == 3:
        exten = p.get("filterInternalExten")
        if exten and exten not in call.internal_extens:
            return False
        app = to_int(p.get("filterInternalApp"))
        if app and call.internal_app != app:
            return False
    for name, holds in (
        ("filterWentToVoicemail", call.went_to_voicemail),
        ("filterSpokeToPerson", call.spoke_to_person),
        ("filterFlaggedFollowup", call.flagged),
        ("filterCallHasNotes", bool(call.notes)),
    ):
        if flag(p.get(name)) and not holds:
            return False
    severity = to_int(p.get("filterCallSeverity"))
    if severity is not None and call.severity != severity:
        return False
    return _ivr_match(call, p)


def _ivr_match(call: SimCall, p: Mapping[str, str]) -> bool:
    ivr_id, kind = p.get("filterIvrId"), to_int(p.get("filterIvrEventType")) or 0
    pushed = p.get("filterIvrPushed") if kind == 52 else None
    if not ivr_id and not kind:
        return True
    return any(
        e.type_id in IVR_EVENTS
        and (not ivr_id or e.data[0] == ivr_id)
        and (not kind or e.type_id == kind)
        and (not pushed or e.data[3] == pushed)
        for e in call.events
    )


def tenant(params: Mapping[str, str]) -> int:
    """The tenant a request names (0 when it names none)."""
    return to_int(params.get("tenantID")) or 0
