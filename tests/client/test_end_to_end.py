"""The session against the simulator over real loopback HTTP, checked item by item against ground truth."""

from __future__ import annotations

import wave
from datetime import date
from pathlib import Path

import pytest

from pbx_async import PbxSession
from pbx_async.testing import Simulator, serve

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def big_sim() -> Simulator:
    return Simulator(calls=10_000, days=30, seed=21, quirks=True)


async def test_list_10000_details_200_recordings_20(big_sim: Simulator, tmp_path: Path) -> None:
    sim = big_sim
    async with serve(sim) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        async with PbxSession(sim.auth, sim.container_id, base_url=base_url, max_concurrency=8) as session:
            calls = [c async for c in session.iter_calls(from_date=date(2026, 10, 1), to_date=date(2026, 11, 2))]
            assert len(calls) == 10_000
            assert calls == sim.truth_calls()

            sample = calls[::50]  # 200 calls spread over the month
            assert len(sample) == 200
            for call in sample:
                assert await session.get_call_details(call) == sim.truth_details(call.uuid)

            long_call = max(sim.uuids(), key=lambda u: len(sim.sim_call(u).events))
            assert len(sim.sim_call(long_call).events) > 500  # Call Details pages too
            assert await session.get_call_details(long_call) == sim.truth_details(long_call)

            recorded = [c for c in calls if c.recorded][:20]
            for call in recorded:
                rec = await session.download_recording(call, tmp_path)
                assert rec.path.read_bytes() == sim.recording_bytes_of(call.uuid)
                assert (rec.call_uuid, rec.size, rec.sha256) == (
                    call.uuid,
                    rec.path.stat().st_size,
                    sim.recording_sha256(call.uuid),
                )
                with wave.open(str(rec.path)) as wav:
                    assert wav.getnframes() / wav.getframerate() == call.duration
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{c.uuid}.wav" for c in recorded)
