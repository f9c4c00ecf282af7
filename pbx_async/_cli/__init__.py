"""The ``pbx-async`` command line: export, demo, simulate, and small one-off queries."""

from __future__ import annotations

import argparse
import contextlib
import enum
import getpass
import json
import os
import shutil
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, get_type_hints
from urllib.parse import urlsplit

import anyio

from ._errors import AuthenticationError, InvalidContainerError, PbxError, ValidationError
from ._query import CallFilters
from ._session import PbxSession

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEMO_CALLS, DEMO_DAYS, DEMO_SAMPLE_RATE = 2_000, 7, 100  # 100 Hz keeps a week of recordings near 50 MB


class UsageError(Exception):
    """Input the command cannot use (exit code 2)."""


# -- arguments --------------------------------------------------------------------------------------


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _add_account(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("account (default: PBX_AUTH, PBX_CONTAINER_ID, PBX_TENANT_ID, PBX_BASE_URL)")
    group.add_argument("--auth", help="API key (shows in the process list: prefer PBX_AUTH)")
    group.add_argument("--container-id", help="6-digit container ID")
    group.add_argument("--tenant-id", type=int, help="tenant ID, 0-999 (0 = default tenant)")
    group.add_argument("--base-url", help="API base URL")
    group.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")


def _add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (as the provider documents them)")
    for name, kind in get_type_hints(CallFilters).items():
        flag = "--" + name.replace("_", "-")
        if kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif kind is str:
            group.add_argument(flag, metavar="TEXT")
        else:
            group.add_argument(flag, type=int, metavar="N")


def _add_window(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument("--from", dest="first", type=_day, required=required, help="first day, YYYY-MM-DD")
    parser.add_argument("--to", dest="last", type=_day, required=required, help="last day, YYYY-MM-DD (inclusive)")
    parser.add_argument("--utc-offset", type=int, default=0, help="minutes from UTC for dates in and out (e.g. -300)")


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: getattr(args, name) for name in CallFilters.__annotations__ if getattr(args, name) is not None}


def _session(args: argparse.Namespace) -> PbxSession:
    env = os.environ
    auth = args.auth
    if auth:
        print("warning: --auth shows the API key in the process list; prefer PBX_AUTH", file=sys.stderr)
    auth = auth or env.get("PBX_AUTH") or _ask("PBX API key", secret=True)
    container = args.container_id or env.get("PBX_CONTAINER_ID") or _ask("PBX container ID (6 digits)")
    options: dict[str, Any] = {"max_concurrency": args.concurrency}
    tenant = args.tenant_id if args.tenant_id is not None else env.get("PBX_TENANT_ID")
    if tenant not in (None, ""):
        options["tenant_id"] = tenant
    base_url = args.base_url or env.get("PBX_BASE_URL")
    if base_url:
        options["base_url"] = base_url
    return PbxSession(auth, container, **options)


def _ask(what: str, *, secret: bool = False) -> str:
    if not sys.stdin.isatty():
        raise UsageError(f"{what} is not set: use the environment (see --help) or run in a terminal to be asked")
    answer = getpass.getpass(f"{what}: ") if secret else input(f"{what}: ")
    return answer.strip()


def _progress(args: argparse.Namespace) -> Any:
    from .export import LogProgress, Progress, RichProgress

    if args.quiet or args.json:
        return Progress()
    return RichProgress() if sys.stderr.isatty() else LogProgress()


# -- commands -----------------------------------------------------------------------------------------


async def _export(args: argparse.Namespace) -> int:
    from .export import ExportSpec, run_export

    if args.shard is not None:
        return await _export_shard(args)
    if args.sink is not None:
        raise UsageError("--sink goes with --shard (see 'pbx-async plan'); a single export writes --out")
    missing = [flag for flag, value in _single_export_flags(args) if not value]
    if missing:
        raise UsageError(f"export needs {', '.join(missing)} (or --shard and --sink)")
    spec = ExportSpec(
        first=args.first,
        last=args.last,
        out=Path(args.out),
        format=args.format,
        details=args.details,
        recordings=Path(args.recordings) if args.recordings else None,
        utc_offset=args.utc_offset,
        filters=_filters(args),
        concurrency=args.concurrency,
    )
    async with _session(args) as session:
        result = await run_export(session, spec, _progress(args))
    _print_summary(args, result.summary, result.files)
    return EXIT_PARTIAL if result.failures else EXIT_OK


def _single_export_flags(args: argparse.Namespace) -> list[tuple[str, Any]]:
    """What a single export needs and a shard run must not have (it takes them from the shard)."""
    return [("--from", args.first), ("--to", args.last), ("--out", args.out)]


async def _export_shard(args: argparse.Namespace) -> int:
    from .export._pipeline import Work
    from .export._shards import Shard, run_shard, session_for
    from .export._sink import open_sink

    given = [flag for flag, value in _single_export_flags(args) if value]
    if given or _filters(args) or args.format != "sqlite":
        raise UsageError(f"--shard takes its window from the shard: drop {', '.join(given) or 'the filters/--format'}")
    shard = Shard.from_json(args.shard)
    sink_url = args.sink or os.environ.get("PBX_SINK")
    if args.sink and urlsplit(args.sink).password:
        print("warning: a password in --sink shows in the process list; prefer PBX_SINK", file=sys.stderr)
    if not sink_url:
        raise UsageError("--shard needs --sink postgresql://... (or PBX_SINK in the environment)")
    work = Work(
        details=args.details,
        recordings=Path(args.recordings) if args.recordings else None,
        concurrency=args.concurrency,
    )
    session = session_for(shard, max_concurrency=args.concurrency)  # the key is read (and checked) first
    sink = await open_sink(sink_url)
    try:
        async with session:
            result = await run_shard(session, sink, shard, work, _progress(args))
    finally:
        await sink.close()
    summary = {
        "shard": result.key,
        "skipped": result.skipped,
        "finished": result.finished,
        "listed": result.listed,
        "details": result.details,
        "recordings": result.recordings,
        "failures": result.failures,
    }
    if args.json:
        print(json.dumps(summary))
    elif result.skipped:
        print(f"shard {result.key} finished earlier: nothing to do")
    else:
        print(
            f"shard {result.key}: {result.listed} calls listed, {result.details} timelines, "
            f"{result.recordings} recordings, {result.failures} failures"
            + ("" if result.finished else " (not marked finished: rerun it)")
        )
    return EXIT_PARTIAL if result.failures else EXIT_OK


async def _plan(args: argparse.Namespace) -> int:
    from .export._accounts import load_accounts
    from .export._shards import plan_shards

    accounts = load_accounts(Path(args.config))
    if args.account:
        unknown = set(args.account) - {a.name for a in accounts}
        if unknown:
            raise UsageError(f"no account named {', '.join(sorted(unknown))} in {args.config}")
        accounts = [a for a in accounts if a.name in args.account]
    shards = await plan_shards(accounts, args.first, args.last, pages=args.pages)
    for shard in shards:
        print(shard.to_json())
    return EXIT_OK


def _print_summary(args: argparse.Namespace, summary: dict[str, Any], files: Sequence[Path]) -> None:
    if args.json:
        print(json.dumps({**summary, "files": [str(f) for f in files]}))
        return
    d = summary["by_direction"]
    print(
        f"{summary['calls']} calls ({d['inbound']} inbound, {d['outbound']} outbound, {d['internal']} internal), "
        f"{summary['answered']} answered, {summary['voicemail']} to voicemail; {summary['events']} events; "
        f"{summary['recordings']} recordings ({summary['recording_bytes'] / 1e6:.1f} MB); "
        f"{summary['failures']} failures; {summary['elapsed_seconds']:.1f} s"
    )
    for path in files:
        print(f"  wrote {path}")


async def _demo(args: argparse.Namespace) -> int:
    from .export import ExportSpec, run_export
    from .export._report import report
    from .testing import Simulator, serve

    dest = Path(args.out)
    _clear_demo(dest)
    now = datetime.now(UTC).replace(microsecond=0)
    print(f"Simulating a PBX with {DEMO_CALLS} calls over the last {DEMO_DAYS} days on a loopback port...")
    sim = Simulator(calls=DEMO_CALLS, days=DEMO_DAYS, seed=args.seed, now=now, sample_rate=DEMO_SAMPLE_RATE)
    spec = ExportSpec(
        first=(now - timedelta(days=DEMO_DAYS)).date(),
        last=now.date(),
        out=dest / "calls.sqlite",
        details=True,
        recordings=dest / "recordings",
    )
    async with serve(sim) as base_url:
        print(f"Exporting every call, its timeline and its recording from {base_url} into {dest}/ ...")
        session = PbxSession(sim.auth, sim.container_id, base_url=base_url, max_concurrency=16)
        async with session:
            result = await run_export(session, spec, _progress(args))
    _print_summary(args, result.summary, [spec.out, dest / "recordings"])
    if not args.json:
        print()
        print(report(spec.out))
        example = "SELECT direction, count(*) FROM calls GROUP BY direction"
        print(f"\nQuery it: sqlite3 {spec.out} '{example}'")
    return EXIT_PARTIAL if result.failures else EXIT_OK


def _clear_demo(dest: Path) -> None:
    """A fresh demo each run: remove only what an earlier demo wrote."""
    for name in ("calls.sqlite", "calls.sqlite-wal", "calls.sqlite-shm"):
        (dest / name).unlink(missing_ok=True)
    recordings = dest / "recordings"
    if recordings.is_dir() and all(p.suffix in (".wav", ".part") for p in recordings.iterdir()):
        shutil.rmtree(recordings)


async def _calls(args: argparse.Namespace) -> int:
    async with _session(args) as session:
        calls = session.iter_calls(
            from_date=args.first, to_date=args.last, utc_offset=args.utc_offset, **_filters(args)
        )
        async with calls:
            async for call in calls:
                if args.format == "jsonl":
                    print(json.dumps(_plain(call)))
                else:
                    print(
                        f"{call.date:%Y-%m-%d %H:%M:%S}  {call.direction.name.lower():8}  {call.cid_num or '-':>12} -> "
                        f"{call.num_dialed or '-':<12} {call.duration or 0:>6}s  {call.last_event or ''}  {call.uuid}"
                    )
    return EXIT_OK


async def _details(args: argparse.Namespace) -> int:
    async with _session(args) as session:
        details = await session.get_call_details(args.uuid, utc_offset=args.utc_offset)
    if args.json:
        print(json.dumps({"call": _plain(details.call), "events": [_plain(e) for e in details.events]}))
        return EXIT_OK
    call = details.call
    print(f"{call.uuid}  {call.date:%Y-%m-%d %H:%M:%S}  {call.direction.name.lower()}  {call.duration}s")
    for event in details.events:
        data = " | ".join(d for d in (event.data1, event.data2, event.data3, event.data4) if d)
        print(f"  {event.date:%H:%M:%S.%f}  {event.type_id:>3}  {event.PURPOSE:<36} {data}")
    return EXIT_OK


async def _recording(args: argparse.Namespace) -> int:
    async with _session(args) as session:
        details = await session.get_call_details(args.uuid)
        rec = await session.download_recording(details.call, args.out)
    print(f"{rec.path}  {rec.size} bytes  sha256 {rec.sha256}")
    return EXIT_OK


async def _notes(args: argparse.Namespace) -> int:
    async with _session(args) as session:
        await session.set_call_notes(args.uuid, notes=args.notes, flagged=args.flag, severity=args.severity)
    print(f"notes saved on {args.uuid}")
    return EXIT_OK


def _plain(record: Any) -> dict[str, Any]:
    import attrs

    out = attrs.asdict(record, recurse=False)
    for key, value in out.items():
        if isinstance(value, datetime):
            out[key] = value.isoformat()
        elif isinstance(value, enum.Enum):
            out[key] = value.name.lower()
    if hasattr(record, "PURPOSE"):
        out["purpose"] = record.PURPOSE
    return out


def _simulate(args: argparse.Namespace) -> int:
    from .testing import Faults, Simulator
    from .testing._server import run_forever

    sim = Simulator.accounts(
        args.accounts,
        calls=args.calls,
        days=args.days,
        seed=args.seed,
        latency=args.latency,
        jitter=args.jitter,
        faults=Faults.uniform(args.fault_rate) if args.fault_rate else None,
        live_arrivals=args.live_arrivals,
        quirks=args.quirks,
        recording_bytes=args.recording_bytes,
    )
    url = f"http://{args.host}:{args.port}/"
    lines = [
        f"  PBX_AUTH={a.auth} PBX_CONTAINER_ID={a.container_id} PBX_TENANT_ID={a.tenant_id} PBX_BASE_URL={url}"
        for a in sim.all_accounts()
    ]
    print(
        f"Simulating {args.accounts} account(s) of {len(sim)} calls over {args.days} days up to "
        f"{sim.now:%Y-%m-%d %H:%M} UTC on {url}\n" + "\n".join(lines) + "\nPress Ctrl-C to stop.",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(sim, host=args.host, port=args.port)
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------------------


def _command(
    commands: Any, name: str, summary: str, examples: str, run: Callable[[argparse.Namespace], Any]
) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pbx-async",
        description="Pull call history, call timelines and recordings out of the PBX.",
        epilog="exit codes: 0 done, 1 done with failures (rerun to retry them), 2 unusable input, "
        "3 failed, 130 interrupted (rerun to continue)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    export = _command(
        commands,
        "export",
        "export calls (and their events and recordings) into a file or database; rerun to resume",
        "  pbx-async export --from 2026-08-01 --to 2026-10-31 --details --recordings recs/ --out calls.sqlite\n"
        "  pbx-async export --from 2026-11-01 --to 2026-11-30 --format jsonl --out november.jsonl --no-show-internal\n"
        "  pbx-async export --from 2026-11-02 --to 2026-11-02 --format csv --out day.csv --details --utc-offset -300\n"
        "  pbx-async export --shard \"$LINE\" --sink postgresql://export@db/calls --details  # a line of 'plan'",
        _export,
    )
    _add_window(export, required=False)
    export.add_argument("--out", help="output file (a second '-events' file for csv and parquet)")
    export.add_argument("--shard", metavar="JSON", help="run one shard printed by 'pbx-async plan' (with --sink)")
    export.add_argument(
        "--sink", metavar="URL", help="postgresql://... or sqlite:///file for --shard (default: PBX_SINK)"
    )
    export.add_argument("--format", choices=("sqlite", "jsonl", "csv", "parquet"), default="sqlite")
    export.add_argument("--details", action="store_true", help="also fetch every call's event timeline")
    export.add_argument("--recordings", metavar="DIR", help="also download recordings into DIR")
    _add_output(export)
    _add_filters(export)
    _add_account(export)

    plan = _command(
        commands,
        "plan",
        "print an export's shards (account x time window) as JSON lines, for 'export --shard'",
        "  pbx-async plan --config accounts.toml --from 2026-08-01 --to 2026-10-31 > shards.jsonl\n"
        '  parallel -j4 pbx-async export --details --shard {} --sink "$PBX_SINK" :::: shards.jsonl',
        _plan,
    )
    plan.add_argument("--config", required=True, help="accounts file (TOML; keys come from the environment)")
    plan.add_argument("--from", dest="first", type=_day, required=True, help="first day, YYYY-MM-DD")
    plan.add_argument("--to", dest="last", type=_day, required=True, help="last day, YYYY-MM-DD (inclusive)")
    plan.add_argument("--pages", type=int, default=4, help="most listing pages a shard should hold (default 4)")
    plan.add_argument("--account", action="append", help="only this account (repeatable)")

    demo = _command(
        commands,
        "demo",
        f"export a simulated week ({DEMO_CALLS} calls, with recordings) into ./pbx-demo/ and report on it",
        "  pbx-async demo\n  pbx-async demo --out /tmp/pbx-demo --seed 7",
        _demo,
    )
    demo.add_argument("--out", default="pbx-demo", help="folder to export into (default ./pbx-demo)")
    demo.add_argument("--seed", type=int, default=0, help="simulated dataset seed")
    _add_output(demo)

    sim = _command(
        commands,
        "simulate",
        "serve the built-in PBX simulator over HTTP",
        "  pbx-async simulate --port 8080 --calls 5000\n  pbx-async simulate --latency 0.05 --fault-rate 0.1 --quirks",
        _simulate,
    )
    sim.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    sim.add_argument("--calls", type=int, default=5000, help="calls in the dataset (default 5000)")
    sim.add_argument("--days", type=int, default=7, help="days the dataset spans (default 7)")
    sim.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    sim.add_argument("--latency", type=float, default=0.0, help="seconds added to every reply")
    sim.add_argument("--jitter", type=float, default=0.0, help="random extra seconds, 0..JITTER")
    sim.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that meet a fault")
    sim.add_argument("--live-arrivals", type=int, default=0, help="new calls before each list request")
    sim.add_argument("--quirks", action="store_true", help="numbers as strings, [] for no rows, ...")
    sim.add_argument("--recording-bytes", type=int, default=None, help="size of every recording in bytes")
    sim.add_argument(
        "--accounts", type=int, default=1, help="accounts served (keys sim-secret-key-N; two tenants a container)"
    )

    calls = _command(
        commands,
        "calls",
        "print matching calls, one a line",
        "  pbx-async calls --from 2026-11-02 --to 2026-11-02\n  pbx-async calls --format jsonl --went-to-voicemail",
        _calls,
    )
    _add_window(calls, required=False)
    calls.add_argument("--format", choices=("table", "jsonl"), default="table")
    _add_filters(calls)
    _add_account(calls)

    details = _command(
        commands,
        "details",
        "print a call's event timeline",
        "  pbx-async details 3f1c2a9e-...\n  pbx-async details 3f1c2a9e-... --json",
        _details,
    )
    details.add_argument("uuid")
    details.add_argument("--utc-offset", type=int, default=None)
    details.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_account(details)

    recording = _command(
        commands,
        "recording",
        "download a call's recording",
        "  pbx-async recording 3f1c2a9e-... --out recordings/",
        _recording,
    )
    recording.add_argument("uuid")
    recording.add_argument("--out", default=".", help="folder to save into (default: here)")
    _add_account(recording)

    notes = _command(
        commands,
        "notes",
        "attach notes, a follow-up flag or a severity to a call",
        '  pbx-async notes 3f1c2a9e-... --notes "Called back" --no-flag --severity 2',
        _notes,
    )
    notes.add_argument("uuid")
    notes.add_argument("--notes", help="up to 255 characters")
    notes.add_argument("--flag", action=argparse.BooleanOptionalAction, default=None, help="flag for follow-up")
    notes.add_argument("--severity", type=int, help="0 (none) to 5")
    _add_account(notes)
    return parser


def _add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], Awaitable[int] | int] = args.run
    try:
        if args.command == "simulate":
            return int(run(args))  # type: ignore[arg-type]
        return int(anyio.run(run, args))  # type: ignore[arg-type]
    except (UsageError, ValidationError, AuthenticationError, InvalidContainerError) as exc:
        print(f"pbx-async: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PbxError as exc:
        print(f"pbx-async: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("pbx-async: interrupted; run the same command again to continue", file=sys.stderr)
        return EXIT_INTERRUPTED
