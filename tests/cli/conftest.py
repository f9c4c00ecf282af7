"""The command line in-process (``main([...])`` with capsys) against one simulator served over loopback."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio.from_thread
import attrs
import pytest

from pbx_async._cli import main
from pbx_async.testing import Simulator, serve

WINDOW = ["--from", "2026-10-31", "--to", "2026-11-02"]
MOUNT, UMOUNT = shutil.which("mount"), shutil.which("umount")


def accounts_file(folder: Path, sim: Simulator, auth_env: str) -> Path:
    """An accounts file in ``folder`` naming one account, "east": the simulator's, its key in ``auth_env``."""
    path = folder / "accounts.toml"
    path.write_text(
        f'[[account]]\nname = "east"\ncontainer_id = "{sim.container_id}"\nauth_env = "{auth_env}"\n'
        f'base_url = "{sim.public_url}"\n',
        encoding="utf-8",
    )
    return path


@attrs.frozen
class Ran:
    """What a command did: its exit code and what it printed."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """``cli(*args)`` runs ``pbx-async ARGS`` in this process and returns a ``Ran``."""

    def run(*args: str) -> Ran:
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Ran(code, captured.out, captured.err)

    return run


@pytest.fixture(scope="package")
def served() -> Iterator[tuple[Simulator, str]]:
    """One simulator for the CLI tests, over real HTTP on loopback: (sim, base_url)."""
    sim = Simulator(calls=300, days=3, seed=11, sample_rate=100)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serve(sim)) as base_url,
    ):
        yield sim, base_url


@pytest.fixture
def account(served: tuple[Simulator, str], monkeypatch: pytest.MonkeyPatch) -> Simulator:
    """The environment of a user of the served simulator (PBX_AUTH, ...); returns the simulator."""
    sim, base_url = served
    for name, value in (("PBX_AUTH", sim.auth), ("PBX_CONTAINER_ID", sim.container_id), ("PBX_BASE_URL", base_url)):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PBX_TENANT_ID", raising=False)
    return sim


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` by path, with a digest of its bytes."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def kept(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The files of ``before`` that are gone or changed in ``after`` (an empty list: all kept)."""
    return [name for name, digest in before.items() if after.get(name) != digest]


def _mount(folder: Path, options: str) -> bool:
    """A tmpfs on ``folder`` (root only); False when this machine does not allow it."""
    if os.geteuid() != 0 or MOUNT is None or UMOUNT is None:
        return False
    result = subprocess.run(
        [MOUNT, "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, check=False
    )
    return result.returncode == 0


def _unmount(folder: Path) -> None:
    subprocess.run([str(UMOUNT), "-l", str(folder)], check=False)


@contextmanager
def read_only_folder(folder: Path) -> Iterator[Path]:
    """A real read-only folder: a read-only tmpfs as root (who may write anywhere else), chmod 555 otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        if not _mount(folder, "ro,size=1m"):
            pytest.skip("root cannot make a read-only folder here (no tmpfs mount)")
        try:
            yield folder
        finally:
            _unmount(folder)
    else:
        folder.chmod(0o555)
        try:
            yield folder
        finally:
            folder.chmod(0o755)


@contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A real file system of ``size`` (a tmpfs; root only) that an export fills up."""
    folder.mkdir(parents=True, exist_ok=True)
    if not _mount(folder, f"size={size}"):
        pytest.skip("a full disk needs a tmpfs mount (root)")
    try:
        yield folder
    finally:
        _unmount(folder)
