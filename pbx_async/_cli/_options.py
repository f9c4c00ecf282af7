"""Every option shared by several commands, defined once, and the readers that turn them back into values.

A command's own options (``--shard``, ``--port``, ...) live beside the
command; anything two commands take is an ``Option`` here, added to each
parser with ``OPTION.add(parser)``.
"""

from __future__ import annotations

import argparse
import getpass
import math
import os
import sys
from collections.abc import Callable
from datetime import date
from typing import Any, Literal, get_type_hints

import attrs

from .. import CallFilters, PbxSession
from .._validation import FIRST_DAY, LAST_DAY, MAX_LOOKBACK_HOURS
from ._exit import EPILOG, UsageError

# The Call Summary filters, in the words of the provider's API document (its "Set to 1"
# is a flag here, its "Set to 0" the flag's --no- form).
FILTER_HELP = {
    "show_inbound": "show inbound calls (the default); --no-show-inbound hides inbound calls",
    "show_outbound": "show outbound calls (the default); --no-show-outbound hides outbound calls",
    "show_internal": "show internal calls (the default); --no-show-internal hides internal calls",
    "inbound_caller_number": "inbound calls filtered by the caller's phone number",
    "inbound_did": "inbound calls filtered by the DID the caller called into (useful for marketing campaign analysis)",
    "inbound_exten_received": "inbound calls filtered by which extension took the call "
    "(either spoke to the caller, or went to this extension's voicemail)",
    "outbound_number_dialed": "outbound calls filtered by the phone number someone dialed out to",
    "outbound_exten_dialed": "outbound calls filtered by the specific extension that made the dial",
    "internal_exten": "only internal calls that involve this extension number",
    "internal_app": "internal calls to an application: 1 Queue Login/Logout (*45), 2 Voicemail Check (*97 or *98), "
    "3 Echo Test (*43), 4 Call Forwarding (*62), 5 Toggle Change (*49), 6 Targeted Intercom (*80)",
    "went_to_voicemail": "only calls that ended up in someone's voicemail box (does not necessarily mean they left "
    "a message!); inbound calls only",
    "spoke_to_person": "only calls that actually spoke to a live person; inbound calls only",
    "flagged_followup": "only calls that are flagged for follow-up",
    "severity": "only calls with this severity rating, 0 (no severity) to 5 (maximum severity)",
    "has_notes": "only calls that have notes attached",
    "ivr_id": "only calls that went through this IVR menu (UUID or UniqueID of the IVR)",
    "ivr_event_type": "only calls in that IVR with this event type (0 any, 52 option pushed, 53 timeout, "
    "54 direct dial)",
    "ivr_pushed": "with --ivr-event-type 52: only calls that pushed this option (0-9, *, #)",
}


@attrs.frozen(hash=False)
class Option:
    """One option's flags and ``add_argument`` settings; ``add`` puts it on a parser, with changes."""

    flags: tuple[str, ...]
    settings: dict[str, Any]

    def add(self, parser: Any, **changes: Any) -> argparse.Action:
        action: argparse.Action = parser.add_argument(*self.flags, **{**self.settings, **changes})
        return action


def option(*flags: str, **settings: Any) -> Option:
    return Option(flags, settings)


def day(text: str) -> date:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None
    if not FIRST_DAY <= value <= LAST_DAY:  # year 1 would reach the API as "1-01-01", read there as today
        raise argparse.ArgumentTypeError(f"expected a day from {FIRST_DAY} to {LAST_DAY}, got {text!r}")
    return value


def _number(text: str) -> float:
    """The number in ``text``, or NaN (which every range check below refuses)."""
    try:
        return float(text)
    except ValueError:
        return math.nan


def hours(text: str) -> float:
    """``--lookback``: a finite number of hours, 0 to ten years (a plan asks for more than 0 itself)."""
    value = _number(text)
    if not 0 <= value <= MAX_LOOKBACK_HOURS:
        raise argparse.ArgumentTypeError(f"expected a number of hours from 0 to {MAX_LOOKBACK_HOURS:,}, got {text!r}")
    return value


def seconds(text: str) -> float:
    """``--every``: a finite number of seconds, more than 0."""
    value = _number(text)
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number of seconds more than 0, got {text!r}")
    return value


FROM = option("--from", dest="first", type=day, metavar="YYYY-MM-DD", help="first day")
TO = option("--to", dest="last", type=day, metavar="YYYY-MM-DD", help="last day (inclusive)")
UTC_OFFSET = option(
    "--utc-offset", type=int, default=0, metavar="MINUTES", help="minutes from UTC for dates in and out (e.g. -300)"
)
# --out is a folder for the commands that write many files (export's and sync's --out is a file: OUT_FILE).
FOLDER = option("--out", metavar="DIR", help="folder to write into")
# export and sync: what they write and fetch.
OUT_FILE = option(
    "--out", metavar="FILE", help="output file, its name giving the format (and an '-events' file for csv, parquet)"
)
FILE_FORMAT = option(
    "--format", choices=("sqlite", "jsonl", "csv", "parquet"), help="sqlite, jsonl, csv or parquet (default: --out's)"
)
DETAILS = option("--details", action="store_true", help="also fetch every call's event timeline")
RECORDINGS = option("--recordings", metavar="DIR", help="also download recordings into DIR")
SINK = option("--sink", metavar="URL", help="a database: postgresql://... or sqlite:///file (default: PBX_SINK)")
UUID = option("uuid", metavar="UUID", help="the call's UUID (from 'pbx-async calls')")
LOOKBACK = option(
    "--lookback", type=hours, default=48.0, metavar="HOURS", help="how far back each run lists again (default 48)"
)


