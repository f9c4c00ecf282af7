"""``export`` (one account into a file, or one shard into a sink) and ``plan`` (an export's shards)."""

from __future__ import annotations

import argparse
import os
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from .. import AuthenticationError
from .._recordings_folder import check_folder
from ..export import (
    AccountConfig,
    ExportSpec,
    Shard,
    Work,
    load_accounts,
    open_sink,
    plan_shards,
    run_export,
    run_shard,
    session_for,
)
from ..export._output import not_a_link
from . import _options as opt
from . import _output as out
from ._exit import Exit, UsageError, require

FORMATS = ("sqlite", "jsonl", "csv", "parquet")
EXPORT_TABLES = frozenset({"export_meta", "export_shards"})  # what only an export's database holds (README schema)
# What an --out name says its format is; any other name needs --format.
EXTENSIONS = {
    ".sqlite": "sqlite",
    ".sqlite3": "sqlite",
    ".db": "sqlite",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".parquet": "parquet",
}


def register(commands: Any) -> None:
    export = opt.add_command(
        commands,
        "export",
        "export calls (and their events and recordings) into a file or database; rerun to resume",
        "  pbx-async export --from 2026-08-01 --to 2026-10-31 --details --recordings recs/ --out calls.sqlite\n"
        "  pbx-async export --from 2026-11-01 --to 2026-11-30 --out november.jsonl --no-show-internal\n"
        "  pbx-async export --from 2026-11-02 --to 2026-11-02 --out day.csv --details --utc-offset -300\n"
        "  pbx-async export --from 2026-08-01 --to 2026-10-31 --out calls.sqlite --refresh  # finished days again\n"
        "  pbx-async export --shard \"$LINE\" --sink postgresql://export@db/calls --details  # a line of 'plan'",
        run_export_command,
    )
    opt.add_window(export, required=False)
    opt.OUT_FILE.add(export)
    opt.FILE_FORMAT.add(export)
    opt.DETAILS.add(export)
    opt.RECORDINGS.add(export)
    export.add_argument("--shard", metavar="JSON", help="run one shard printed by 'pbx-async plan' (with --sink)")
    export.add_argument(
        "--refresh",
        action="store_true",
        help="list finished days (or a finished shard) again: update changed notes, flags, severities, "
        "transcriptions and recordings, fetch what is missing",
    )
    opt.SINK.add(export, help="postgresql://... or sqlite:///file for --shard (default: PBX_SINK)")
    opt.add_output(export)
    opt.add_filters(export)
    opt.add_account(export)

    plan = opt.add_command(
        commands,
        "plan",
        "print an export's shards (account x time window) as JSON lines, for 'export --shard'",
        "  pbx-async plan --config accounts.toml --from 2026-08-01 --to 2026-10-31 > shards.jsonl\n"
        '  parallel -j4 pbx-async export --details --shard {} --sink "$PBX_SINK" :::: shards.jsonl\n'
        "  pbx-async plan --config accounts.toml --lookback 48 > recent.jsonl   # then export --shard --refresh",
        run_plan,
    )
    plan.add_argument(
        "--config", required=True, metavar="FILE", help="accounts file (TOML; keys stay in the environment)"
    )
    opt.add_window(plan, required=False, offset=False)
    opt.LOOKBACK.add(plan, default=None, help="instead of --from/--to: the last HOURS up to now (keep current)")
    plan.add_argument("--pages", type=int, default=4, help="most listing pages a shard should hold (default 4)")
    plan.add_argument("--account", action="append", metavar="NAME", help="only this account (repeatable)")


def export_format(path: Path, given: str | None) -> str:
    """The format ``--format`` names, else the one ``--out``'s name says; a name saying another is refused."""
    named = EXTENSIONS.get(path.suffix.lower())
    if given is None:
        if named is None:
            raise UsageError(
                f"cannot tell the format from the name {path.name!r}: add --format {'/'.join(FORMATS)}, "
                "or name the file .sqlite, .jsonl, .csv or .parquet"
            )
        return named
    if named is not None and named != given:
        raise UsageError(
            f"--format {given} does not match --out {path.name} (a {named} file name): "
            f"drop --format, or name the file .{given}"
        )
    return given


def usable_out(path: Path) -> Path:
    """Before anything else: --out names a file in a folder (or a folder still to be made)."""
    if path.is_dir():
        raise UsageError(f"--out {path} is a folder: give a file name, e.g. {path / 'calls.sqlite'}")
    for folder in (path.parent, *path.parent.parents):
        if folder.exists():
            if not folder.is_dir():
                raise UsageError(f"--out {path}: {folder} is a file, not a folder")
            break
    return path


def nothing_overwritten(path: Path, fmt: str, store: Path, recordings: Path | None) -> None:
    """Before any request: no file of the user's in the way of an export or sync into ``path``."""
    check_folder(recordings)  # a link or a file (exit 2), as the library says it
    not_a_link(path, fmt)  # the same words as the library's
    if fmt == "sqlite":
        _an_export_database(path)
        return
    if store.exists():
        return  # the state file says an export wrote these
    # No state file beside it: an existing output was not written by an export, and a finished one
    # would replace it.
    written = (path, path.with_name(f"{path.stem}-events{path.suffix}")) if fmt in ("csv", "parquet") else (path,)
    written = (*written, path.with_name(f"{path.stem}-journeys{path.suffix}"))  # with details
    for existing in written:
        if existing.exists() or existing.is_symlink():  # a dangling link of the user's is in the way too
            raise UsageError(
                f"{existing} exists and no export wrote it (there is no {store.name} beside it): "
                "choose another --out, or move that file away"
            )


