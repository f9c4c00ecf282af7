"""The real command in a pipe, on a full device, and serving: what only a separate process can show."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pbx_async.testing import Simulator

from .conftest import WINDOW, accounts_file

pytestmark = pytest.mark.slow
COMMAND = [sys.executable, "-m", "pbx_async"]


def _env(sim: Simulator) -> dict[str, str]:
    return {**os.environ, "PBX_AUTH": sim.auth, "PBX_CONTAINER_ID": sim.container_id, "PBX_BASE_URL": sim.public_url}


def _argv(kind: str, sim: Simulator, tmp_path: Path) -> list[str]:
    if kind == "calls":
        return ["calls", *WINDOW]
    if kind == "details --json":
        return ["details", sim.truth_calls()[0].uuid, "--json"]
    config = accounts_file(tmp_path, sim, "PBX_AUTH")
    return ["plan", "--config", str(config), *WINDOW, "--pages", "1"]


@pytest.mark.parametrize("kind", ["calls", "details --json", "plan"])
def test_a_reader_that_stops_early_ends_the_command_quietly(
    served: tuple[Simulator, str], tmp_path: Path, kind: str
) -> None:
    sim, _ = served
    command = [*COMMAND, *_argv(kind, sim, tmp_path)]
    # `| head -n 1`: the first line is read, then the pipe closes under the writer.
    writer = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(sim))
    head = subprocess.run(["/usr/bin/head", "-n", "1"], stdin=writer.stdout, capture_output=True, check=True)
    assert writer.stdout is not None and writer.stderr is not None
    writer.stdout.close()
    errors = writer.stderr.read().decode()
    writer.stderr.close()
    assert writer.wait(timeout=60) in (0, 141)  # 141 when the writer still had lines to write
    assert errors == "" and len(head.stdout.splitlines()) == 1
    # A reader gone before the first line: the writer meets the closed pipe for certain.
    reader_gone = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(sim))
    assert reader_gone.stdout is not None
    reader_gone.stdout.close()
    _, errors_b = reader_gone.communicate(timeout=60)
    assert (reader_gone.returncode, errors_b) == (141, b"")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_onto_a_full_device_is_one_line_and_exit_3(served: tuple[Simulator, str]) -> None:
    sim, _ = served
    with open("/dev/full", "w") as full:  # a device whose every write fails with ENOSPC
        result = subprocess.run(
            [*COMMAND, "calls", *WINDOW], stdout=full, stderr=subprocess.PIPE, text=True, env=_env(sim), timeout=60
        )
    assert result.returncode == 3
    assert result.stderr.splitlines() == [
        "pbx-async calls: no space left on the device for the output: free some space, then run the same command again"
    ]


def test_simulate_on_port_0_prints_the_port_it_listens_on() -> None:
    server = subprocess.Popen(
        [*COMMAND, "simulate", "--port", "0", "--calls", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()
        url = re.search(r"on (http://127\.0\.0\.1:(\d+)/)$", first.strip())
        assert url is not None and int(url.group(2)) > 0, first
        env = dict(re.findall(r"(PBX_\w+)=(\S+)", server.stdout.readline()))
        assert env["PBX_BASE_URL"] == url.group(1)
        reply = httpx.get(
            url.group(1) + "api/call_list.php",
            params={"auth": env["PBX_AUTH"], "containerID": env["PBX_CONTAINER_ID"], "fromDate": "2026-10-01 00:00:00"},
        )
        assert reply.status_code == 200 and reply.json()["maxResultSize"] == 30
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C: how a simulator is stopped
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0 and "Traceback" not in errors
