"""The HTML page: summary tiles, the chart cards, the sample calls; CSS and a few lines of script inline."""

from __future__ import annotations

import statistics
from datetime import datetime
from html import escape

from . import _charts as charts
from ._stats import SAMPLE_KINDS, Stats
from ._svg import PALETTE, Row, Segment, bars
from ._timeline import sample_panel

GENERATOR = "pbx-async report"  # the page's <meta name="generator">: how a report we wrote is recognised
OUTCOME_COLORS = {
    "answered": PALETTE["answered"],
    "voicemail": PALETTE["voicemail"],
    "abandoned": PALETTE["abandoned"],
    "callback": PALETTE["callback"],
    "not_answered": PALETTE["failover"],
    "failed": "#A33B00",
    "blocked": "#6B0000",
}

CSS = """
:root{--ink:#1f2933;--muted:#52606d;--line:#e4e7eb;--bg:#f5f7fa;--card:#fff;--accent:#0072b2}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--ink);background:var(--bg)}
header{background:#102a43;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}header p{margin:0;color:#bcccdc}
main{max-width:1360px;margin:0 auto;padding:20px 24px 40px}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;margin-bottom:18px}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.tile b{display:block;font-size:24px}.tile span{color:var(--muted);font-size:13px}
.grid{display:grid;grid-template-columns:1fr;gap:18px}
@media (min-width:1100px){.grid{grid-template-columns:1fr 1fr}.wide{grid-column:1/-1}}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px}
.card h2{margin:0 0 2px;font-size:18px}.lede{margin:0 0 8px;color:var(--muted)}
figure{margin:0}.chart-svg{width:100%;height:auto;display:block;max-width:900px}
.chart-svg text{fill:var(--ink);font-size:12px}.chart-svg .tick,.chart-svg .axis{fill:var(--muted);font-size:11px}
.chart-svg .value{fill:var(--muted);font-size:12px}.chart-svg .small{font-size:11px}
.chart-svg .mark:hover{opacity:.75}
.legend{display:flex;flex-wrap:wrap;gap:14px;margin:4px 0 8px;font-size:13px;color:var(--muted)}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
details{margin-top:8px;font-size:13px}summary{cursor:pointer;color:var(--accent)}
table{border-collapse:collapse;margin-top:6px;font-variant-numeric:tabular-nums;display:block;overflow-x:auto}
th,td{border-bottom:1px solid var(--line);padding:3px 8px;text-align:left;white-space:nowrap}
.empty{color:var(--muted);font-style:italic}
.tabs{display:flex;flex-wrap:wrap;gap:6px;margin:6px 0 12px}
.tabs button{font:inherit;font-size:13px;border:1px solid var(--line);background:#fff;border-radius:16px;
padding:4px 12px;cursor:pointer}
.tabs button[aria-selected=true]{background:var(--accent);border-color:var(--accent);color:#fff}
.sample h3{margin:4px 0 8px;font-size:16px}.sample h3 small{color:var(--muted);font-weight:normal}
.sample-body{display:grid;grid-template-columns:1fr;gap:18px}
@media (min-width:1100px){.sample-body{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}}
.reading h4{margin:0 0 6px}.reading ol{margin:0;padding-left:22px}.reading li{margin:2px 0}
.chip{display:inline-block;background:#e3f8f1;color:#014d40;border-radius:10px;padding:0 8px;font-size:12px;
font-weight:normal}
footer{color:var(--muted);font-size:12px;text-align:center;padding:10px}
@media print{.tabs{display:none}.sample[hidden]{display:block}}
"""

SCRIPT = """
(function () {
  "use strict";
  var tabs = Array.prototype.slice.call(document.querySelectorAll(".tabs button"));
  var panels = Array.prototype.slice.call(document.querySelectorAll(".sample"));
  function show(i) {
    panels.forEach(function (p, k) { p.hidden = k !== i; });
    tabs.forEach(function (t, k) { t.setAttribute("aria-selected", String(k === i)); t.tabIndex = k === i ? 0 : -1; });
  }
  tabs.forEach(function (t, k) {
    t.addEventListener("click", function () { show(k); });
    t.addEventListener("keydown", function (e) {
      var step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (step) { var n = (k + step + tabs.length) % tabs.length; show(n); tabs[n].focus(); }
    });
  });
  if (panels.length) { show(0); }
  document.documentElement.setAttribute("data-ready", "true");
})();
"""


