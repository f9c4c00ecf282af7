"""A faithful PBX simulator for tests, demos and benchmarks; no credentials needed.

    from pbx_async import PbxSession
    from pbx_async.testing import Simulator, serve

    sim = Simulator(calls=2_000, days=7, seed=1)
    async with serve(sim) as base_url:  # real HTTP on loopback
        async with PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
            calls = [c async for c in session.iter_calls(from_date=sim.now.date())]

In-process, without sockets: ``PbxSession(..., http_client=sim.client())``.
Ground truth for assertions: ``sim.truth_calls()``, ``sim.truth_details(uuid)``,
``sim.recording_bytes_of(uuid)``, ``sim.recording_sha256(uuid)``. A healthy server's
troubles: ``Simulator(faults=Faults(...))``; a hostile one's: ``Simulator(lies=Lies(...))``; one that
changes over time (notes, transcriptions, new and late calls, another offset): ``Changes(sim)``.
"""

from ._app import ConnectionDropped, SimulatorApp
from ._changes import Changes
from ._faults import Faults
from ._lies import Lies
from ._server import SimulatorTransport, run_forever, serve, serve_process
from ._simulator import Simulator

__all__ = [
    "Changes",
    "ConnectionDropped",
    "Faults",
    "Lies",
    "Simulator",
    "SimulatorApp",
    "SimulatorTransport",
    "run_forever",
    "serve",
    "serve_process",
]
