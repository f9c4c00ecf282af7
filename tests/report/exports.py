"""Real export outputs of a simulated PBX, made by the export itself (``run_export``), for the report to read."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import anyio

from pbx_async.export import ExportSpec, run_export
from pbx_async.testing import Simulator


def simulator(calls: int, seed: int = 3) -> Simulator:
    return Simulator(
        calls=calls, days=7, seed=seed, recording_bytes=64
    )  # tiny recordings: the files only need to exist


def export(sim: Simulator, out: Path, fmt: str = "sqlite", *, recordings: bool = True) -> Path:
    """Export every call of ``sim`` with its events (and recordings) into ``out``; returns ``out``."""
    spec = ExportSpec(
        (sim.now - timedelta(days=8)).date(),
        sim.now.date(),
        out=out,
        format=fmt,
        details=True,
        recordings=out.parent / "recordings" if recordings else None,
    )

    async def run() -> None:
        async with sim.session(max_concurrency=16) as session:
            result = await run_export(session, spec)
        assert not result.failures

    anyio.run(run)
    return out
