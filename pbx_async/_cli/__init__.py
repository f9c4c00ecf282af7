"""The ``pbx-async`` command line: export, plan, demo, report, simulate, and small one-off queries.

    pbx-async export --from 2026-08-01 --to 2026-10-31 --details --out calls.sqlite

Layout: ``_parser`` builds the parser from each command module's ``register``
(``_export``: export, plan; ``_oneoff``: calls, details, recording, notes;
``_demo``: demo, report, simulate); ``_options`` defines every shared option
once; ``_output`` formats; ``_exit`` names the exit codes and turns whatever a
command raised into one line. Only public names of ``pbx_async``,
``pbx_async.export`` and ``pbx_async.testing`` are used.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

import anyio

from ._exit import CliError, Exit, explain
from ._parser import parse

__all__ = ["Exit", "main"]

_LEVELS = {0: logging.WARNING, 1: logging.INFO}


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``pbx-async`` with ``argv`` (default: the process's) and return its exit code (an ``Exit``).

    Nothing a user can cause is raised or shown as a traceback; a bug's traceback is printed, and 3 returned.
    """
    prog, where = "pbx-async", None
    restore: Callable[[], None] | None = None
    try:
        try:
            args = parse(argv)
        except SystemExit as done:  # --help, --version, --print-completion
            sys.stdout.flush()
            return int(done.code or 0)
        prog, where = f"pbx-async {args.command}", getattr(args, "out", None) or getattr(args, "file", None)
        restore = _logging(args.verbose, args.log_level)
        run: Callable[[argparse.Namespace], Any] = args.run  # a command's run_*, async or not
        code = anyio.run(run, args) if inspect.iscoroutinefunction(run) else run(args)
        sys.stdout.flush()  # a closed pipe or a full disk shows here, inside the handler, not at exit
        return int(code)
    except BaseException as exc:  # the one place every error becomes a line and a code
        explained = explain(exc, str(where) if where is not None else None)
        if explained is None:
            if not isinstance(exc, Exception):
                raise  # SystemExit and the like: not ours to turn into a code
            traceback.print_exc()
            print(f"{prog}: an internal error (a bug): please report it with the lines above", file=sys.stderr)
            return Exit.FAILED
        code, line = explained
        _silence_stdout()
        if line:
            shown = exc.prog if isinstance(exc, CliError) and exc.prog else prog
            print(f"{shown}: {line}", file=sys.stderr)
        return int(code)
    finally:
        if restore is not None:
            restore()


def _logging(verbose: int, level: str | None) -> Callable[[], None] | None:
    """-v / -vv / --log-level: log lines on stderr for this run (none asked: warnings only, as Python does).

    Returns what puts the logging set-up back as it was (``main`` may run many times in one process).
    """
    if not verbose and level is None:
        return None
    # A name of argparse's choices: getLevelName gives its number (the str -> int use typeshed deprecates).
    chosen = logging.getLevelName(level) if level else _LEVELS.get(verbose, logging.DEBUG)  # pyright: ignore[reportDeprecated]
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(chosen)  # a logger set lower elsewhere in the process does not get past the asked level
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    before = root.level
    root.addHandler(handler)
    root.setLevel(chosen)

    def restore() -> None:
        root.removeHandler(handler)
        root.setLevel(before)

    return restore


def _silence_stdout() -> None:
    """After a closed pipe or a full disk, send what is still buffered nowhere, so exit stays quiet."""
    try:
        sys.stdout.flush()
    except OSError:
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, OSError, ValueError):
            return
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, fd)
        os.close(devnull)
