"""Resource hygiene: cancelled at random points, the client leaves no task, socket or file handle behind."""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import anyio
import pytest

from pbx_async import PbxSession
from pbx_async.export import ExportSpec, run_export
from pbx_async.testing import serve_process
from pbx_async.testing._simulator import DEFAULT_AUTH, DEFAULT_CONTAINER

pytestmark = pytest.mark.anyio


def _tasks() -> set[object]:
    try:
        return set(asyncio.all_tasks())
    except RuntimeError:  # Trio: a task cannot outlive its nursery by construction
        return set()


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The simulator in another process, so every descriptor in this one is the client's."""
    with serve_process(calls=800, days=3, latency=0.005) as base_url:
        yield base_url


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts descriptors through /proc")
async def test_cancelling_an_export_at_random_points_leaves_nothing(server: str, tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("PBX_HYGIENE_SEED", "7")))
    baseline = open_fds()
    before = _tasks()
    for run in range(5):
        delay = rng.uniform(0.05, 1.0)
        spec = ExportSpec(
            first=date(2026, 10, 30),
            last=date(2026, 11, 2),
            out=tmp_path / f"run{run}.sqlite",
            details=True,
            recordings=tmp_path / "recordings",
        )
        with anyio.move_on_after(delay):
            async with PbxSession(DEFAULT_AUTH, DEFAULT_CONTAINER, base_url=server, max_concurrency=8) as session:
                await run_export(session, spec)
        await anyio.sleep(0.05)  # closing sockets finishes on the next loop turns
        assert open_fds() <= baseline, f"descriptors left after cancelling at {delay:.2f} s"
        assert _tasks() == before, f"tasks left after cancelling at {delay:.2f} s"


async def test_leaving_listing_and_downloads_early_closes_everything(server: str, tmp_path: Path) -> None:
    baseline = open_fds()
    async with PbxSession(DEFAULT_AUTH, DEFAULT_CONTAINER, base_url=server, max_concurrency=8) as session:
        calls = session.iter_calls(from_date=date(2026, 10, 30), to_date=date(2026, 11, 2))
        async with calls:
            recorded = []
            async for call in calls:
                if call.recorded:
                    recorded.append(call)
                if len(recorded) == 20:
                    break
        async with session.download_recordings(recorded, tmp_path, concurrency=8) as downloads:
            async for _ in downloads:
                break
    await anyio.sleep(0.05)
    assert open_fds() <= baseline
