"""An export's ``concurrency`` is the width of its recordings phase too, whatever the session's own limit."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from pbx_async import PbxSession
from pbx_async.export import ExportSpec, run_export
from pbx_async.testing import Simulator, SimulatorTransport

pytestmark = pytest.mark.anyio


class HoldRecordings(httpx.AsyncBaseTransport):
    """Counts recording requests in flight; holds each until ``want`` are in flight together (or 10 s pass).

    Holding makes the count independent of timing: a client that keeps ``want``
    downloads going reaches ``want``; one limited to fewer never does, and the
    test fails on the count (the wait only bounds how long that takes).
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, want: int) -> None:
        self.inner, self.want = inner, want
        self.in_flight = self.most = 0
        self.enough = anyio.Event()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "recording" not in request.url.path:
            return await self.inner.handle_async_request(request)
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        try:
            if self.in_flight >= self.want:
                self.enough.set()
            with anyio.move_on_after(10):
                await self.enough.wait()
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1


async def test_an_export_of_width_32_on_a_session_of_8_downloads_32_recordings_at_once(tmp_path: Path) -> None:
    sim = Simulator(calls=300, days=1, seed=11, sample_rate=100)
    day = sim.now.date()
    recorded = sum(c.recorded for c in sim.truth_calls() if c.date.date() == day)
    assert recorded > 32
    transport = HoldRecordings(SimulatorTransport(sim), want=32)
    spec = ExportSpec(day, day, out=tmp_path / "calls.sqlite", recordings=tmp_path / "rec", concurrency=32)
    async with (
        httpx.AsyncClient(transport=transport, base_url=sim.public_url) as client,
        PbxSession(
            sim.auth, sim.container_id, base_url=sim.public_url, http_client=client, max_concurrency=8
        ) as session,
    ):
        result = await run_export(session, spec, now=sim.now)
    assert result.failures == 0 and result.recordings == recorded
    assert transport.most == 32
    assert session.max_concurrency == 8  # the session's own limit is unchanged for everything else
