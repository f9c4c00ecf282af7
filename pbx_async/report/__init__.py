"""A self-contained HTML report over an export's output: charts of the calls and sample call journeys.

    from pbx_async.report import write_html_report

    report = write_html_report("pbx-demo/calls.sqlite", "report.html")
    print(report.path, report.calls, report.size)

The source is any export output: the SQLite file (or a folder holding
``calls.sqlite``), JSON lines, or CSV / Parquet beside their ``-events`` file.
Journeys are those the export stored (a SQLite export's ``journeys`` table,
the ``-journeys`` file beside the others), else read from each call's events
(``pbx_async.call_journey``), so an export made without ``--details`` gives
the calendar and little else. The page needs no network: styles, the few
lines of script and every chart (inline SVG) are inside it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import attrs

from .._errors import StorageError
from .._records.calls import CallDetails
from ._gather import gather
from ._page import GENERATOR, render
from ._read import locate, read_calls

__all__ = ["HtmlReport", "read_export", "write_html_report"]


@attrs.frozen
class HtmlReport:
    """What ``write_html_report`` wrote: the file, its size in bytes, and the calls it covers."""

    path: Path
    size: int
    calls: int
    calls_with_events: int


def read_export(source: str | os.PathLike[str]) -> Iterator[CallDetails]:
    """Every call of an export output with its events, as ``CallDetails`` (in no promised order).

    for details in read_export("calls.sqlite"): print(call_journey(details).outcome)
    """
    path, kind = locate(Path(source))
    for item in read_calls(path, kind):
        yield item.details


def _ours(path: Path) -> bool:
    """True when the file at ``path`` is a report this library wrote (its generator tag is in the head)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(4096)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}">'.encode() in head


def write_html_report(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    title: str = "Call report",
    now: datetime | None = None,
) -> HtmlReport:
    """Write one HTML file at ``dest`` from the export at ``source``; returns what was written.

    An existing ``dest`` is replaced only when it is an earlier pbx-async report;
    any other file there is left alone (``StorageError``). The file is written
    beside ``dest`` first and renamed into place, so it is never half written.
    Raises ``ValidationError`` when ``source`` is not an export.
    """
    out = Path(dest)
    if out.exists() and (out.is_dir() or not _ours(out)):
        message = f"{out} exists and is not a report pbx-async wrote; choose another path or remove it"
        raise StorageError(errno.EEXIST, message)
    path, kind = locate(Path(source))
    stats = gather(path, kind)
    page = render(stats, title=title, source=path.name, generated=now or datetime.now(UTC))
    data = page.encode("utf-8")
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError.from_os_error(exc, f"writing the report {out}") from None
    return HtmlReport(out, len(data), stats.calls, stats.with_events)
