"""pytest fixtures for testing your own code against the simulator.

Enable in your ``conftest.py``::

    pytest_plugins = ["pbx_async.testing.pytest_plugin"]

then ask for ``pbx_simulator`` (a small seeded ``Simulator``; override the
fixture to change its size or knobs) and ``pbx_session`` (a ``PbxSession``
talking to it in-process). ``pbx_session`` is an async fixture: use it from
tests run by anyio's pytest plugin (``@pytest.mark.anyio``) or by
pytest-asyncio in auto mode.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .._session import PbxSession
from ._simulator import Simulator


@pytest.fixture
def pbx_simulator() -> Simulator:
    """A 500-call, 7-day simulated PBX, the same every run."""
    return Simulator(calls=500, days=7, seed=0)


@pytest.fixture
async def pbx_session(pbx_simulator: Simulator) -> AsyncIterator[PbxSession]:
    """A session bound to ``pbx_simulator`` in-process (no sockets)."""
    async with pbx_simulator.session() as session:
        yield session
