"""The demo's short report, straight from an export's SQLite file (opened read-only)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from .._errors import ValidationError
from .sinks._schema import COUNTS_QUERY, Counts

_PER_DAY = (
    "SELECT substr(date, 1, 10) AS day, sum(direction = 'inbound'), sum(direction = 'outbound'), "
    "sum(direction = 'internal') FROM calls GROUP BY day ORDER BY day"
)
_TOP_DIDS = (
    "SELECT num_dialed, coalesce(did_description, ''), count(*) AS n FROM calls "
    "WHERE direction = 'inbound' GROUP BY num_dialed ORDER BY n DESC LIMIT 5"
)
_BUSIEST_EXTENSIONS = (  # type 4: a call answered at an extension
    "SELECT json_extract(fields, '$.ext_num') AS ext, json_extract(fields, '$.ext_name'), count(*) AS n "
    "FROM events WHERE type_id = 4 GROUP BY ext ORDER BY n DESC LIMIT 5"
)


def report(path: Path) -> str:
    """Calls per day and direction, answer rate, top DIDs, busiest extensions, as text.

        print(report(Path("pbx-demo/calls.sqlite")))

    A file that is missing or is not an export is a ``ValidationError``; the file is never written.
    """
    if not Path(path).is_file():
        raise ValidationError(f"{path} is not an export file (no such file)")
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    try:
        counts = Counts.from_row(db.execute(COUNTS_QUERY).fetchone())
        lines = ["Calls per day            inbound  outbound  internal"]
        for day, inbound, outbound, internal in db.execute(_PER_DAY):
            lines.append(f"  {day}             {inbound:>7}  {outbound:>8}  {internal:>8}")
        rate = 100 * counts.inbound_answered / counts.inbound if counts.inbound else 0.0
        lines.append(f"Answer rate (inbound): {rate:.1f}% of {counts.inbound} calls")
        lines.append("Top DIDs:")
        for did, description, count in db.execute(_TOP_DIDS):
            lines.append(f"  {did:<14} {description:<18} {count:>6}")
        lines.append("Busiest extensions (calls answered):")
        for ext, name, count in db.execute(_BUSIEST_EXTENSIONS):
            lines.append(f"  {ext:<6} {name or '':<20} {count:>6}")
        return "\n".join(lines)
    except sqlite3.DatabaseError as exc:
        raise ValidationError(f"{path} is not an export file ({exc})") from None
    finally:
        db.close()
