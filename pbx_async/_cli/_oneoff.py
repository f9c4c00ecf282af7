"""One-off queries: ``calls``, ``details UUID``, ``recording UUID``, ``notes UUID``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .. import CallDetails, CallNotFoundError, PbxSession
from .._recordings_folder import check_folder
from . import _options as opt
from . import _output as out
from ._exit import Exit, UsageError


def register(commands: Any) -> None:
    calls = opt.add_command(
        commands,
        "calls",
        "print matching calls, one a line under a header (or as JSON lines)",
        "  pbx-async calls --from 2026-11-02 --to 2026-11-02\n"
        "  pbx-async calls --format jsonl --went-to-voicemail | jq .uuid",
        run_calls,
    )
    opt.add_window(calls, required=False)
    calls.add_argument("--format", choices=("table", "jsonl"), default="table", help="table (default) or jsonl")
    opt.add_filters(calls)
    opt.add_account(calls)

    details = opt.add_command(
        commands,
        "details",
        "print a call's event timeline",
        "  pbx-async details 3f1c2a9e-...\n  pbx-async details 3f1c2a9e-... --json | jq '.events[].purpose'",
        run_details,
    )
    opt.UUID.add(details)
    opt.UTC_OFFSET.add(details)
    opt.JSON.add(details)
    opt.add_account(details)

    recording = opt.add_command(
        commands,
        "recording",
        "download a call's recording",
        "  pbx-async recording 3f1c2a9e-... --out recordings/",
        run_recording,
    )
    opt.UUID.add(recording)
    opt.FOLDER.add(recording, default=".", help="folder to save into (default: here)")
    opt.QUIET.add(recording)
    opt.add_account(recording)

    notes = opt.add_command(
        commands,
        "notes",
        "attach notes, a follow-up flag or a severity to a call",
        '  pbx-async notes 3f1c2a9e-... --notes "Called back" --no-flag --severity 2',
        run_notes,
    )
    opt.UUID.add(notes)
    notes.add_argument("--notes", help="up to 255 characters")
    notes.add_argument("--flag", action=argparse.BooleanOptionalAction, default=None, help="flag for follow-up")
    notes.add_argument("--severity", type=int, metavar="N", help="0 (none) to 5")
    opt.QUIET.add(notes)
    opt.add_account(notes)


async def run_calls(args: argparse.Namespace) -> int:
    table = args.format == "table"
    header_due = table
    async with opt.session(args) as session:
        calls = session.iter_calls(
            from_date=args.first, to_date=args.last, utc_offset=args.utc_offset, **opt.filters(args)
        )
        async with calls:
            async for call in calls:
                if header_due:
                    print(out.call_header())
                    header_due = False
                print(out.call_line(call) if table else out.json_line(call.to_dict()))
    if header_due:  # no calls: the header alone says so
        print(out.call_header())
    return Exit.OK


def _no_call(session: PbxSession, uuid: str, nothing_done: str) -> UsageError:
    """An unknown UUID is unusable input, said with what was not done."""
    return UsageError(
        f"no call {uuid} in container {session.container_id} (tenant {session.tenant_id}): {nothing_done}; "
        "take a UUID from 'pbx-async calls'"
    )


async def _details(session: PbxSession, uuid: str, nothing_done: str, **options: Any) -> CallDetails:
    try:
        return await session.get_call_details(uuid, **options)
    except CallNotFoundError:
        raise _no_call(session, uuid, nothing_done) from None


async def run_details(args: argparse.Namespace) -> int:
    async with opt.session(args) as session:
        details = await _details(session, args.uuid, "no timeline to show", utc_offset=args.utc_offset)
    if args.json:
        print(out.json_line(details.to_dict()))
        return Exit.OK
    call = details.call
    print(f"{call.uuid}  {out.clock(call.date)}  {call.direction.name.lower()}  {call.duration or 0}s")
    for event in details.events:
        data = " | ".join(d for d in (event.data1, event.data2, event.data3, event.data4) if d)
        print(f"  {out.clock(event.date.time())}  {event.type_id:>3}  {type(event).PURPOSE:<36} {data}")
    return Exit.OK


async def run_recording(args: argparse.Namespace) -> int:
    folder = Path(args.out)
    check_folder(folder)  # a link or a file: before any request
    async with opt.session(args) as session:
        details = await _details(session, args.uuid, "nothing downloaded")
        if not details.call.recorded:
            raise UsageError(f"call {args.uuid} has no recording: nothing downloaded")
        rec = await session.download_recording(details.call, folder)
    out.say(args, f"{rec.path}  {rec.size} bytes  sha256 {rec.sha256}")
    return Exit.OK


async def run_notes(args: argparse.Namespace) -> int:
    if args.notes is None and args.flag is None and args.severity is None:
        raise UsageError("nothing to save: give --notes TEXT, --flag/--no-flag or --severity N")
    async with opt.session(args) as session:
        try:
            await session.set_call_notes(args.uuid, notes=args.notes, flagged=args.flag, severity=args.severity)
        except CallNotFoundError:
            raise _no_call(session, args.uuid, "no notes saved") from None
    out.say(args, f"notes saved on {args.uuid}")
    return Exit.OK