def _tiles(s: Stats) -> str:
    inbound = sum(c for c, _ in s.hours)
    answered = sum(a for _, a in s.hours)
    abandoned = sum(q["abandoned"] for q in s.queues.values())
    visits = sum(sum(q.values()) for q in s.queues.values())
    median = charts.duration(statistics.median(s.answer_times)) if s.answer_times else "-"
    tiles = (
        (f"{s.calls:,}", "calls"),
        (
            f"{s.directions['inbound']:,}",
            f"inbound; {s.directions['outbound']:,} out, {s.directions['internal']:,} internal",
        ),
        (charts.pct(answered, inbound), "inbound answered"),
        (median, "median time to answer"),
        (charts.pct(abandoned, visits), "queue visits abandoned"),
        (f"{s.outcomes['voicemail']:,}", "went to voicemail"),
    )
    return (
        '<div class="tiles">'
        + "".join(f'<div class="tile"><b>{v}</b><span>{t}</span></div>' for v, t in tiles)
        + "</div>"
    )


def _outcomes(s: Stats) -> str:
    title = "How calls ended"
    if not s.outcomes:
        return charts.empty("outcomes", title, "This export has no event timelines: export with --details.")
    total = sum(s.outcomes.values())
    rows = [
        Row(
            name.replace("_", " ").capitalize().replace("Ivr", "IVR"),
            (Segment(n, OUTCOME_COLORS.get(name, PALETTE["blue"]), f"{name.replace('_', ' ')}: {n:,} calls"),),
            f"{n:,} ({charts.pct(n, total)})",
        )
        for name, n in sorted(s.outcomes.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    lede = f"Each call's outcome, read from its events ({s.with_events:,} of {s.calls:,} calls have them)."
    return charts.card("outcomes", title, lede, bars("outcomes", title, lede, rows, label_width=130))


def _samples(s: Stats) -> str:
    order = [kind for kind in SAMPLE_KINDS if kind in s.samples]
    if not order:
        return ""
    tabs = "".join(
        f'<button type="button" role="tab" aria-controls="sample-{i}">{escape(kind)}</button>'
        for i, kind in enumerate(order)
    )
    panels = "".join(
        sample_panel(i, kind, s.samples[kind].call, s.samples[kind].journey) for i, kind in enumerate(order)
    )
    return (
        '<section class="card wide" id="samples"><h2>Sample calls</h2><p class="lede">Events on a time axis, '
        "with the journey read from them beside it. Hover a mark for its details.</p>"
        f'<div class="tabs" role="tablist">{tabs}</div>{panels}</section>'
    )


def render(s: Stats, *, title: str, source: str, generated: datetime) -> str:
    period = "no calls"
    if s.first is not None and s.last is not None:
        period = f"{s.first:%a %d %b %Y %H:%M} to {s.last:%a %d %b %Y %H:%M}"
    cards = [
        charts.week(s),
        _outcomes(s),
        charts.dids(s),
        charts.hours(s),
        charts.answer_times(s),
        charts.queues(s),
        charts.ivr(s),
        charts.extensions(s),
        charts.recordings(s),
    ]
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="{GENERATOR}"><title>{escape(title)}</title><style>{CSS}</style>'
    )
    top = f"<h1>{escape(title)}</h1><p>{escape(period)} · {s.calls:,} calls from {escape(source)}</p>"
    made = f"Made by pbx-async on {generated:%Y-%m-%d %H:%M %Z}. Works offline: everything is in this file."
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head>{head}</head><body><header>{top}</header>'
        f'<main>{_tiles(s)}<div class="grid">{"".join(cards)}{_samples(s)}</div></main>'
        f"<footer>{made}</footer><script>{SCRIPT}</script></body></html>\n"
    )