def concurrency(text: str) -> int | Literal["auto"]:
    """``--concurrency``: a number of requests in flight, or ``auto`` (the limit finds the server's)."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of requests or 'auto', got {text!r}") from None


CONCURRENCY = option(
    "--concurrency",
    type=concurrency,
    default=8,
    metavar="N|auto",
    help="requests in flight, or 'auto': start low and find the server's limit (429s, latency) (default 8)",
)
QUIET = option("--quiet", action="store_true", help="print nothing on success (with --json: only the JSON)")
JSON = option("--json", action="store_true", help="print the result as one line of JSON")
SEED = option("--seed", type=int, default=0, help="the simulated dataset's seed (default 0)")
CALLS = option("--calls", type=int, metavar="N", help="calls in the simulated dataset")
VERBOSE = option(
    "-v",
    "--verbose",
    action="count",
    default=0,
    help="log lines on stderr: -v INFO, -vv DEBUG (every request; key masked)",
)
LOG_LEVEL = option(
    "--log-level",
    type=str.upper,
    choices=("DEBUG", "INFO", "WARNING", "ERROR"),
    metavar="LEVEL",
    help="log level: DEBUG, INFO, WARNING (default) or ERROR; overrides -v",
)
_ACCOUNT = (
    option("--auth", help="API key (shows in the process list: prefer PBX_AUTH)"),
    option("--container-id", help="6-digit container ID"),
    option("--tenant-id", type=int, metavar="N", help="tenant ID, 0-999 (0 = default tenant)"),
    option("--base-url", metavar="URL", help="API base URL"),
    CONCURRENCY,
)


def add_command(
    commands: Any, name: str, summary: str, examples: str, run: Callable[[argparse.Namespace], Any]
) -> argparse.ArgumentParser:
    """A subcommand with its summary, examples and exit codes in ``--help``, and the logging options."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=summary,
        description=summary,
        epilog="examples:\n" + examples + "\n\n" + EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(run=run)
    # Also after the command (pbx-async export ... -v); SUPPRESS keeps a -v given before it.
    VERBOSE.add(parser, default=argparse.SUPPRESS)
    LOG_LEVEL.add(parser, default=argparse.SUPPRESS)
    return parser


def add_window(parser: argparse.ArgumentParser, *, required: bool, offset: bool = True) -> None:
    FROM.add(parser, required=required)
    TO.add(parser, required=required)
    if offset:
        UTC_OFFSET.add(parser)


def add_output(parser: argparse.ArgumentParser) -> None:
    QUIET.add(parser)
    JSON.add(parser)


def add_account(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("account (default: PBX_AUTH, PBX_CONTAINER_ID, PBX_TENANT_ID, PBX_BASE_URL)")
    for account_option in _ACCOUNT:
        account_option.add(group)


def add_filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (the provider's Call Summary filters)")
    for name, kind in get_type_hints(CallFilters).items():
        flag, text = "--" + name.replace("_", "-"), FILTER_HELP[name]
        if kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        elif kind is str:
            group.add_argument(flag, metavar="TEXT", help=text)
        else:
            group.add_argument(flag, type=int, metavar="N", help=text)


def filters(args: argparse.Namespace) -> dict[str, Any]:
    """The filter flags given, as ``iter_calls`` keywords."""
    return {name: getattr(args, name) for name in FILTER_HELP if getattr(args, name, None) is not None}


def warn(text: str) -> None:
    print(f"pbx-async: warning: {text}", file=sys.stderr)


def session(args: argparse.Namespace) -> PbxSession:
    """The account flags over ``PbxSession.from_env``; on a terminal, asks for what neither gives."""
    given: dict[str, Any] = {"max_concurrency": args.concurrency}
    if args.auth:
        warn("--auth shows the API key in the process list; prefer PBX_AUTH")
        given["auth"] = args.auth
    for name in ("container_id", "tenant_id", "base_url"):
        if getattr(args, name) not in (None, ""):
            given[name] = getattr(args, name)
    for name, variable, question in (
        ("auth", "PBX_AUTH", "PBX API key"),
        ("container_id", "PBX_CONTAINER_ID", "PBX container ID (6 digits)"),
    ):
        # Only whether it is set: from_env reads the value.
        if name not in given and not os.environ.get(variable, "").strip() and sys.stdin.isatty():
            given[name] = _ask(question, secret=name == "auth")
    return PbxSession.from_env(**given)


def _ask(question: str, *, secret: bool) -> str:
    try:
        answer = getpass.getpass(f"{question}: ") if secret else input(f"{question}: ")
    except EOFError:
        raise UsageError(f"{question} is not set: see --help for the environment variables") from None
    return answer.strip()
