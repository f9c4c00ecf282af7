"""Bulk export of call history into SQLite, JSON lines, CSV or Parquet; resumable, exactly once.

    from pbx_async.export import ExportSpec, run_export

    async with PbxSession.from_env() as session:
        result = await run_export(session, ExportSpec(date(2026, 8, 1), date(2026, 10, 31),
                                                      out="calls.sqlite", details=True))

The same as ``pbx-async export``; run it again after an interruption and it
continues where it stopped.

Many accounts into one database, split into shards any runner can execute
(``pbx-async plan`` / ``pbx-async export --shard``)::

    shards = await plan_shards(load_accounts(Path("accounts.toml")), date(2026, 8, 1), date(2026, 10, 31))
    sink = await open_sink("postgresql://export@db.internal/calls")
    async with session_for(shards[0]) as session:
        await run_shard(session, sink, shards[0], Work(details=True))

Keep an output current, on a schedule (``pbx-async sync``)::

    result = await run_sync(session, SyncSpec(out="calls.sqlite", since=date(2026, 8, 1), details=True))

All run the same job on a ``Window`` of time (``_window``): a single export
(``_single``) has a window a day, a shard (``_shards``) is one account's
window, a sync (``_sync``) lists from its watermark minus a lookback; ``Work``
says what the job fetches besides the calls. Where the rows go is a ``Sink``
(``sinks``); an output file has one writer at a time (``_lock``).
"""

from ._accounts import AccountConfig, load_accounts
from ._progress import Flow, LogProgress, Progress, RichProgress
from ._report import report
from ._shards import Shard, ShardResult, plan_shards, run_shard, session_for
from ._single import ExportResult, ExportSpec, run_export
from ._sync import SyncResult, SyncSpec, run_sync
from ._window import Window, Work
from .sinks import Account, Sink, open_sink

__all__ = [
    "Account",
    "AccountConfig",
    "ExportResult",
    "ExportSpec",
    "Flow",
    "LogProgress",
    "Progress",
    "RichProgress",
    "Shard",
    "ShardResult",
    "Sink",
    "SyncResult",
    "SyncSpec",
    "Window",
    "Work",
    "load_accounts",
    "open_sink",
    "plan_shards",
    "report",
    "run_export",
    "run_shard",
    "run_sync",
    "session_for",
]
