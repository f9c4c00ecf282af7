"""``sync``: keep an output (a file, or a database with ``--sink``) current, once or every N seconds."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio

from .. import NetworkError, ServerError, SinkError
from ..export import SyncResult, SyncSpec, run_sync
from . import _options as opt
from . import _output as out
from ._exit import Exit, UsageError, require
from ._export import export_format, nothing_overwritten, usable_out


def register(commands: Any) -> None:
    sync = opt.add_command(
        commands,
        "sync",
        "keep an output current: list from its watermark minus a lookback to now, add new calls, "
        "update changed ones, fetch what is missing",
        "  pbx-async sync --since 2026-08-01 --details --recordings recs/ --out calls.sqlite   # cron: run it hourly\n"
        "  pbx-async sync --since 2026-11-01 --out calls.jsonl --every 300   # again every 5 minutes, until Ctrl-C\n"
        "  pbx-async sync --since 2026-08-01 --details --sink postgresql://export@db/calls --lookback 72",
        run_sync_command,
    )
    sync.add_argument("--since", type=opt.day, metavar="YYYY-MM-DD", help="where the first run starts")
    opt.LOOKBACK.add(sync)
    sync.add_argument(
        "--every", type=opt.seconds, metavar="SECONDS", help="run again every SECONDS until interrupted (default: once)"
    )
    opt.UTC_OFFSET.add(sync)
    opt.OUT_FILE.add(sync, help="output file (one account), its name giving the format")
    opt.FILE_FORMAT.add(sync)
    opt.SINK.add(sync, help="or a database: postgresql://... or sqlite:///file (default: PBX_SINK)")
    opt.DETAILS.add(sync)
    opt.RECORDINGS.add(sync)
    opt.add_output(sync)
    opt.add_filters(sync)
    opt.add_account(sync)


def _spec(args: argparse.Namespace) -> SyncSpec:
    sink = args.sink or (None if args.out else os.environ.get("PBX_SINK"))
    if (args.out is None) == (sink is None):
        raise UsageError("sync needs --out FILE or --sink URL (or PBX_SINK), not both")
    recordings = Path(args.recordings) if args.recordings else None
    common = {
        "since": args.since,
        "lookback": args.lookback,
        "details": args.details,
        "recordings": recordings,
        "utc_offset": args.utc_offset,
        "filters": opt.filters(args),
        "concurrency": args.concurrency,
    }
    if sink is not None:
        if args.format is not None:
            raise UsageError("--format goes with --out; a --sink is a database")
        if args.sink and urlsplit(args.sink).password:
            opt.warn("a password in --sink shows in the process list; prefer PBX_SINK")
        return SyncSpec(sink=sink, **common)
    path = usable_out(Path(args.out))
    fmt = export_format(path, args.format)
    if fmt == "parquet":
        require("pyarrow")
    spec = SyncSpec(out=path, format=fmt, **common)
    assert spec.store_path is not None
    nothing_overwritten(path, fmt, spec.store_path, recordings)
    return spec


async def run_sync_command(args: argparse.Namespace) -> int:
    spec = _spec(args)
    async with opt.session(args) as session:
        while True:
            try:
                result = await run_sync(session, spec, out.progress(args))
            except (NetworkError, ServerError, SinkError) as exc:
                if args.every is None:
                    raise
                opt.warn(f"this run failed ({exc}); the next one starts in {args.every:g} s")  # the loop goes on
            else:
                _report(args, result)
                if args.every is None:
                    return Exit.PARTIAL if result.failures or result.incomplete else Exit.OK
            await anyio.sleep(args.every)


def _report(args: argparse.Namespace, result: SyncResult) -> None:
    watermark = "" if result.watermark is None else f"; complete up to {result.watermark.isoformat()}"
    out.say(
        args,
        f"sync: {result.new_calls} new calls, {result.changed_calls} changed, "
        f"{result.incomplete} still incomplete{watermark}",
    )
    out.summary(args, result.summary, result.files)
