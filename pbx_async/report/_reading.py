"""A journey told in short English lines, for the sample calls beside their timelines."""

from __future__ import annotations

from .._journey import CallJourney, Party
from .._records.calls import CallSummary
from ._charts import duration

_IVR_VERBS = {"menu": "heard the menu", "timeout": "let it time out", "invalid": "pressed an invalid"}


def who(party: Party | None) -> str:
    if party is None:
        return "someone"
    return " ".join(x for x in (party.number, party.name) if x) or "someone"


def _opening(j: CallJourney, call: CallSummary) -> str:
    direction = j.direction.name.lower() if j.direction else call.direction.name.lower()
    if direction == "inbound":
        did = j.entry_did or call.num_dialed or "?"
        name = f" ({call.did_description})" if call.did_description else ""
        return f"Inbound from {call.cid_num or 'an unknown number'} on {did}{name}"
    if direction == "outbound":
        return f"Outbound from {call.cid_num or '?'} {call.cid_name or ''}".rstrip()
    return f"Internal from {call.cid_num or '?'} {call.cid_name or ''}".rstrip() + f" to {call.num_dialed or '?'}"


def read(j: CallJourney, call: CallSummary) -> list[str]:
    """What happened, one line per step, in the order it happened."""
    lines = [_opening(j, call)]
    for r in j.routing:
        lines.append(f"{r.kind.replace('_', ' ').capitalize()}: {r.name or r.id or ''}".rstrip(": "))
    for step in j.ivr_path:
        menu = step.ivr_name or step.ivr_exten or "IVR"
        if step.kind == "option":
            lines.append(f"{menu}: pressed {step.digits}")
        elif step.kind == "direct_dial":
            lines.append(f"{menu}: dialled {step.digits}")
        else:
            lines.append(f"{menu}: {_IVR_VERBS[step.kind]}{' ' + step.digits if step.digits else ''}")
    for v in j.queue_visits:
        what = {
            "answered": f"answered by {who(v.answered_by)}",
            "abandoned": f"hung up (reason {v.abandon_reason})",
            "failover": "failed over",
            "callback": f"asked for a callback to {v.callback_number}",
            "ended": "the call ended",
        }[v.outcome]
        missed = f"; {len(v.agents_not_answering)} agents did not pick up" if v.agents_not_answering else ""
        lines.append(f"{v.queue_name or 'Queue'}: waited {duration(v.wait)}, {what}{missed}")
    for ring in j.ring_attempts:
        rang = f" for {duration(ring.ringing)}" if ring.ringing is not None else ""
        target = " ".join(x for x in (ring.number, ring.name) if x)
        by = f" by {who(ring.answered_by)}" if ring.kind == "ring_group" and ring.answered_by else ""
        lines.append(f"Rang {ring.kind.replace('_', ' ')} {target}{rang}: {ring.outcome.replace('_', ' ')}{by}")
    if j.answered_at is not None:
        by = f" by {who(j.answered_by)}" if j.answered_by else " by the far end"
        talk = f"; talked {duration(j.talk_time)}" if j.talk_time is not None else ""
        lines.append(f"Answered after {duration(j.answered_at)}{by}{talk}")
    for s in j.supervision:
        lines.append(f"{s.kind.capitalize()}: {who(s.by)}")
    for p in j.parks:
        after = f"picked up by {p.picked_up_by}" if p.picked_up_by else "timed out" if p.timed_out else "left parked"
        lines.append(f"Parked in {p.lot_name} slot {p.slot} by {p.parked_by}; {after}")
    if j.voicemail is not None:
        left = "message left" if j.voicemail.message_left else "no message"
        lines.append(f"Voicemail of {who(j.voicemail.box)}: {left}")
    if j.voicemail_disabled:
        lines.append("Voicemail disabled")
    for c in j.conferences:
        state = ("entered as admin" if c.admin else "entered") if c.entered else f"refused ({c.refused})"
        lines.append(f"Conference {c.bridge_name}: {state}")
    if j.dial_out is not None:
        d = j.dial_out
        kind = "international" if d.international else "domestic"
        result = f"failed: {d.failure.replace('_', ' ')}" if d.failure else d.result.replace("_", " ")
        lines.append(f"Dialled {kind} {d.number or ''}: {result}".replace("  ", " "))
    if j.forward is not None:
        lines.append(f"Forwarded to {j.forward.number}" + (" (blocked)" if j.forward.blocked else ""))
    if j.fax is not None:
        result = "sent" if not j.fax.inbound else "received"
        lines.append(f"Fax {result if j.fax.succeeded else 'failed'} ({j.fax.user_name})")
    if j.feature:
        lines.append(f"Feature: {j.feature}")
    if j.ended is not None and j.ended_at is not None:
        how = "normally" if j.ended == "normal" else "by loop protection"
        lines.append(f"Ended {how} at {duration(j.ended_at)} (jitter {j.jitter}, packet loss {j.packet_loss})")
    if j.unknown_events:
        lines.append(f"{len(j.unknown_events)} event(s) of types the table does not list, kept")
    return lines
