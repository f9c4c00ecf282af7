"""The SQLite sink asks about calls by UUID in a few statement shapes, whatever the counts asked about.

SQLite keeps every statement it has prepared (128 of them) for the life of the
connection: one shape per count of UUIDs would fill that cache with near copies
over a long export, tens of kB each, and its memory would grow with its days.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pbx_async.export.sinks import Account
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator

pytestmark = pytest.mark.anyio


class _Noting:
    """The sink's connection, noting the text of every statement run through it."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db
        self.texts: set[str] = set()

    def execute(self, statement: str, *params: Any) -> sqlite3.Cursor:
        self.texts.add(statement)
        return self.db.execute(statement, *params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


async def test_queries_by_uuid_take_a_few_shapes_and_answer_exactly(tmp_path: Path) -> None:
    sim = Simulator(calls=700, days=4, seed=11)
    calls = sim.truth_calls()
    sink = await SqliteSink.open(tmp_path / "calls.sqlite")
    noting = _Noting(sink.db)
    sink.db = noting  # type: ignore[assignment]
    try:
        account = Account(sim.container_id)
        start = 0
        for size in range(1, 40):  # batches of every length from 1 up, as windows of any size would store
            await sink.upsert_calls(account, calls[start : start + size])
            start += size
        await sink.upsert_calls(account, calls[start:])
        detailed = calls[::3]
        await sink.save_details([sim.truth_details(c.uuid) for c in detailed])
        done = {c.uuid for c in detailed}
        uuids = [c.uuid for c in calls]
        recorded = {c.uuid for c in calls if c.recorded}
        for count in [*range(1, 520, 3), 600, 700]:
            asked = uuids[:count]
            lacking = await sink.details_missing(asked)
            assert sorted(lacking) == sorted(u for u in asked if u not in done)
            unrecorded = await sink.recordings_missing(asked)
            assert sorted(u for u, _ in unrecorded) == sorted(u for u in asked if u in recorded)
    finally:
        await sink.close()
    by_uuid = {text for text in noting.texts if " IN (" in text}
    # Three queries (stored calls, lacking details, lacking recordings), ten lengths each at most;
    # one a length would have been hundreds.
    assert len(by_uuid) <= 30
