"""Splitting an export's window into chunks that never straddle "now"."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone

import attrs


@attrs.frozen
class Chunk:
    """A time window of the export, inclusive at both ends, in the export's UTC offset.

    ``closed`` chunks end before "now": once done they stay done. The open
    chunk (the part of today still happening) is listed again at the end of
    every run, since calls keep arriving in it.
    """

    start: datetime
    end: datetime
    closed: bool

    @property
    def key(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def plan(first: date, last: date, utc_offset: int, now: datetime) -> Iterator[Chunk]:
    """One chunk a day from ``first`` to ``last``; the day holding ``now`` splits at the minute."""
    tz = timezone(timedelta(minutes=utc_offset))
    now = now.astimezone(tz).replace(second=0, microsecond=0)
    day = first
    while day <= last:
        start = datetime.combine(day, time(0, 0, 0), tz)
        end = datetime.combine(day, time(23, 59, 59), tz)
        if end < now:
            yield Chunk(start, end, closed=True)
        elif start >= now:
            yield Chunk(start, end, closed=False)
        else:
            yield Chunk(start, now - timedelta(seconds=1), closed=True)
            yield Chunk(now, end, closed=False)
        day += timedelta(days=1)
