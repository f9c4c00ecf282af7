"""The streaming export pipeline (issue 17): stages overlap, memory stays bounded, the result and the
checkpoints are those of the phase-by-phase reference. Interrupted runs: test_pipeline_kills.py."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import pytest

from pbx_async import PbxSession, RetryPolicy
from pbx_async.export import Account, ExportSpec, Progress, Window, Work, run_export
from pbx_async.export import _pipeline as pipeline
from pbx_async.export import _window as window_job
from pbx_async.export._progress import Flow
from pbx_async.export._window import export_window
from pbx_async.export.sinks._sqlite import SqliteSink
from pbx_async.testing import Simulator, SimulatorTransport
from tests.export.current import read_sqlite, truth

pytestmark = pytest.mark.anyio

FIRST, LAST = date(2026, 10, 29), date(2026, 11, 2)  # every day of a 4-day simulator ending 2026-11-02 17:00
LATER = datetime(2026, 11, 27, tzinfo=UTC)  # every day long over: finished days are checkpointed
QUICK_RETRY = RetryPolicy(max_attempts=2, initial_backoff=0.001, max_backoff=0.01, max_elapsed=5)


@attrs.frozen
class Span:
    """One request as the transport saw it: its endpoint, the day it is about, when it started and ended."""

    kind: str  # "list", "details" or "recording"
    day: str  # the listed day, or the day of the call whose details these are ("" for a recording)
    start: float
    end: float

    def covers(self, moment: float) -> bool:
        return self.start < moment < self.end


class Recorder(httpx.AsyncBaseTransport):
    """The simulator's transport, recording every request's span and the most requests in flight at once."""

    def __init__(self, sim: Simulator) -> None:
        self.sim, self.inner = sim, SimulatorTransport(sim)
        self.spans: list[Span] = []
        self.in_flight = self.most = 0
        self.fail_details: set[str] = set()  # calls whose timeline the server fails (500) every time
        self.fail_recordings: set[str] = set()  # calls whose recording the server fails every time

    def _what(self, request: httpx.Request) -> tuple[str, str]:
        path, params = request.url.path, request.url.params
        if path.endswith("call_list.php"):
            return "list", params["fromDate"][:10]
        if path.endswith("call_details.php"):
            return "details", self.sim.truth_call(params["callUUID"]).date.date().isoformat()
        return "recording", ""

    def _failing(self, request: httpx.Request, kind: str) -> bool:
        if kind == "details":
            return request.url.params["callUUID"] in self.fail_details
        if kind == "recording":
            return any(self.sim.file_name(uuid) in str(request.url) for uuid in self.fail_recordings)
        return False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        kind, day = self._what(request)
        start = anyio.current_time()
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            if self._failing(request, kind):
                await anyio.sleep(self.sim.latency)
                return httpx.Response(500, text="<html>The server had a problem.</html>", request=request)
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1
            self.spans.append(Span(kind, day, start, anyio.current_time()))

    def of(self, kind: str, day: str | None = None) -> list[Span]:
        return [s for s in self.spans if s.kind == kind and (day is None or s.day == day)]


@asynccontextmanager
async def session_over(
    transport: httpx.AsyncBaseTransport, sim: Simulator, **options: Any
) -> AsyncIterator[PbxSession]:
    async with (
        httpx.AsyncClient(transport=transport, base_url=sim.public_url) as client,
        PbxSession(sim.auth, sim.container_id, base_url=sim.public_url, http_client=client, **options) as session,
    ):
        yield session


def spec_for(tmp_path: Path, name: str = "calls", **options: Any) -> ExportSpec:
    options = {"details": True, "recordings": tmp_path / f"{name}-recordings", **options}
    return ExportSpec(FIRST, LAST, out=tmp_path / f"{name}.sqlite", **options)


def export_days() -> list[date]:
    return [FIRST + timedelta(days=i) for i in range((LAST - FIRST).days + 1)]


def days_done(path: Path) -> set[str]:
    """The days the store has checkpointed, by date."""
    with sqlite3.connect(path) as db:
        return {row[0][:10] for row in db.execute("SELECT start FROM export_chunks")}


def by_day(sim: Simulator) -> dict[str, list[str]]:
    days: dict[str, list[str]] = {}
    for call in sim.truth_calls():
        days.setdefault(call.date.date().isoformat(), []).append(call.uuid)
    return days


# -- overlap -------------------------------------------------------------------------------------------------


async def test_the_next_day_is_listed_while_timelines_and_recordings_run_together_at_the_limit(
    tmp_path: Path,
) -> None:
    sim = Simulator(calls=160, days=4, seed=71, sample_rate=100, latency=0.03)
    transport = Recorder(sim)
    async with session_over(transport, sim, max_concurrency=4) as session:  # the export widens it to 8
        result = await run_export(session, spec_for(tmp_path, concurrency=8), now=LATER)
    assert result.failures == 0 and result.calls == len(sim)
    days = [d.isoformat() for d in export_days()]
    # Phase by phase, a day is listed once the day before is drained; here its listing starts while the
    # day before still has timelines to fetch (whatever else may also start early).
    for day, following in itertools.pairwise(days):
        listed = min(s.start for s in transport.of("list", following))
        assert listed < max(s.end for s in transport.of("details", day)), f"{following} waited for {day} to drain"
    details, recordings = transport.of("details"), transport.of("recording")
    together = [r for r in recordings if any(d.covers(r.start) or r.covers(d.start) for d in details)]
    assert together, "timelines and recordings never ran at the same time"
    assert transport.most == 8  # both stages and the listing share the export's one limit, and fill it


# -- bounded memory --------------------------------------------------------------------------------------------


class Watch(Progress):
    """Records, at each batch listed, how many calls were listed and not yet finished; and every Flow."""

    def __init__(self) -> None:
        super().__init__()
        self.unfinished: list[int] = []
        self.flows: list[Flow] = []

    def on_listed(self, count: int) -> None:
        super().on_listed(count)
        self.unfinished.append(self.listed - (self.detailed + self.failed))

    def on_flow(self, flow: Flow) -> None:
        super().on_flow(flow)
        self.flows.append(flow)


async def test_the_listing_waits_while_too_many_calls_are_unfinished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "UNFINISHED", 20)
    # Each window being listed holds at most one batch listed and not yet queued: past the bound by these.
    monkeypatch.setattr(window_job, "LIST_BATCH", 25)  # list_calls hands over batches of this size
    monkeypatch.setattr(pipeline, "LISTING_AHEAD", 2)
    monkeypatch.setattr(pipeline, "FLOW_EVERY", 0.02)
    monkeypatch.setattr(pipeline, "COALESCE", 0.005)  # the writer waits no longer for a batch it cannot fill
    sim = Simulator(calls=200, days=4, seed=72, sample_rate=100, latency=0.005)  # a page a day, listed at once
    watch = Watch()
    async with sim.session(max_concurrency=4) as session:
        result = await run_export(session, spec_for(tmp_path), watch, now=LATER)
    assert max(watch.unfinished) <= 20 + 2 * 25, f"the listing ran ahead: {max(watch.unfinished)} calls unfinished"
    assert watch.flows, "no Flow was reported"
    assert max(f.details + f.recordings for f in watch.flows) <= 20
    assert all(f.limit == 4 and 0 <= f.in_flight <= 4 for f in watch.flows)
    assert result.failures == 0
    assert read_sqlite(spec_for(tmp_path).out) == truth(sim)  # still every call, event and recording


# -- the reference -------------------------------------------------------------------------------------------


def _table(path: Path, query: str, folder: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(query).fetchall()
    return [tuple(Path(v).relative_to(folder).as_posix() if isinstance(v, str) and v.startswith(str(folder)) else v
                  for v in row) for row in rows]  # fmt: skip


async def test_the_pipeline_stores_what_the_phase_by_phase_export_stores(tmp_path: Path) -> None:
    sim = Simulator(calls=150, days=4, seed=73, sample_rate=100, jitter=0.004)
    spec = spec_for(tmp_path, "pipeline")
    async with sim.session(max_concurrency=8) as session:
        result = await run_export(session, spec, now=LATER)
        reference = tmp_path / "reference.sqlite"
        sink = await SqliteSink.open(reference)
        try:
            work = Work(details=True, recordings=tmp_path / "reference-recordings", concurrency=8)
            account = Account(session.container_id, session.tenant_id)
            for day in export_days():
                window = Window(datetime.combine(day, time(0), UTC), datetime.combine(day, time(23, 59, 59), UTC))
                done = await export_window(session, sink, account, window, work, Progress(), seen=LATER)
                assert done.failures == done.missing == 0
        finally:
            await sink.close()
    assert result.failures == 0 and (result.calls, result.events) == (len(sim), sum(
        len(sim.truth_details(u).events) for u in sim.uuids()))  # fmt: skip
    for table, key in (("calls", "uuid"), ("events", "uuid"), ("recordings", "call_uuid"), ("journeys", "call_uuid")):
        query = f"SELECT * FROM {table} ORDER BY {key}"  # noqa: S608 - our own table names
        ours = _table(spec.out, query, tmp_path / "pipeline-recordings")
        assert ours == _table(reference, query, tmp_path / "reference-recordings"), table
        assert ours, table
    assert read_sqlite(spec.out) == truth(sim)


# -- checkpoints -----------------------------------------------------------------------------------------------


def _failing_calls(sim: Simulator, days: list[str], recorded: bool) -> set[str]:
    """Two calls of each of ``days`` (recorded ones when ``recorded``)."""
    calls = by_day(sim)
    return {u for day in days for u in [u for u in calls[day] if sim.sim_call(u).recorded or not recorded][:2]}


@pytest.mark.parametrize(
    "stage",
    [
        "details",
        "recording",
    ],
)
async def test_a_day_with_a_call_incomplete_is_not_checkpointed_until_a_rerun_completes_it(
    tmp_path: Path, stage: str
) -> None:
    sim = Simulator(calls=200, days=4, seed=74, sample_rate=100, latency=0.002)
    broken = ["2026-10-30", "2026-11-01"]
    failing = _failing_calls(sim, broken, recorded=stage == "recording")
    transport = Recorder(sim)
    if stage == "details":
        transport.fail_details = failing
    else:
        transport.fail_recordings = failing
    spec = spec_for(tmp_path)
    async with session_over(transport, sim, max_concurrency=6, retry=QUICK_RETRY) as session:
        first = await run_export(session, spec, now=LATER)
        assert first.failures == len(failing) == 4
        assert days_done(spec.out) == {d.isoformat() for d in export_days()} - set(broken)
        transport.fail_details, transport.fail_recordings = set(), set()
        again = await run_export(session, spec, now=LATER)
    assert again.failures == 0
    assert again.summary["fetched_this_run"]["details" if stage == "details" else "recordings"] == len(failing)
    assert days_done(spec.out) == {d.isoformat() for d in export_days()}
    assert read_sqlite(spec.out) == truth(sim)


class Audit(Progress):
    """At each day reported done, reads the store as another process would: every call of the day complete?"""

    def __init__(self, sim: Simulator, store: Path) -> None:
        super().__init__()
        self.calls, self.store, self.sim = by_day(sim), store, sim
        self.audited: list[str] = []

    def on_window(self, label: str) -> None:
        super().on_window(label)
        day = label.split()[0]
        db = sqlite3.connect(f"file:{self.store}?mode=ro", uri=True)
        try:
            done = dict(db.execute("SELECT uuid, details_done FROM calls").fetchall())
            recorded = {row[0] for row in db.execute("SELECT call_uuid FROM recordings")}
            checkpointed = {row[0][:10] for row in db.execute("SELECT start FROM export_chunks")}
        finally:
            db.close()
        incomplete = [
            u for u in self.calls.get(day, [])
            if not done.get(u) or (self.sim.sim_call(u).recorded and u not in recorded)
        ]  # fmt: skip
        assert not incomplete, f"{day} reported done with {len(incomplete)} calls incomplete"
        assert day in checkpointed
        self.audited.append(day)


async def test_a_day_is_reported_and_checkpointed_only_once_all_its_calls_are_complete(tmp_path: Path) -> None:
    # Jitter makes calls finish out of order, across days: a day's last call may finish after the next day's.
    sim = Simulator(calls=200, days=4, seed=75, sample_rate=100, latency=0.005, jitter=0.03)
    spec = spec_for(tmp_path)
    audit = Audit(sim, spec.out)
    async with sim.session(max_concurrency=8) as session:
        result = await run_export(session, spec, audit, now=LATER)
    assert result.failures == 0
    assert sorted(audit.audited) == [d.isoformat() for d in export_days()]
    assert read_sqlite(spec.out) == truth(sim)
