"""What the export needs of a database (``Sink``), and the account a stored call belongs to.

Every write is an upsert keyed by UUID, so any number of reruns and
overlapping shards converge on each call, event and recording exactly once.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

import attrs

from ..._records.calls import CallDetails, CallSummary
from ..._records.recordings import RecordingFile
from ._schema import Counts


@attrs.frozen
class Account:
    """Which PBX account rows come from: stored with every call.

    await sink.upsert_calls(Account("123456", tenant_id=0), calls)
    """

    container_id: str
    tenant_id: int = 0


@attrs.frozen
class Upserted:
    """Which calls of an upsert were new to the sink, and which had changed (notes, flag, severity,
    transcription or recording presence) since they were stored."""

    new: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@attrs.frozen
class SyncState:
    """What a sink keeps of an account's sync: its request, base URL, how far it is complete, who runs it."""

    spec: str
    base_url: str
    watermark: datetime | None = None
    holder: str | None = None


class Sink(Protocol):
    """What the export needs of a database; windows are inclusive at both ends, in whole seconds.

    sink = await open_sink("sqlite:///calls.sqlite")
    """

    async def upsert_calls(
        self, account: Account, calls: Sequence[CallSummary], *, seen: datetime | None = None
    ) -> Upserted:
        """Insert or update calls (one transaction); ``seen`` (default now) is when they were listed."""

    async def save_details(self, batch: Sequence[CallDetails]) -> None:
        """Each call's events and its ``details_done`` flag (one transaction for the batch)."""

    async def save_recording(self, call_uuid: str, rec: RecordingFile) -> None:
        """The downloaded file's path, size and checksum."""

    async def save_recordings(self, batch: Sequence[RecordingFile]) -> None:
        """Each downloaded file's path, size and checksum, under its ``call_uuid`` (one transaction)."""

    async def calls_needing_details(self, account: Account, start: datetime, end: datetime) -> list[str]:
        """UUIDs of the account's calls in the window whose events are not stored yet."""

    async def calls_needing_recordings(self, account: Account, start: datetime, end: datetime) -> list[tuple[str, str]]:
        """(UUID, recording URL) of the account's recorded calls in the window without a stored file."""

    async def details_missing(self, uuids: Sequence[str]) -> list[str]:
        """Which of these calls have no stored events yet."""

    async def recordings_missing(self, uuids: Sequence[str]) -> list[tuple[str, str]]:
        """(UUID, recording URL) of these calls that are recorded and have no stored file yet."""

    async def shard_done(self, key: str) -> bool:
        """Whether the shard with this key finished (closed windows only)."""

    async def mark_shard(self, key: str, account: Account, start: datetime, end: datetime) -> None:
        """Record a closed shard as finished."""

    async def sync_state(self, account: Account) -> SyncState | None:
        """The account's sync, if one ran into this sink."""

    async def save_sync_state(self, account: Account, state: SyncState) -> None:
        """Record the account's sync (its watermark moves on as windows complete)."""

    def hold(self, account: Account, holder: str) -> AbstractAsyncContextManager[None]:
        """Be the account's only sync into this sink for the block; ``ValidationError`` naming the holder if taken."""
        ...

    async def counts(self) -> Counts:
        """What the database holds: calls by direction, answered, voicemail; events; recordings."""
        ...

    async def close(self) -> None:
        """Release the connection."""
