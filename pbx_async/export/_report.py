"""The demo's short report, straight from an export's SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def report(path: Path) -> str:
    """Calls per day and direction, answer rate, top DIDs, busiest extensions."""
    db = sqlite3.connect(path)
    try:
        lines = ["Calls per day            inbound  outbound  internal"]
        query = (
            "SELECT substr(date, 1, 10) AS day, sum(direction = 'inbound'), sum(direction = 'outbound'), "
            "sum(direction = 'internal') FROM calls GROUP BY day ORDER BY day"
        )
        for day, inbound, outbound, internal in db.execute(query):
            lines.append(f"  {day}             {inbound:>7}  {outbound:>8}  {internal:>8}")
        answered, inbound = db.execute(
            "SELECT sum(spoke_to_person), count(*) FROM calls WHERE direction = 'inbound'"
        ).fetchone()
        rate = 100 * (answered or 0) / inbound if inbound else 0.0
        lines.append(f"Answer rate (inbound): {rate:.1f}% of {inbound} calls")
        lines.append("Top DIDs:")
        query = (
            "SELECT num_dialed, coalesce(did_description, ''), count(*) AS n FROM calls "
            "WHERE direction = 'inbound' GROUP BY num_dialed ORDER BY n DESC LIMIT 5"
        )
        for did, description, count in db.execute(query):
            lines.append(f"  {did:<14} {description:<18} {count:>6}")
        lines.append("Busiest extensions (calls answered):")
        query = (
            "SELECT json_extract(fields, '$.ext_num') AS ext, json_extract(fields, '$.ext_name'), count(*) AS n "
            "FROM events WHERE type_id = 4 GROUP BY ext ORDER BY n DESC LIMIT 5"
        )
        for ext, name, count in db.execute(query):
            lines.append(f"  {ext:<6} {name or '':<20} {count:>6}")
        return "\n".join(lines)
    finally:
        db.close()
