"""Hand-written inline SVG charts: horizontal bars, columns, a heatmap; every data mark has class ``mark``.

Each chart is an ``<svg role="img">`` with a ``<title>`` and ``<desc>``; each
mark carries its own ``<title>`` (the browser's tooltip, read by screen
readers). Sizes are in a fixed coordinate space; CSS scales the drawing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

import attrs

PALETTE = {  # Okabe-Ito: distinguishable with the common colour-vision deficiencies
    "answered": "#009E73",
    "voicemail": "#56B4E9",
    "abandoned": "#D55E00",
    "failover": "#E69F00",
    "callback": "#CC79A7",
    "ended": "#8C8C8C",
    "blue": "#0072B2",
    "yellow": "#F0E442",
    "muted": "#C9CED6",
}
INK, GRID, FAINT = "#1F2933", "#E4E7EB", "#52606D"


@attrs.frozen
class Segment:
    value: float
    color: str
    tip: str


@attrs.frozen
class Row:
    label: str
    segments: tuple[Segment, ...]
    note: str = ""  # printed right of the bar


def _t(text: object) -> str:
    return escape(str(text), quote=True)


def frame(name: str, width: int, height: int, title: str, desc: str, body: str) -> str:
    return (
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{name}-t {name}-d" class="chart-svg">'
        f'<title id="{name}-t">{_t(title)}</title><desc id="{name}-d">{_t(desc)}</desc>{body}</svg>'
    )


def _rect(x: float, y: float, w: float, h: float, color: str, tip: str, extra: str = "") -> str:
    return (
        f'<rect class="mark" x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.0):.1f}" height="{h:.1f}" '
        f'fill="{color}"{extra}><title>{_t(tip)}</title></rect>'
    )


def ticks(value: float) -> tuple[float, int]:
    """A round axis end at or above ``value`` and the number of equal steps up to it (1, 2, 2.5 or 5 x 10^k each)."""
    if value <= 0:
        return 1.0, 4
    raw = value / 4
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= raw)
    count = max(1, math.ceil(value / step - 1e-9))
    return step * count, count


def bars(
    name: str, title: str, desc: str, rows: Sequence[Row], *, scale: float | None = None, label_width: int = 190
) -> str:
    """Horizontal (stacked) bars, one row each, scaled to ``scale`` (default: the largest row)."""
    width, row_h, top = 640, 26, 6
    plot = width - label_width - 150  # room for the note after the longest bar
    top_value = scale or max((sum(s.value for s in r.segments) for r in rows), default=1.0) or 1.0
    parts: list[str] = []
    for i, row in enumerate(rows):
        y = top + i * row_h
        parts.append(f'<text x="{label_width - 8}" y="{y + 16}" text-anchor="end" class="label">{_t(row.label)}</text>')
        x = float(label_width)
        for seg in row.segments:
            w = plot * seg.value / top_value
            parts.append(_rect(x, y + 4, w, row_h - 8, seg.color, seg.tip))
            x += w
        parts.append(f'<text x="{x + 6:.1f}" y="{y + 16}" class="value">{_t(row.note)}</text>')
    height = top * 2 + row_h * max(len(rows), 1)
    return frame(name, width, height, title, desc, "".join(parts))


def columns(
    name: str,
    title: str,
    desc: str,
    stacks: Sequence[Sequence[Segment]],
    labels: Sequence[str],
    *,
    y_label: str,
    y_max: float | None = None,
    percent: bool = False,
) -> str:
    """Vertical (stacked) columns with a y axis; ``labels`` under the columns (empty ones skipped)."""
    width, height, left, right, top, bottom = 640, 260, 52, 10, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    biggest = max((sum(s.value for s in stack) for stack in stacks), default=0.0)
    top_value, steps = (y_max, 4) if y_max is not None else ticks(biggest)
    parts = [
        f'<text x="12" y="{top + plot_h / 2:.0f}" transform="rotate(-90 12 {top + plot_h / 2:.0f})" '
        f'text-anchor="middle" class="axis">{_t(y_label)}</text>'
    ]
    for k in range(steps + 1):
        value = top_value * k / steps
        y = top + plot_h - plot_h * k / steps
        tick = f"{value:.0f}%" if percent else f"{value:,.4g}"
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{tick}</text>')
    slot = plot_w / max(len(stacks), 1)
    for i, stack in enumerate(stacks):
        x = left + i * slot + slot * 0.12
        y = float(top + plot_h)
        for seg in stack:
            h = plot_h * seg.value / top_value if top_value else 0.0
            y -= h
            parts.append(_rect(x, y, slot * 0.76, h, seg.color, seg.tip))
        if labels[i]:
            parts.append(
                f'<text x="{left + i * slot + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                f'class="tick">{_t(labels[i])}</text>'
            )
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="{FAINT}"/>')
    return frame(name, width, height, title, desc, "".join(parts))


def _blend(share: float) -> str:
    """A light-to-dark blue for 0..1."""
    low, high = (239, 243, 255), (8, 48, 107)
    r, g, b = (round(lo + (hi - lo) * share) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def heatmap(
    name: str, title: str, desc: str, cells: Sequence[Sequence[int]], rows: Sequence[str], tips: Sequence[Sequence[str]]
) -> str:
    """A rows x 24 grid (hours across), darker for more; a colour key below."""
    width, left, top, cell_w, cell_h = 640, 44, 22, 24.0, 26
    biggest = max((max(r) for r in cells), default=0) or 1
    parts = [
        f'<text x="{left + h * cell_w + cell_w / 2:.1f}" y="14" text-anchor="middle" class="tick">{h:02d}</text>'
        for h in range(0, 24, 2)
    ]
    for i, row in enumerate(cells):
        y = top + i * cell_h
        parts.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" class="label">{_t(rows[i])}</text>')
        for h, count in enumerate(row):
            color = _blend((count / biggest) ** 0.8)
            parts.append(_rect(left + h * cell_w + 1, y + 1, cell_w - 2, cell_h - 2, color, tips[i][h], ' rx="2"'))
    key_y = top + len(cells) * cell_h + 14
    for k in range(10):
        parts.append(f'<rect x="{left + k * 16}" y="{key_y}" width="16" height="10" fill="{_blend(k / 9)}"/>')
    parts.append(f'<text x="{left + 168}" y="{key_y + 9}" class="tick">0 to {biggest:,} calls an hour</text>')
    return frame(name, width, key_y + 20, title, desc, "".join(parts))
