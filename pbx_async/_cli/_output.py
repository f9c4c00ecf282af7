"""What the commands print: tables, JSON lines, summaries, progress; data on stdout, talk on stderr."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from collections.abc import Sequence
from datetime import datetime, time
from pathlib import Path
from typing import Any

from .. import CallSummary
from ..export import LogProgress, Progress, RichProgress

_CALL_COLUMNS = "{:<19}  {:<9} {:>14}  {:<14} {:>8}  {:<36}  {}"


def clock(moment: datetime | time) -> str:
    """A time as the user reads it: seconds, and a fraction only when there is one (never .000000)."""
    if isinstance(moment, datetime):
        return moment.replace(tzinfo=None).isoformat(sep=" ", timespec="auto")
    return moment.replace(tzinfo=None).isoformat(timespec="auto")


def call_header() -> str:
    return _CALL_COLUMNS.format("DATE", "DIRECTION", "FROM", "TO", "DURATION", "UUID", "LAST EVENT")


def call_line(call: CallSummary) -> str:
    return _CALL_COLUMNS.format(
        clock(call.date),
        call.direction.name.lower(),
        call.cid_num or "-",
        call.num_dialed or "-",
        f"{call.duration or 0}s",
        call.uuid,
        call.last_event or "",
    )


def json_line(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def progress(args: argparse.Namespace) -> Progress:
    """Bars on a terminal, plain lines on a pipe, nothing with --quiet or --json (stdout stays data).

    The bars need rich, which only the 'cli' extra installs: without it a terminal gets the plain lines too.
    """
    if args.quiet or args.json:
        return Progress()
    return RichProgress() if sys.stderr.isatty() and has_rich() else LogProgress()


def has_rich() -> bool:
    """Whether rich (the 'cli' extra) can be imported; asked without importing it."""
    try:
        return importlib.util.find_spec("rich") is not None
    except ValueError:  # a module object without a spec in sys.modules: not a usable rich
        return False


def summary(args: argparse.Namespace, counts: dict[str, Any], files: Sequence[Path]) -> None:
    """An export's summary: one line and the files written, one JSON line with --json, nothing with --quiet."""
    if args.json:
        print(json_line({**counts, "files": [str(f) for f in files]}))
        return
    if args.quiet:
        return
    d = counts["by_direction"]
    print(
        f"{counts['calls']} calls ({d['inbound']} inbound, {d['outbound']} outbound, {d['internal']} internal), "
        f"{counts['answered']} answered, {counts['voicemail']} to voicemail; {counts['events']} events; "
        f"{counts['recordings']} recordings ({counts['recording_bytes'] / 1e6:.1f} MB); "
        f"{counts['failures']} failures; {counts['elapsed_seconds']:.1f} s"
    )
    for path in files:
        print(f"  wrote {path}")


def say(args: argparse.Namespace, text: str) -> None:
    """A line for the user on stdout, unless --quiet, or --json (then stdout is the JSON alone)."""
    if not (getattr(args, "quiet", False) or getattr(args, "json", False)):
        print(text)
