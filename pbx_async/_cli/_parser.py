"""The ``pbx-async`` parser: global options, then each command module's own subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from importlib import metadata
from typing import Any, NoReturn

from .. import __version__
from . import _demo, _export, _oneoff, _sync
from . import _options as opt
from ._exit import EPILOG, UsageError, missing_extra

SHELLS = ("bash", "zsh", "tcsh")


class Parser(argparse.ArgumentParser):
    """An argument mistake is one line (the command's usage stays in --help), raised for ``main``."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')", prog=self.prog)


def version() -> str:
    """The installed distribution's version (the package's own when it runs from a source tree)."""
    try:
        return metadata.version("pbx-async")
    except metadata.PackageNotFoundError:
        return __version__


class _PrintCompletion(argparse.Action):
    """Print a shell completion script (made by shtab, the optional 'cli' extra) and stop."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: Any, values: Any, option: Any = None) -> None:
        try:
            import shtab
        except ImportError:
            raise missing_extra("shtab") from None
        files = {"FILE": shtab.FILE, "DIR": shtab.DIRECTORY}
        for action in _actions(parser):
            if isinstance(action.metavar, str) and action.metavar in files:
                action.complete = files[action.metavar]  # type: ignore[attr-defined]  # shtab reads it
        print(shtab.complete(parser, shell=values), end="")
        parser.exit()


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from _actions(sub)


def build_parser() -> Parser:
    parser = Parser(
        prog="pbx-async",
        description="Pull call history, call timelines and recordings out of the PBX.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument(
        "--print-completion",
        action=_PrintCompletion,
        choices=SHELLS,
        metavar="SHELL",
        help="print a completion script for bash, zsh or tcsh (needs shtab: pip install 'pbx-async[cli]'); "
        "e.g. pbx-async --print-completion bash > ~/.local/share/bash-completion/completions/pbx-async",
    )
    opt.VERBOSE.add(parser)
    opt.LOG_LEVEL.add(parser)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (_export, _sync, _oneoff, _demo):
        module.register(commands)
    return parser


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    return build_parser().parse_args(argv)
