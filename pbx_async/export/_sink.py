"""Where an export writes: the ``Sink`` protocol, the account a row belongs to, and ``open_sink``.

Two sinks share one schema (``_schema``): SQLite (a file; the single export's
store and output) and PostgreSQL (one database for many shard processes). Every
write is an upsert keyed by UUID, so any number of reruns and overlapping
shards converge on each call, event and recording exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

import attrs

from .._errors import ValidationError
from .._records.calls import CallDetails, CallSummary
from .._records.recordings import RecordingFile


@attrs.frozen
class Account:
    """Which PBX account rows come from: stored with every call."""

    container_id: str
    tenant_id: int = 0


class Sink(Protocol):
    """What the export pipeline needs of a database."""

    async def upsert_calls(self, account: Account, calls: Sequence[CallSummary]) -> None:
        """Insert or update calls (one transaction)."""

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        """Each call's events and its ``details_done`` flag (one transaction for the batch)."""

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        """The downloaded file's path, size and checksum."""

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        """UUIDs of the account's calls in the window whose events are not stored yet."""

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """(UUID, recording URL) of the account's recorded calls in the window without a stored file."""

    async def shard_done(self, key: str) -> bool:
        """Whether the shard with this key finished (closed windows only)."""

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        """Record a closed shard as finished."""

    async def close(self) -> None:
        """Release the connection."""


def after(end: datetime) -> datetime:
    """The exclusive bound just past an inclusive window end of whole seconds (a 09:59:59.5 call is inside)."""
    return end + timedelta(seconds=1)


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "the sink URL"  # unparsable: nothing of it is repeated
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


async def open_sink(url: str) -> Sink:
    """A sink for ``postgresql://...`` or ``sqlite:///file`` (schema created or migrated on open).

    sink = await open_sink("postgresql://export@db.internal/calls")
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - read for its error: a port that is not a number
    except ValueError as exc:
        raise ValidationError(f"--sink is not a usable URL ({exc}); e.g. postgresql://user@host:5432/db") from None
    scheme = parts.scheme.lower()
    if scheme in ("postgresql", "postgres"):
        from ._postgres import PostgresSink

        return await PostgresSink.connect(url)
    if scheme == "sqlite":
        from ._sqlite import SqliteSink

        # As SQLAlchemy spells it: sqlite:///relative.sqlite, sqlite:////absolute/path.sqlite
        path = url[len("sqlite:///") :] if url.lower().startswith("sqlite:///") else ""
        if not path:
            raise ValidationError(
                f"a SQLite sink is sqlite:///relative/file.sqlite or sqlite:////abs/path, got {url!r}"
            )
        return SqliteSink(Path(path))
    raise ValidationError(f"--sink must be postgresql://... or sqlite:///path, got {redact_url(url)!r}")
