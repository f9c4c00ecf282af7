"""A disk that is slow to make files does not hold the event loop: the folder work moves to a thread, and back.

Making a download's ``.part`` file runs on the event loop while it is quick
(cheaper than a hop to a thread) and on one worker thread while it is slow,
where every reply would otherwise wait for it. The choice follows a running
average of what that work takes, per event loop.
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import pytest

from pbx_async import _folder_work, _recording_files
from pbx_async._folder_work import QUICK, SLOW, Placement
from pbx_async.testing import Simulator

pytestmark = pytest.mark.anyio


def _spy_on_creation(monkeypatch: pytest.MonkeyPatch, delay: float) -> list[int]:
    """Each new part file's thread; ``delay``: what the disk takes to make one."""
    threads: list[int] = []
    create = _recording_files._create

    def made(folder: _recording_files.Folder, name: str) -> tuple[int, bool]:
        threads.append(threading.get_ident())
        time.sleep(delay)
        return create(folder, name)

    monkeypatch.setattr(_recording_files, "_create", made)
    return threads


async def _download_all(sim: Simulator, dest: Path) -> int:
    recorded = [c for c in sim.truth_calls() if c.recorded and c.recording_url]
    async with sim.session() as session, session.download_recordings(recorded, dest, concurrency=8) as downloads:
        files = [item async for item in downloads]
    assert len(files) == len(recorded) and all(f.path.parent == dest for f in files)  # type: ignore[union-attr]
    return len(recorded)


async def test_slow_file_creation_moves_off_the_event_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    threads = _spy_on_creation(monkeypatch, delay=0.003)  # 3 ms a file: a slow network disk
    loop_thread = threading.get_ident()
    sim = Simulator(calls=120, days=2, seed=4, sample_rate=100)
    count = await _download_all(sim, tmp_path / "recs")
    assert count >= 30
    on_loop = [t for t in threads if t == loop_thread]
    assert 1 <= len(on_loop) <= 5  # the first few tell it apart; every later one is made on a thread
    assert loop_thread not in threads[-20:]


async def test_quick_file_creation_stays_on_the_event_loop(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    threads = _spy_on_creation(monkeypatch, delay=0)
    ticks = itertools.count()
    # A quick disk, whatever this machine's is: each reading of the clock is 50 us after the last.
    monkeypatch.setattr(_folder_work, "_clock", lambda: next(ticks) * 0.00005)
    loop_thread = threading.get_ident()
    sim = Simulator(calls=120, days=2, seed=4, sample_rate=100)
    await _download_all(sim, tmp_path / "recs")
    assert threads == [loop_thread] * len(threads)


def test_the_work_comes_back_to_the_loop_once_the_disk_is_quick_again() -> None:
    place = Placement()
    place.note(SLOW * 0.9)
    assert not place.on_thread  # one slowish file moves nothing
    for _ in range(10):
        place.note(SLOW * 4)
    assert place.on_thread
    place.note(QUICK / 10)
    assert place.on_thread  # one quick file does not bring it back: the average must fall below QUICK
    for _ in range(30):
        place.note(QUICK / 10)
    assert not place.on_thread
