"""Where an export writes: the ``Sink`` protocol, the account a row belongs to, and ``open_sink``.

    sink = await open_sink("postgresql://export@db.internal/calls")   # or "sqlite:///calls.sqlite"
    try:
        await run_shard(session, sink, shard, Work(details=True))
    finally:
        await sink.close()

Two sinks share one schema (``_schema``: tables, migrations, rows, statements
and counts): SQLite (a file; the single export's store and output) and
PostgreSQL (one database for many shard processes). ``open_sink`` is the only
place that chooses between them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from ..._errors import ValidationError
from ._postgres import PostgresSink, redact_url
from ._protocol import Account, Sink, SyncState, Upserted
from ._sqlite import SqliteSink

__all__ = ["Account", "Sink", "SyncState", "Upserted", "open_sink"]


async def open_sink(url: str) -> Sink:
    """A sink for ``postgresql://...`` or ``sqlite:///file`` (schema created or migrated on open).

    sink = await open_sink("postgresql://export@db.internal/calls")
    """
    error: ValidationError | None = None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for its error: a port that is not a number
    except ValueError:
        # The parser's own words would quote the part it choked on: often a piece of a password.
        error = ValidationError(
            f"--sink is not a usable URL: {redact_url(url)!r}; a password holding / ? # or @ must be "
            f"percent-encoded (%2F %3F %23 %40); e.g. postgresql://user@host:5432/db"
        )
    if error is not None:
        raise error
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return await PostgresSink.connect(url)
    if scheme == "sqlite":
        # As SQLAlchemy spells it: sqlite:///relative.sqlite, sqlite:////absolute/path.sqlite
        path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise ValidationError(
                f"a SQLite sink is sqlite:///relative/file.sqlite or sqlite:////abs/path, got {url!r}"
            )
        return await SqliteSink.open(Path(path))
    raise ValidationError(f"--sink must be postgresql://... or sqlite:///path, got {redact_url(url)!r}")
