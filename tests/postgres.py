"""A PostgreSQL server for the tests: the one ``PBX_TEST_POSTGRES`` names, or a throwaway cluster.

``.ci/run`` starts a cluster and sets ``PBX_TEST_POSTGRES`` (a URL of a
database the tests may create databases from) and ``PBX_REQUIRE_POSTGRES=1``,
so there the tests cannot be skipped. Elsewhere, when PostgreSQL's programs
are installed, the tests start their own cluster in a temporary folder (as the
``postgres`` user when run as root), and skip when they are not.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


@contextmanager
def throwaway_cluster() -> Iterator[str]:
    """initdb + pg_ctl on a free loopback port; yields a URL of its ``postgres`` database."""
    initdb, pg_ctl = _tool("initdb"), _tool("pg_ctl")
    if not initdb or not pg_ctl:
        raise FileNotFoundError("PostgreSQL's initdb/pg_ctl are not installed")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="pbx-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        shutil.chown(folder, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = folder / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True, **quiet)
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200"
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"],
                   check=True, **quiet)  # fmt: skip
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], check=False, **quiet)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def server() -> Iterator[str]:
    given = os.environ.get("PBX_TEST_POSTGRES")
    if given:
        yield given
        return
    try:
        with throwaway_cluster() as url:
            yield url
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        if os.environ.get("PBX_REQUIRE_POSTGRES"):
            raise
        pytest.skip(f"no PostgreSQL for these tests ({exc}); set PBX_TEST_POSTGRES or install postgresql")


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def fresh_database(url: str) -> str:
    """Create an empty database on the server; returns its URL."""
    import psycopg

    name = f"pbx_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    return with_database(url, name)
