"""Export progress: bars on a terminal, plain log lines elsewhere, nothing with --quiet."""

from __future__ import annotations

import logging
import sys
import time
from typing import Any, TextIO

import attrs

log = logging.getLogger("pbx_async.export")


@attrs.frozen
class Flow:
    """Where an export's stages stand: what is being listed, what waits, and the requests in flight.

        print(f"{flow.in_flight}/{flow.limit} in flight, {flow.details} timelines to go")

    ``listing`` is the window being listed ("" once all are); ``details`` and
    ``recordings`` count calls queued or running at each stage; ``in_flight``
    the session's requests running now, ``limit`` how many it may run. A limit
    kept full while the stages queue means the provider, not the tool, sets
    the pace.
    """

    listing: str
    details: int
    recordings: int
    in_flight: int
    limit: int


class Progress:
    """Counts what the export did, silently; subclasses show it (override the ``on_*`` hooks).

    result = await run_export(session, spec, Progress())   # what --quiet and --json use
    print(result.summary["fetched_this_run"])
    """

    def __init__(self) -> None:
        self.listed = self.detailed = self.recorded = self.failed = 0
        self.recorded_bytes = 0
        self.windows_total = self.windows_done = 0
        self.unit = "days"  # what a window is: a day of a single export, or a shard
        self.started = time.monotonic()
        self.other_offsets: set[int] = set()
        self.flow: Flow | None = None  # the stages, as last reported
        self.flow_samples = 0
        self.limit_use = 0.0  # the mean of in_flight / limit over the samples: 1.0 is a limit kept full

    def begin(self, windows: int, details: bool, recordings: bool, *, unit: str = "days") -> None:
        """The export starts: how many windows, and whether it fetches details and recordings."""
        self.windows_total, self.unit = windows, unit

    def on_listed(self, count: int) -> None:
        self.listed += count

    def on_detailed(self) -> None:
        self.detailed += 1

    def on_recorded(self, size: int) -> None:
        self.recorded += 1
        self.recorded_bytes += size

    def on_failed(self, what: str, call_uuid: str, error: BaseException) -> None:
        self.failed += 1
        log.warning("%s of call %s failed: %s", what, call_uuid, error)

    def on_window(self, label: str) -> None:
        """A window (a day, or a shard) is done."""
        self.windows_done += 1

    def on_other_offset(self, asked: int, got: int) -> None:
        """The server answered in another UTC offset than asked; its times are converted. Logged once an offset."""
        if got not in self.other_offsets:
            self.other_offsets.add(got)
            log.warning(
                "the server answered in UTC offset %+d minutes, not the %+d asked for: its times are converted",
                got,
                asked,
            )

    def on_flow(self, flow: Flow) -> None:
        """The stages and the requests in flight, twice a second while the export runs."""
        self.flow = flow
        self.flow_samples += 1
        use = flow.in_flight / flow.limit if flow.limit else 0.0
        self.limit_use += (use - self.limit_use) / self.flow_samples

    def end(self) -> None:
        pass

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class LogProgress(Progress):
    """One plain line per finished window and every few seconds; for logs and pipes.

    await run_export(session, spec, LogProgress(sys.stderr, every=10.0))
    """

    def __init__(self, stream: TextIO = sys.stderr, every: float = 5.0) -> None:
        super().__init__()
        self._stream, self._every, self._last = stream, every, time.monotonic()  # a line after ``every`` seconds

    def _line(self, prefix: str) -> None:
        flow = self.flow
        stages = ""
        if flow is not None:
            listing = f"listing {flow.listing}, " if flow.listing else ""
            stages = (
                f" [{listing}{flow.details} timelines and {flow.recordings} recordings to go, "
                f"{flow.in_flight}/{flow.limit} requests in flight]"
            )
        self._stream.write(
            f"{prefix}: {self.windows_done}/{self.windows_total} {self.unit}, {self.listed} calls listed, "
            f"{self.detailed} details, {self.recorded} recordings ({self.recorded_bytes / 1e6:.1f} MB), "
            f"{self.failed} failures, {self.elapsed:.1f} s{stages}\n"
        )
        self._stream.flush()
        self._last = time.monotonic()

    def on_detailed(self) -> None:
        super().on_detailed()
        if time.monotonic() - self._last > self._every:
            self._line("progress")

    def on_flow(self, flow: Flow) -> None:
        super().on_flow(flow)
        if time.monotonic() - self._last > self._every:
            self._line("progress")

    def on_window(self, label: str) -> None:
        super().on_window(label)
        self._line(f"done {label}")


class RichProgress(Progress):
    """Live bars on a terminal: windows (days), calls listed, details fetched, recordings with MB/s and ETA.

    await run_export(session, spec, RichProgress() if sys.stderr.isatty() else LogProgress())
    """

    def __init__(self) -> None:
        super().__init__()
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )
        from rich.progress import Progress as Bars

        self._bars = Bars(
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[extra]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._speed = TransferSpeedColumn()
        self._tasks: dict[str, Any] = {}

    def begin(self, windows: int, details: bool, recordings: bool, *, unit: str = "days") -> None:
        super().begin(windows, details, recordings, unit=unit)
        self._bars.start()
        self._tasks["windows"] = self._bars.add_task(unit, total=windows, extra="")
        self._tasks["calls"] = self._bars.add_task("calls listed", total=None, extra="")
        if details:
            self._tasks["details"] = self._bars.add_task("details", total=None, extra="")
        if recordings:
            self._tasks["recordings"] = self._bars.add_task("recordings", total=None, extra="")
        self._tasks["requests"] = self._bars.add_task("in flight", total=None, extra="")

    def on_listed(self, count: int) -> None:
        super().on_listed(count)
        self._bars.update(self._tasks["calls"], completed=self.listed)
        if "details" in self._tasks:
            self._bars.update(self._tasks["details"], total=self.listed)

    def on_detailed(self) -> None:
        super().on_detailed()
        self._bars.update(self._tasks["details"], completed=self.detailed)

    def on_recorded(self, size: int) -> None:
        super().on_recorded(size)
        rate = self.recorded_bytes / max(self.elapsed, 1e-6) / 1e6
        self._bars.update(self._tasks["recordings"], completed=self.recorded, extra=f"{rate:.1f} MB/s")

    def on_failed(self, what: str, call_uuid: str, error: BaseException) -> None:
        self.failed += 1
        self._bars.console.print(f"[yellow]{what} of call {call_uuid} failed:[/] {error}")

    def on_flow(self, flow: Flow) -> None:
        super().on_flow(flow)
        # The bar is the limit: full while the stages queue means the provider sets the pace.
        listing = f"listing {flow.listing}; " if flow.listing else ""
        extra = f"{listing}{flow.details} timelines, {flow.recordings} recordings to go"
        self._bars.update(self._tasks["requests"], completed=flow.in_flight, total=flow.limit, extra=extra)

    def on_window(self, label: str) -> None:
        super().on_window(label)
        self._bars.update(self._tasks["windows"], completed=self.windows_done, extra=label)

    def end(self) -> None:
        self._bars.stop()
