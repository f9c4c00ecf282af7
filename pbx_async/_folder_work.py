"""Where a download's folder work runs: on the event loop while the disk is quick, on a thread once it is slow.

    ready = await prepare_download(folder, name, call_uuid, overwrite)

Making a new ``.part`` file is a few system calls. On a quick disk they cost
tens of microseconds, less than a hop to a worker thread, so they run on the
event loop. Some disks are slow at it (a network file system; an ext4 folder
measured here at 0.4-1.5 ms of CPU a file after much churn): run on the loop,
every reply waits meanwhile, and an export at 64 in flight fell from 0.89 to
0.83 of its bound. So each event loop keeps, for each folder, a running
average of what that work takes, and moves it to one thread while the average
is slow, and back when it is quick again. One thread: file creations in one
folder contend for its lock in the kernel, and four threads at it cost more
CPU than they saved.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import anyio.to_thread
import attrs
from anyio.lowlevel import RunVar

from ._recording_files import BUSY, Folder, Lock, Part, _Busy, _Slow, prepare
from ._records.recordings import RecordingFile

_T = TypeVar("_T")
_Ready = RecordingFile | tuple[Part, Lock] | _Busy | _Slow

SLOW = 0.0005  # seconds on average: above this the work moves to a thread (it held every reply that long)
QUICK = 0.0002  # ...and below this it comes back to the loop, where it costs less than the hop
WEIGHT = 0.2  # of the newest measurement in the running average: a few slow ones in a row move it


@attrs.define
class Placement:
    """One folder's work on one event loop: its running average, and where it runs now."""

    average: float = 0.0
    on_thread: bool = False

    def note(self, took: float) -> None:
        self.average += WEIGHT * (took - self.average)
        if self.on_thread and self.average < QUICK:
            self.on_thread = False
        elif not self.on_thread and self.average > SLOW:
            self.on_thread = True


_PLACEMENTS: RunVar[dict[Path, Placement]] = RunVar("pbx_async folder work placements")
_ONE_THREAD: RunVar[anyio.CapacityLimiter] = RunVar("pbx_async folder work thread")
_HASH_THREADS: RunVar[anyio.CapacityLimiter] = RunVar("pbx_async file hashing threads")


def _of_this_loop(var: RunVar[_T], make: Callable[[], _T]) -> _T:
    """``var``'s value, made on first use: it belongs to the running event loop."""
    try:
        return var.get()
    except LookupError:
        made = make()
        var.set(made)
        return made


def placement(folder: Path) -> Placement:
    """Where ``folder``'s work runs on this event loop (each folder may be on another disk)."""
    return _of_this_loop(_PLACEMENTS, dict[Path, Placement]).setdefault(folder, Placement())


_clock = time.perf_counter  # what the work is timed with (tests give it a disk of known speed)


def _timed(folder: Folder, name: str, call_uuid: str, overwrite: bool) -> tuple[_Ready, float]:
    start = _clock()
    ready = prepare(folder, name, call_uuid, overwrite, quick=True)
    return ready, _clock() - start


async def prepare_download(
    folder: Folder, name: str, call_uuid: str, overwrite: bool
) -> RecordingFile | tuple[Part, Lock]:
    """The finished file if it is already there, else the part to write (locked).

    Waits while another process writes that very file.
    """
    place = placement(folder.path)
    if place.on_thread:
        ready, took = await anyio.to_thread.run_sync(
            _timed,
            folder,
            name,
            call_uuid,
            overwrite,
            limiter=_of_this_loop(_ONE_THREAD, lambda: anyio.CapacityLimiter(1)),
        )
    else:
        ready, took = _timed(folder, name, call_uuid, overwrite)
    place.note(took)
    return await _settle(ready, folder, name, call_uuid, overwrite)


async def _settle(
    ready: _Ready, folder: Folder, name: str, call_uuid: str, overwrite: bool
) -> RecordingFile | tuple[Part, Lock]:
    while isinstance(ready, (_Busy, _Slow)):
        if ready is BUSY:
            await anyio.sleep(0.05)  # another process is downloading this very file: wait for it
        # A file or part already there is hashed first, which can take a while: a few threads for it.
        # (64 downloads at once on anyio's 40 threads cost more in thread switches and memory arenas.)
        ready = await anyio.to_thread.run_sync(
            prepare,
            folder,
            name,
            call_uuid,
            overwrite,
            limiter=_of_this_loop(_HASH_THREADS, lambda: anyio.CapacityLimiter(4)),
        )
    return ready
