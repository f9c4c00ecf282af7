"""The report's charts, each a card: a heading, a one-line reading, the SVG, and its numbers as a table."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from html import escape

from ._stats import BUCKET_LABELS, Stats
from ._svg import PALETTE, Row, Segment, bars, columns, heatmap

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
QUEUE_OUTCOMES = (
    ("answered", "Answered", PALETTE["answered"]),
    ("abandoned", "Abandoned", PALETTE["abandoned"]),
    ("failover", "Failover", PALETTE["failover"]),
    ("callback", "Callback", PALETTE["callback"]),
    ("ended", "Hung up", PALETTE["ended"]),
)
VIAS = (
    ("extension", "Extension", PALETTE["blue"]),
    ("ring group", "Ring group", PALETTE["voicemail"]),
    ("queue", "Queue", PALETTE["answered"]),
)


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


def duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds} s" if seconds < 60 else f"{seconds // 60}:{seconds % 60:02d}"


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = "".join(f"<th scope='col'>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    table = f"<table><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"
    return f"<details><summary>The numbers</summary>{table}</details>"


def legend(items: Sequence[tuple[str, str]]) -> str:
    keys = "".join(f'<span><i style="background:{c}"></i>{escape(n)}</span>' for n, c in items)
    return f'<div class="legend">{keys}</div>'


def card(name: str, title: str, lede: str, figure: str, table: str = "", key: str = "", wide: bool = False) -> str:
    cls = "card wide" if wide else "card"
    return (
        f'<section class="{cls}" id="{name}"><h2>{escape(title)}</h2><p class="lede">{escape(lede)}</p>{key}'
        f'<figure class="chart" data-chart="{name}">{figure}</figure>{table}</section>'
    )


def empty(name: str, title: str, why: str) -> str:
    return f'<section class="card" id="{name}"><h2>{escape(title)}</h2><p class="empty">{escape(why)}</p></section>'


def week(s: Stats) -> str:
    title = "Calls per hour of the week"
    tips = [
        [
            f"{DAYS[d]} {h:02d}:00-{h:02d}:59: {s.week[d][h]:,} calls ({s.week_inbound[d][h]:,} inbound)"
            for h in range(24)
        ]
        for d in range(7)
    ]
    busiest = max(((s.week[d][h], d, h) for d in range(7) for h in range(24)), default=(0, 0, 0))
    lede = f"Busiest hour: {DAYS[busiest[1]]} {busiest[2]:02d}:00 with {busiest[0]:,} calls. Times as exported."
    svg = heatmap("week", title, lede, s.week, DAYS, tips)
    rows = [(DAYS[d], *s.week[d]) for d in range(7)]
    return card("week", title, lede, svg, _table(("Day", *(f"{h:02d}" for h in range(24))), rows), wide=True)


def dids(s: Stats) -> str:
    title = "Answer rate by DID"
    if not s.dids:
        return empty("dids", title, "No inbound calls with events in this export.")
    ranked = sorted(s.dids.items(), key=lambda kv: (-kv[1][0], kv[0]))[:12]
    rows = []
    for did, (calls, answered) in ranked:
        name = s.did_names.get(did, "")
        label = f"{name} ({did[-4:]})" if name else did
        rows.append(
            Row(
                label,
                (
                    Segment(answered, PALETTE["answered"], f"{label}: {answered:,} of {calls:,} answered"),
                    Segment(calls - answered, PALETTE["muted"], f"{label}: {calls - answered:,} not answered"),
                ),
                f"{pct(answered, calls)} of {calls:,}",
            )
        )
    best = max(ranked, key=lambda kv: kv[1][1] / kv[1][0])
    best_name = s.did_names.get(best[0], best[0])
    lede = f"Inbound calls per number dialled; best answered: {best_name} ({pct(best[1][1], best[1][0])})."
    table = _table(
        ("DID", "Description", "Calls", "Answered", "Rate"),
        [(d, s.did_names.get(d, ""), c, a, pct(a, c)) for d, (c, a) in ranked],
    )
    key = legend((("Answered", PALETTE["answered"]), ("Not answered", PALETTE["muted"])))
    return card("dids", title, lede, bars("dids", title, lede, rows), table, key)


def hours(s: Stats) -> str:
    title = "Answer rate by hour of day"
    if not any(c for c, _ in s.hours):
        return empty("hours", title, "No inbound calls with events in this export.")
    stacks = [
        [Segment(100 * a / c if c else 0, PALETTE["answered"], f"{h:02d}:00: {pct(a, c)} of {c:,} inbound answered")]
        for h, (c, a) in enumerate(s.hours)
    ]
    labels = [f"{h:02d}" if h % 3 == 0 else "" for h in range(24)]
    worst = min((h for h in range(24) if s.hours[h][0] >= 5), key=lambda h: s.hours[h][1] / s.hours[h][0], default=0)
    low = pct(s.hours[worst][1], s.hours[worst][0])
    lede = f"Share of inbound calls answered, by the hour they came in; lowest: {worst:02d}:00 ({low})."
    svg = columns("hours", title, lede, stacks, labels, y_label="answered", y_max=100, percent=True)
    table = _table(
        ("Hour", "Inbound", "Answered", "Rate"), [(f"{h:02d}", c, a, pct(a, c)) for h, (c, a) in enumerate(s.hours)]
    )
    return card("hours", title, lede, svg, table)


def queues(s: Stats) -> str:
    title = "Queues: outcomes and waits"
    if not s.queues:
        return empty("queues", title, "No queue visits in this export.")
    rows, table = [], []
    for name in sorted(s.queues, key=lambda n: (-sum(s.queues[n].values()), n)):
        counts = s.queues[name]
        total = sum(counts.values())
        waits = sorted(s.queue_waits.get(name, []))
        median = duration(statistics.median(waits)) if waits else "-"
        p90 = duration(waits[int(0.9 * (len(waits) - 1))]) if waits else "-"
        segs = tuple(
            Segment(counts[k], c, f"{name}: {counts[k]:,} {label.lower()} ({pct(counts[k], total)})")
            for k, label, c in QUEUE_OUTCOMES
            if counts[k]
        )
        rows.append(Row(name, segs, f"{pct(counts['abandoned'], total)} abandoned"))
        table.append((name, total, *(counts[k] for k, _, _ in QUEUE_OUTCOMES), median, p90))
    lede = "Each queue's visits by how they ended, then how long callers waited (the table: waits before an answer)."
    key = legend([(label, c) for _, label, c in QUEUE_OUTCOMES])
    head = ("Queue", "Visits", *(label for _, label, _ in QUEUE_OUTCOMES), "Median wait", "90% within")
    figure = bars("queues", title, lede, rows)
    stacks = [
        [
            Segment(
                s.wait_buckets.get(kind, [0] * 8)[b],
                c,
                f"{BUCKET_LABELS[b]}: {s.wait_buckets.get(kind, [0] * 8)[b]:,} {label.lower()}",
            )
            for kind, label, c in (
                ("answered", "Answered", PALETTE["answered"]),
                ("abandoned", "Abandoned", PALETTE["abandoned"]),
                ("other", "Other", PALETTE["ended"]),
            )
        ]
        for b in range(len(BUCKET_LABELS))
    ]
    wait_chart = columns(
        "queue-waits",
        "Time waited in a queue",
        "Visits by how long the caller waited, split by how the wait ended",
        stacks,
        BUCKET_LABELS,
        y_label="visits",
    )
    return card("queues", title, lede, figure + wait_chart, _table(head, table), key)


def ivr(s: Stats) -> str:
    title = "IVR option funnel"
    heard = s.ivr["heard"]
    if not heard:
        return empty("ivr", title, "No IVR menus in this export.")
    steps = (
        ("Heard a menu", heard),
        ("Chose an option or dialled", s.ivr["chose"]),
        ("Reached a queue, group or phone", s.ivr["reached"]),
        ("Answered by a person", s.ivr["answered"]),
    )
    rows = [
        Row(
            label,
            (Segment(n, PALETTE["blue"], f"{label}: {n:,} ({pct(n, heard)} of callers who heard a menu)"),),
            f"{n:,} ({pct(n, heard)})",
        )
        for label, n in steps
    ]
    timeouts, invalid = pct(s.ivr["timeout"], heard), pct(s.ivr["invalid"], heard)
    lede = f"{timeouts} of callers let a menu time out; {invalid} pressed an invalid option at least once."
    funnel = bars("ivr", title, lede, rows, label_width=230)
    ranked = sorted(s.options.items(), key=lambda kv: (-kv[1][0], kv[0]))[:12]
    option_rows = [
        Row(
            name,
            (
                Segment(a, PALETTE["answered"], f"{name}: {a:,} answered"),
                Segment(c - a, PALETTE["muted"], f"{name}: {c - a:,} not answered"),
            ),
            f"{c:,}, {pct(a, c)} answered",
        )
        for name, (c, a) in ranked
    ]
    options = bars(
        "ivr-options",
        "Options pressed, by menu",
        "Calls per last option pressed and how many were answered",
        option_rows,
        label_width=230,
    )
    table = _table(
        ("Step", "Calls", "Share"),
        [(label, n, pct(n, heard)) for label, n in steps]
        + [(f"Option {k}", c, pct(a, c) + " answered") for k, (c, a) in ranked],
    )
    key = legend((("Callers", PALETTE["blue"]), ("Answered", PALETTE["answered"]), ("Not answered", PALETTE["muted"])))
    return card("ivr", title, lede, funnel + options, table, key)


def extensions(s: Stats) -> str:
    title = "Busiest extensions"
    if not s.extensions:
        return empty("extensions", title, "No answered calls or voicemails in this export.")
    ranked = sorted(s.extensions.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:12]
    rows = []
    for number, (answered, voicemails) in ranked:
        label = f"{number} {s.extension_names.get(number, '')}".strip()
        rows.append(
            Row(
                label,
                (
                    Segment(answered, PALETTE["answered"], f"{label}: {answered:,} calls answered"),
                    Segment(voicemails, PALETTE["voicemail"], f"{label}: {voicemails:,} voicemails"),
                ),
                f"{answered:,} + {voicemails:,}",
            )
        )
    lede = "Calls each extension answered, and calls sent to its voicemail."
    key = legend((("Answered", PALETTE["answered"]), ("Voicemail", PALETTE["voicemail"])))
    table = _table(
        ("Extension", "Name", "Answered", "Voicemails"),
        [(n, s.extension_names.get(n, ""), a, v) for n, (a, v) in ranked],
    )
    return card("extensions", title, lede, bars("extensions", title, lede, rows), table, key)


def answer_times(s: Stats) -> str:
    title = "Ring-to-answer times"
    if not s.answer_times:
        return empty("answer-times", title, "No answered inbound or internal calls in this export.")
    stacks = [
        [
            Segment(
                s.answer_buckets.get(via, [0] * 8)[b],
                c,
                f"{BUCKET_LABELS[b]}: {s.answer_buckets.get(via, [0] * 8)[b]:,} via {label.lower()}",
            )
            for via, label, c in VIAS
        ]
        for b in range(len(BUCKET_LABELS))
    ]
    median = statistics.median(s.answer_times)
    lede = f"Seconds from the call's start to a person answering, by how it was picked up; median {duration(median)}."
    svg = columns("answer-times", title, lede, stacks, BUCKET_LABELS, y_label="calls answered")
    table = _table(
        ("Time to answer", *(label for _, label, _ in VIAS)),
        [
            (BUCKET_LABELS[b], *(s.answer_buckets.get(v, [0] * 8)[b] for v, _, _ in VIAS))
            for b in range(len(BUCKET_LABELS))
        ],
    )
    return card("answer-times", title, lede, svg, table, legend([(label, c) for _, label, c in VIAS]))


def recordings(s: Stats) -> str:
    title = "Recording coverage"
    if not s.recordings:
        return empty("recordings", title, "No answered calls in this export.")
    rows, table = [], []
    for direction in ("inbound", "outbound", "internal"):
        answered, recorded, downloaded = s.recordings.get(direction, [0, 0, 0])
        if not answered:
            continue
        name = direction.capitalize()
        if s.downloads_known:
            segs: tuple[Segment, ...] = (
                Segment(downloaded, PALETTE["answered"], f"{name}: {downloaded:,} recorded and downloaded"),
                Segment(
                    recorded - downloaded,
                    PALETTE["failover"],
                    f"{name}: {recorded - downloaded:,} recorded, not downloaded",
                ),
            )
        else:
            segs = (Segment(recorded, PALETTE["answered"], f"{name}: {recorded:,} recorded"),)
        rows.append(
            Row(
                name,
                (
                    *segs,
                    Segment(answered - recorded, PALETTE["muted"], f"{name}: {answered - recorded:,} not recorded"),
                ),
                f"{pct(recorded, answered)} of {answered:,}",
            )
        )
        table.append((name, answered, recorded, downloaded if s.downloads_known else "-", pct(recorded, answered)))
    lede = "Answered calls with a recording, by direction" + (
        ", and whether its file was downloaded." if s.downloads_known else "."
    )
    items = (
        [("Recorded, downloaded", PALETTE["answered"]), ("Recorded, not downloaded", PALETTE["failover"])]
        if s.downloads_known
        else [("Recorded", PALETTE["answered"])]
    )
    key = legend([*items, ("Not recorded", PALETTE["muted"])])
    svg = bars("recordings", title, lede, rows, label_width=110)
    return card(
        "recordings",
        title,
        lede,
        svg,
        _table(("Direction", "Answered", "Recorded", "Downloaded", "Coverage"), table),
        key,
    )
