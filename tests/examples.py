"""The code examples of README.md and docs/*.md, as files: the tests run them, pyright checks their types.

    python -m tests.examples build/examples    # one folder per Python example, for `pyright -p pyright-examples.json`

A Python block is one of three kinds. A *script* (it calls ``anyio.run``) is
written as it stands. A *pytest* example (it opens with ``# conftest.py``) is
split into its ``conftest.py`` and its test file. Anything else is a
*fragment* of a session's work: it becomes the body of ``example(session, day,
calls, call, uuid)``, which ``FRAGMENT`` calls with an open session from the
environment (``PbxSession.from_env()``), a day, that day's calls, a recorded
and answered call among them and its UUID; the module ``pbx_async`` is
imported for it too, and nothing else is given.
A ``sh`` block whose every line runs ``pbx-async`` is a *command* example.
"""

from __future__ import annotations

import re
import sys
import textwrap
from pathlib import Path

import attrs

ROOT = Path(__file__).resolve().parent.parent
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
_PYTHON = re.compile(r"^```python[^\n]*\n(.*?)^```", re.S | re.M)
_SHELL = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)

FRAGMENT = """\
from datetime import date

import anyio

import pbx_async as pbx_async  # for fragments naming pbx_async.X (re-export form: unused is no error)
from pbx_async import CallSummary, PbxSession


async def example(session: PbxSession, day: date, calls: list[CallSummary], call: CallSummary, uuid: str) -> None:
{body}


async def main() -> None:
    async with PbxSession.from_env() as session:
        day = date(2026, 11, 1)
        calls = [c async for c in session.iter_calls(from_date=day, to_date=date(2026, 11, 2))]
        call = next(c for c in calls if c.recorded and c.spoke_to_person)
        await example(session, day, calls, call, call.uuid)


anyio.run(main)
"""


@attrs.frozen
class Example:
    """One code block of a page: where it is (``docs/errors.md#2``), its language and its text."""

    page: str
    number: int
    language: str
    code: str

    @property
    def name(self) -> str:
        return f"{self.page}#{self.number}"

    @property
    def kind(self) -> str:
        if self.language == "sh":
            return "command"
        if self.code.startswith("# conftest.py"):
            return "pytest"
        return "script" if "anyio.run(" in self.code else "fragment"

    def files(self) -> dict[str, str]:
        """The files this example is written as, by name."""
        if self.kind == "pytest":
            conftest, test = self.code.split("# test_", 1)
            return {"conftest.py": conftest, "test_example.py": "# test_" + test}
        if self.kind == "fragment":
            return {"example.py": FRAGMENT.format(body=textwrap.indent(self.code, "    "))}
        if self.kind == "command":
            return {"example.sh": "set -e\n" + self.code}
        return {"example.py": self.code}

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in self.files().items():
            (folder / name).write_text(text, encoding="utf-8")
        return folder


def examples(page: Path) -> list[Example]:
    """The Python blocks of ``page``, then its command blocks (``sh`` blocks of ``pbx-async`` lines only)."""
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(ROOT).as_posix()
    found = [Example(name, i, "python", code) for i, code in enumerate(_PYTHON.findall(text), 1)]
    commands = [c for c in _SHELL.findall(text) if all(line.startswith("pbx-async ") for line in c.splitlines())]
    return found + [Example(name, len(found) + i, "sh", code) for i, code in enumerate(commands, 1)]


def all_examples() -> list[Example]:
    return [example for page in PAGES for example in examples(page)]


def main(argv: list[str]) -> None:
    """Write every Python example of README.md and docs/ under the folder ``argv[0]``, one folder each."""
    [target] = argv
    for example in all_examples():
        if example.language == "python":
            example.write(Path(target) / re.sub(r"[^A-Za-z0-9]+", "_", example.name))


if __name__ == "__main__":
    main(sys.argv[1:])
