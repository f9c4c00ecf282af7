"""Open a page in headless Chromium over the DevTools protocol: console errors, requests, a DOM probe, a screenshot.

Chromium is started with a fresh profile and a debugging port it picks
itself; the page target is driven over one websocket (aiohttp's client), one
command at a time, collecting the events that arrive in between.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import anyio.abc
import attrs

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
)
NAMES = ("chromium", "chromium-browser", "google-chrome")


def find_chromium() -> str | None:
    return next((path for name in NAMES if (path := shutil.which(name))), None)


@attrs.frozen
class PageVisit:
    errors: tuple[str, ...]  # console errors, uncaught exceptions, error log entries
    requests: tuple[str, ...]  # every URL the page asked for
    probe: Any  # what the probe expression returned
    screenshot: Path


class _Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = await self.ws.receive_json()
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    async def until(self, method: str) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        while True:
            message = await self.ws.receive_json()
            self.events.append(message)
            if message.get("method") == method:
                return


def _errors(events: Sequence[dict[str, Any]]) -> tuple[str, ...]:
    found = []
    for e in events:
        method, params = e.get("method"), e.get("params", {})
        if method == "Runtime.exceptionThrown":
            found.append(json.dumps(params.get("exceptionDetails", {}))[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(json.dumps(params.get("args", []))[:500])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            found.append(str(params["entry"].get("text"))[:500])
    return tuple(found)


async def _port(profile: Path, process: anyio.abc.Process) -> int:
    marker = profile / "DevToolsActivePort"
    with anyio.fail_after(30):
        while not marker.exists() or not marker.read_text().strip():
            if process.returncode is not None:
                raise RuntimeError(f"chromium exited with {process.returncode} before opening its debugging port")
            await anyio.sleep(0.05)
    return int(marker.read_text().split()[0])


async def visit(
    chromium: str, page: Path, screenshot: Path, probe: str, *, width: int = 1400, seconds: float = 60
) -> PageVisit:
    """Load ``page`` (a file), evaluate ``probe`` (a JS expression returning JSON-able data), save a full-page PNG."""
    # Chromium's helper processes may still write the profile as it goes: never fail on its cleanup.
    with tempfile.TemporaryDirectory(prefix="pbx-chromium-", ignore_cleanup_errors=True) as profile:
        command = [chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900", "about:blank"]
        process = await anyio.open_process(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            with anyio.fail_after(seconds):
                port = await _port(Path(profile), process)
                async with aiohttp.ClientSession() as http:
                    async with http.get(f"http://127.0.0.1:{port}/json/list") as reply:
                        targets = await reply.json()
                    target = next(t for t in targets if t.get("type") == "page")
                    async with http.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0) as ws:
                        return await _drive(_Page(ws), page, screenshot, probe, width)
        finally:
            if process.returncode is None:
                process.terminate()
            with anyio.move_on_after(10):
                await process.wait()
            if process.returncode is None:
                process.kill()
                await process.wait()


async def _drive(p: _Page, page: Path, screenshot: Path, probe: str, width: int) -> PageVisit:
    for domain in ("Page", "Runtime", "Log", "Network"):
        await p.call(f"{domain}.enable")
    await p.call("Emulation.setDeviceMetricsOverride", width=width, height=900, deviceScaleFactor=1, mobile=False)
    await p.call("Page.navigate", url=page.resolve().as_uri())
    await p.until("Page.loadEventFired")
    result = await p.call("Runtime.evaluate", expression=probe, returnByValue=True)
    if "exceptionDetails" in result:
        raise RuntimeError(f"the probe failed: {result['exceptionDetails']}")
    metrics = await p.call("Page.getLayoutMetrics")
    height = int(metrics.get("cssContentSize", metrics.get("contentSize"))["height"])
    await p.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
    shot = await p.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    screenshot.write_bytes(base64.b64decode(shot["data"]))
    requests = tuple(
        str(e["params"]["request"]["url"]) for e in p.events if e.get("method") == "Network.requestWillBeSent"
    )
    return PageVisit(_errors(p.events), requests, result.get("result", {}).get("value"), screenshot)


def artifacts_dir(default: Path) -> Path:
    """Where screenshots go: ``PBX_ARTIFACTS`` when set (CI keeps it), else ``default``."""
    return Path(os.environ.get("PBX_ARTIFACTS") or default)