def _an_export_database(path: Path) -> None:
    """An existing SQLite --out must be an export's: tables are never added to a database of the user's."""
    if not path.exists() or path.stat().st_size == 0:
        return
    db = sqlite3.connect(path, timeout=5)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()
    if tables and not tables & EXPORT_TABLES:
        raise UsageError(
            f"{path} is a SQLite database that no export wrote (it has no {' or '.join(sorted(EXPORT_TABLES))} "
            "table): choose another --out"
        )


async def run_export_command(args: argparse.Namespace) -> int:
    if args.shard is not None:
        return await _run_shard(args)
    if args.sink is not None:
        raise UsageError("--sink goes with --shard (see 'pbx-async plan'); a single export writes --out")
    missing = [flag for flag, value in _single_export_flags(args) if not value]
    if missing:
        raise UsageError(f"export needs {', '.join(missing)} (or --shard and --sink)")
    fmt = export_format(usable_out(Path(args.out)), args.format)
    if fmt == "parquet":
        require("pyarrow")
    spec = ExportSpec(
        first=args.first,
        last=args.last,
        out=Path(args.out),
        format=fmt,
        details=args.details,
        recordings=Path(args.recordings) if args.recordings else None,
        utc_offset=args.utc_offset,
        filters=opt.filters(args),
        concurrency=args.concurrency,
        refresh=args.refresh,
    )
    nothing_overwritten(spec.out, spec.format, spec.store_path, spec.recordings)
    async with opt.session(args) as session:
        result = await run_export(session, spec, out.progress(args))
    out.summary(args, result.summary, result.files)
    return Exit.PARTIAL if result.failures else Exit.OK


def _single_export_flags(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """What a single export needs and a shard run must not have (it takes them from the shard)."""
    return [("--from", args.first), ("--to", args.last), ("--out", args.out)]


async def _run_shard(args: argparse.Namespace) -> int:
    given = [flag for flag, value in (*_single_export_flags(args), ("--format", args.format)) if value]
    if given or opt.filters(args):
        raise UsageError(f"--shard takes its window from the shard: drop {', '.join(given) or 'the filters'}")
    shard = Shard.from_json(args.shard)
    sink_url = args.sink or os.environ.get("PBX_SINK")
    if args.sink and urlsplit(args.sink).password:
        opt.warn("a password in --sink shows in the process list; prefer PBX_SINK")
    if not sink_url:
        raise UsageError("--shard needs --sink postgresql://... (or PBX_SINK in the environment)")
    work = Work(
        details=args.details,
        recordings=Path(args.recordings) if args.recordings else None,
        concurrency=args.concurrency,
    )
    check_folder(work.recordings)  # before the sink is opened
    session = session_for(shard, max_concurrency=args.concurrency)  # the key is read (and checked) first
    sink = await open_sink(sink_url)
    try:
        async with session:
            result = await run_shard(session, sink, shard, work, out.progress(args), refresh=args.refresh)
    except AuthenticationError:
        raise UsageError(_refused(shard.account)) from None
    finally:
        await sink.close()
    if args.json:
        print(out.json_line({
            "shard": result.key, "skipped": result.skipped, "finished": result.finished, "listed": result.listed,
            "details": result.details, "recordings": result.recordings, "failures": result.failures,
            "new_calls": result.new_calls, "changed_calls": result.changed_calls,
        }))  # fmt: skip
    elif result.skipped:
        out.say(args, f"shard {result.key} finished earlier: nothing to do")
    else:
        out.say(
            args,
            f"shard {result.key}: {result.listed} calls listed ({result.new_calls} new, {result.changed_calls} "
            f"changed), {result.details} timelines, {result.recordings} recordings, {result.failures} failures"
            + ("" if result.finished else " (not marked finished: rerun it)"),
        )
    return Exit.PARTIAL if result.failures else Exit.OK


def _refused(account: AccountConfig) -> str:
    return (
        f"account {account.name!r}: the server refused the API key in {account.auth_env}: check that variable "
        "(keys are managed under Users in the portal)"
    )


async def run_plan(args: argparse.Namespace) -> int:
    accounts = load_accounts(Path(args.config))
    if args.account:
        unknown = set(args.account) - {a.name for a in accounts}
        if unknown:
            raise UsageError(f"no account named {', '.join(sorted(unknown))} in {args.config}")
        accounts = [a for a in accounts if a.name in args.account]
    if (args.lookback is None) == (args.first is None or args.last is None):
        raise UsageError("plan needs --from and --to, or --lookback HOURS (not both)")
    lookback = None if args.lookback is None else timedelta(hours=args.lookback)
    try:
        shards = await plan_shards(accounts, args.first, args.last, lookback=lookback, pages=args.pages)
    except AuthenticationError as exc:
        raise UsageError(_refused_among(accounts, exc)) from None
    for shard in shards:
        print(shard.to_json())
    return Exit.OK


def _refused_among(accounts: list[AccountConfig], exc: AuthenticationError) -> str:
    # TODO(export): an error that carries its account would replace matching the message's prefix.
    named = [a for a in accounts if str(exc).startswith(f"account {a.name!r}")]
    if len(named) == 1 or len(accounts) == 1:
        return _refused((named or accounts)[0])
    variables = ", ".join(a.auth_env for a in accounts)
    return f"the server refused an account's API key: check {variables}"
