"""A single-account output (``--out``): its lock, its store, and whose calls it holds.

An output file holds one account's calls (its container, tenant and API
host, recorded in the store on the first run): a run for another account
into it is refused, as is a sync into an export's output or the other way
round. Many accounts go into one database with ``plan`` and ``export --shard``
(or ``sync --sink``), where each call carries its account.
"""

from __future__ import annotations

import json
from pathlib import Path

from .._errors import ValidationError
from .sinks import Account
from .sinks._sqlite import SqliteSink


def store_path(out: Path, fmt: str) -> Path:
    """Where the run's state is: the output itself for SQLite, ``OUT.export.sqlite`` beside it otherwise."""
    return out if fmt == "sqlite" else out.with_name(out.name + ".export.sqlite")


def not_a_link(out: Path, fmt: str) -> None:
    """Refuse an output (or its state file) that is a link: a run would replace it, and links are the user's."""
    for path in dict.fromkeys((out, store_path(out, fmt))):
        if path.is_symlink():
            raise ValidationError(
                f"{path} is a link: give the file itself, or another --out "
                "(a link is never replaced nor written through)"
            )


def lock_path(out: Path) -> Path:
    """The lock file of an output: ``OUT.lock`` beside it, there while a run holds it."""
    return out.with_name(out.name + ".lock")


def _name(account: Account, base_url: str) -> str:
    return f"container {account.container_id}, tenant {account.tenant_id} at {base_url}"


async def claim(store: SqliteSink, out: Path, kind: str, account: Account, base_url: str) -> None:
    """Refuse ``out`` when it holds another account's calls or another kind of run; else record ours."""
    mine = json.dumps({"container_id": account.container_id, "tenant_id": account.tenant_id, "base_url": base_url})
    recorded = await store.meta("account")
    if recorded is not None and recorded != mine:
        theirs = json.loads(recorded)
        other = Account(theirs["container_id"], theirs["tenant_id"])
        raise ValidationError(
            f"{out} holds the calls of {_name(other, theirs['base_url'])}; this run is for "
            f"{_name(account, base_url)}: an output file holds one account, so choose another --out "
            "(many accounts go into one database: see 'pbx-async plan')"
        )
    if recorded is None:  # written before outputs recorded their account: its calls say whose they are
        others = [a for a in await store.accounts() if a != account]
        if others:
            raise ValidationError(
                f"{out} holds the calls of container {others[0].container_id}, tenant {others[0].tenant_id}; "
                f"this run is for {_name(account, base_url)}: choose another --out"
            )
        await store.set_meta("account", mine)
    had = await store.meta("kind") or ("export" if await store.meta("spec") is not None else None)
    if had is not None and had != kind:
        raise ValidationError(f"{out} is kept by 'pbx-async {had}', not '{kind}': choose another --out for this {kind}")
    await store.set_meta("kind", kind)
