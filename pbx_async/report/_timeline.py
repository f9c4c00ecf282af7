"""A sample call drawn on a time axis: spans (ringing, waiting, talking) above, one row per event below."""

from __future__ import annotations

from html import escape

from .._journey import CallJourney, in_step_order
from .._records.events import Event
from ._charts import duration
from ._read import ExportCall
from ._reading import read
from ._svg import FAINT, GRID, PALETTE, frame

_HEX_ID = frozenset("0123456789abcdef")
_KINDS = (  # event colour by what it is about
    (frozenset({1, 60, 61, 71, 72, 77, 67, 68, 69, 70, 90, 51, 52, 53, 54, 55}), PALETTE["blue"]),
    (frozenset({47, 48, 49, 50, 96, 97, 98}), PALETTE["failover"]),
    (frozenset({3, 9, 10, 11, 28, 30}), "#B8A800"),
    (frozenset({4, 29, 89, 56, 57, 58, 59, 62, 66, 91, 92, 93}), PALETTE["answered"]),
    (frozenset({23, 25, 26, 27, 36}), PALETTE["voicemail"]),
    (frozenset({5, 31}), PALETTE["ended"]),
)


def _color(event: Event) -> str:
    return next((c for ids, c in _KINDS if event.type_id in ids), PALETTE["callback"])


def _detail(event: Event) -> str:
    """The event's data worth reading: ids that look like ``63492d1e45d3c`` are left out."""
    data = [d for d in (event.data1, event.data2, event.data3, event.data4) if d]
    return " ".join(d for d in data if not (len(d) >= 12 and set(d) <= _HEX_ID))


def _spans(j: CallJourney, end: float) -> list[tuple[str, float, float, str]]:
    spans = [
        (f"Waiting in {v.queue_name}", v.entered_at, v.entered_at + v.wait, PALETTE["failover"]) for v in j.queue_visits
    ]
    spans += [
        (f"Ringing {r.number}", r.started_at, r.started_at + r.ringing, "#B8A800")
        for r in j.ring_attempts
        if r.ringing is not None and r.kind != "queue_agent"
    ]
    if j.answered_at is not None:
        spans.append(("Talking", j.answered_at, j.answered_at + (j.talk_time or 0.0), PALETTE["answered"]))
    if j.voicemail is not None:
        spans.append(("Voicemail", j.voicemail.at, end, PALETTE["voicemail"]))
    spans += [(f"Parked in {p.lot_name}", p.parked_at, p.picked_up_at or end, PALETTE["callback"]) for p in j.parks]
    return spans


def timeline_svg(name: str, item: ExportCall, j: CallJourney) -> str:
    events = in_step_order(item.details.events)
    width, left, right, top = 640, 16, 16, 30
    end = max(j.length, j.ended_at or 0.0, 1.0)
    plot = width - left - right

    def x(t: float) -> float:
        return left + plot * max(0.0, min(t, end)) / end

    spans = _spans(j, end)
    parts = [f'<line x1="{left}" x2="{width - right}" y1="{top - 8}" y2="{top - 8}" stroke="{FAINT}"/>']
    for k in range(5):
        t = end * k / 4
        anchor = "start" if k == 0 else "end" if k == 4 else "middle"
        parts.append(f'<text x="{x(t):.1f}" y="{top - 14}" text-anchor="{anchor}" class="tick">{duration(t)}</text>')
    y = top
    for label, start, stop, color in spans:
        w = max(x(stop) - x(start), 2.0)
        parts.append(
            f'<rect class="mark span" x="{x(start):.1f}" y="{y}" width="{w:.1f}" height="12" rx="3" fill="{color}">'
            f"<title>{escape(label)}: {duration(start)} to {duration(stop)}</title></rect>"
        )
        inside = x(start) + w + 4 < width - 150
        tx = x(start) + w + 4 if inside else x(start) - 4
        parts.append(
            f'<text x="{tx:.1f}" y="{y + 10}" class="small" text-anchor="{"start" if inside else "end"}">'
            f"{escape(label)}</text>"
        )
        y += 16
    y += 8
    for e in events:
        t = (e.date - j.start).total_seconds()
        cx = x(t)
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y}" y2="{y}" stroke="{GRID}"/>')
        text = f"{duration(t)} {e.PURPOSE} {_detail(e)}".strip()
        dot = f'<circle class="mark" cx="{cx:.1f}" cy="{y}" r="5" fill="{_color(e)}">'
        parts.append(f"{dot}<title>{escape(text)}</title></circle>")
        right_side = cx < width * 0.55
        tx = cx + 9 if right_side else cx - 9
        anchor = "start" if right_side else "end"
        parts.append(f'<text x="{tx:.1f}" y="{y + 4}" class="small" text-anchor="{anchor}">{escape(text)}</text>')
        y += 18
    desc = f"{len(events)} events over {duration(end)}; {len(spans)} spans"
    return frame(name, width, y + 4, f"Timeline of call {item.details.call.uuid}", desc, "".join(parts))


def sample_panel(index: int, kind: str, item: ExportCall, j: CallJourney) -> str:
    call = item.details.call
    lines = "".join(f"<li>{escape(line)}</li>" for line in read(j, call))
    when = call.date.strftime("%a %d %b %Y %H:%M:%S")
    return (
        f'<div class="sample" id="sample-{index}" data-kind="{escape(kind)}">'
        f"<h3>{escape(kind)} <small>{escape(when)} · {escape(call.uuid)}</small></h3>"
        f'<div class="sample-body"><figure class="chart" data-chart="sample-{index}">'
        f"{timeline_svg(f'sample-{index}', item, j)}</figure>"
        f'<div class="reading"><h4>The journey <span class="chip">{escape(str(j.outcome).replace("_", " "))}</span>'
        f"</h4><ol>{lines}</ol></div></div></div>"
    )
