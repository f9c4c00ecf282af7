"""One table row per journey, for exports: scalar columns to query, list-shaped fields as JSON text."""

from __future__ import annotations

import json
from typing import Any

import attrs

from ._records import CallJourney

# (name, kind) in the export schema's vocabulary; "real" is a float (SQLite REAL, PostgreSQL DOUBLE PRECISION).
JOURNEY_COLUMNS: tuple[tuple[str, str], ...] = (
    ("call_uuid", "text"),
    ("start", "time"),
    ("direction", "text"),
    ("outcome", "text"),
    ("entry_did", "text"),
    ("answered_by_number", "text"),
    ("answered_by_name", "text"),
    ("answered_at", "real"),
    ("talk_time", "real"),
    ("queue_wait", "real"),
    ("queue_outcome", "text"),
    ("ivr_options", "text"),
    ("voicemail_box", "text"),
    ("voicemail_message_left", "bool"),
    ("dial_out_number", "text"),
    ("dial_out_result", "text"),
    ("dial_out_failure", "text"),
    ("internal_app", "int"),
    ("feature", "text"),
    ("ended", "text"),
    ("jitter", "real"),
    ("packet_loss", "real"),
    ("length", "real"),
    ("ivr_path", "json"),
    ("queue_visits", "json"),
    ("ring_attempts", "json"),
    ("voicemail", "json"),
    ("parks", "json"),
    ("conferences", "json"),
    ("dial_out", "json"),
    ("forward", "json"),
    ("fax", "json"),
    ("routing", "json"),
    ("supervision", "json"),
    ("unknown_events", "json"),
)
JOURNEY_JSON_COLUMNS = tuple(name for name, kind in JOURNEY_COLUMNS if kind == "json")


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, tuple):
        if not value:  # most of a journey's lists are empty: what json.dumps gives, without its cost
            return "[]"
        return json.dumps([attrs.asdict(v) for v in value], ensure_ascii=False)
    return json.dumps(attrs.asdict(value), ensure_ascii=False)


def journey_row(journey: CallJourney) -> dict[str, Any]:
    """The journey as one row keyed by ``JOURNEY_COLUMNS``' names; ``json`` columns hold JSON text.

        row = journey_row(call_journey(details))  # {"call_uuid": ..., "outcome": "answered", ...}

    ``start`` stays a datetime; enums become their text; ``queue_wait`` adds up
    every visit's wait and ``queue_outcome`` is the last visit's; ``ivr_options``
    is the options pressed, in order, joined by ``,``.
    """
    j = journey
    answered_by, voicemail, dial_out = j.answered_by, j.voicemail, j.dial_out
    visits = j.queue_visits
    options = [s.digits or "" for s in j.ivr_path if s.kind == "option"]
    unknown = [
        {"uuid": e.uuid, "date": e.date.isoformat(), "type_id": e.type_id,
         "data1": e.data1, "data2": e.data2, "data3": e.data3, "data4": e.data4}
        for e in j.unknown_events
    ]  # fmt: skip
    return {
        "call_uuid": j.uuid,
        "start": j.start,
        "direction": j.direction.name.lower() if j.direction is not None else None,
        "outcome": str(j.outcome),
        "entry_did": j.entry_did,
        "answered_by_number": answered_by.number if answered_by else None,
        "answered_by_name": answered_by.name if answered_by else None,
        "answered_at": j.answered_at,
        "talk_time": j.talk_time,
        "queue_wait": sum(v.wait for v in visits) if visits else None,
        "queue_outcome": str(visits[-1].outcome) if visits else None,
        "ivr_options": ",".join(options) if options else None,
        "voicemail_box": voicemail.box.number if voicemail and voicemail.box else None,
        "voicemail_message_left": voicemail.message_left if voicemail else None,
        "dial_out_number": dial_out.number if dial_out else None,
        "dial_out_result": str(dial_out.result) if dial_out else None,
        "dial_out_failure": str(dial_out.failure) if dial_out and dial_out.failure else None,
        "internal_app": int(j.internal_app) if j.internal_app is not None else None,
        "feature": j.feature,
        "ended": str(j.ended) if j.ended else None,
        "jitter": j.jitter,
        "packet_loss": j.packet_loss,
        "length": j.length,
        "ivr_path": _json(j.ivr_path),
        "queue_visits": _json(j.queue_visits),
        "ring_attempts": _json(j.ring_attempts),
        "voicemail": _json(voicemail),
        "parks": _json(j.parks),
        "conferences": _json(j.conferences),
        "dial_out": _json(dial_out),
        "forward": _json(j.forward),
        "fax": _json(j.fax),
        "routing": _json(j.routing),
        "supervision": _json(j.supervision),
        "unknown_events": json.dumps(unknown, ensure_ascii=False),
    }
