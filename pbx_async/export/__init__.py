"""Bulk export of call history into SQLite, JSON lines, CSV or Parquet; resumable, exactly once.

    from pbx_async.export import ExportSpec, run_export

    async with PbxSession.from_env() as session:
        result = await run_export(session, ExportSpec(date(2026, 8, 1), date(2026, 10, 31),
                                                      out=Path("calls.sqlite"), details=True))

The same as ``pbx-async export``; run it again after an interruption and it
continues where it stopped.
"""

from ._pipeline import ExportResult, ExportSpec, run_export
from ._progress import LogProgress, Progress, RichProgress

__all__ = ["ExportResult", "ExportSpec", "LogProgress", "Progress", "RichProgress", "run_export"]
