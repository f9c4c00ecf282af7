"""The simulator as a raw ASGI application (no framework: four endpoints and a recording path)."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio

from ._reply import Reply, json_reply

if TYPE_CHECKING:
    from ._simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")
_HTML_ERROR = b"<html><body><h1>%d</h1>The server had a problem.</body></html>"


class ConnectionDropped(Exception):
    """Raised by the app to drop the connection mid-reply (a simulated network fault)."""


class SimulatorApp:
    """ASGI callable serving a ``Simulator``: ``/api/call_list.php`` and friends, plus recording URLs."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._latency_rng = random.Random(sim.seed + 2)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        sim = self.sim
        path: str = scope["path"]
        sim.stats[f"requests {path}"] += 1
        delay = sim.latency + (self._latency_rng.uniform(0, sim.jitter) if sim.jitter else 0.0)
        fault = sim.roll_fault()
        if fault:
            sim.stats[f"fault {fault}"] += 1
        if fault == "slow":
            delay += sim.faults.slow_seconds
        if delay:
            await anyio.sleep(delay)
        if fault in ("error_500", "error_503", "rate_limit"):
            await self._send_error(send, fault)
            return
        reply = self._route(scope, body)
        await self._send(send, reply, fault)

    def _route(self, scope: Scope, body: bytes) -> Reply:
        path, method = scope["path"], scope["method"]
        # Case-sensitive names, first value wins, as PHP's $_GET does for plain names.
        params = dict(reversed(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)))
        if path.startswith("/recordings/"):
            file_name = path.rsplit("/", 1)[-1]
            return self._recording(scope, file_name, self.sim.hosting(file_name=file_name))
        if method == "POST" and path == "/api/call_notes.php":
            form = dict(reversed(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
            sim = self.sim.hosting(params=form)
            return sim.check_account(form) or sim.call_notes(form)
        sim = self.sim.hosting(params=params)
        if method != "GET":
            return Reply(405, (("content-length", "0"),), body=b"")
        handlers = {"/api/call_list.php": sim.call_list, "/api/call_details.php": sim.call_details}
        if path in handlers:
            return sim.check_account(params) or handlers[path](params)
        if path == "/api/call_recording.php":
            return sim.check_account(params) or self._recording(scope, params.get("fileName"), sim)
        return Reply(404, (("content-length", "0"),), body=b"")

    def _recording(self, scope: Scope, file_name: str | None, sim: Simulator) -> Reply:
        call = sim.find_recording(file_name)
        if call is None:
            return json_reply({"error": "Recording not found."}, status=404)
        recording = sim.recording(call.uuid)
        size = recording.size
        headers = [
            ("content-type", "audio/wav"),
            ("content-disposition", f'attachment; filename="{file_name}"'),
        ]
        if sim.range_requests:
            headers.append(("accept-ranges", "bytes"))
        range_header = dict(scope["headers"]).get(b"range")
        if sim.range_requests and range_header:
            match = _RANGE.match(range_header.decode("latin-1").strip())
            first, last = (match.group(1), match.group(2)) if match else ("", "")
            if not match or (not first and not last):
                return Reply(416, (("content-range", f"bytes */{size}"), ("content-length", "0")), body=b"")
            start = int(first) if first else size - int(last)
            end = min(int(last) + 1, size) if first and last else size
            if start >= size or start < 0 or start >= end:
                return Reply(416, (("content-range", f"bytes */{size}"), ("content-length", "0")), body=b"")
            headers += [
                ("content-range", f"bytes {start}-{end - 1}/{size}"),
                ("content-length", str(end - start)),
            ]
            return Reply(206, tuple(headers), chunks=recording.chunks(start, end), size=end - start)
        headers.append(("content-length", str(size)))
        return Reply(200, tuple(headers), chunks=recording.chunks(), size=size)

    async def _send_error(self, send: Send, fault: str) -> None:
        status = {"error_500": 500, "error_503": 503, "rate_limit": 429}[fault]
        body = _HTML_ERROR % status
        headers = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
        if fault == "rate_limit":
            headers.append((b"retry-after", str(self.sim.faults.retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _send(self, send: Send, reply: Reply, fault: str | None) -> None:
        headers = [(k.encode(), v.encode()) for k, v in reply.headers]
        if fault == "truncated_json" and reply.is_json and reply.body is not None:
            body = reply.body[: max(1, len(reply.body) // 2)]
            headers = [(k, str(len(body)).encode() if k == b"content-length" else v) for k, v in headers]
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        if fault == "reset":
            raise ConnectionDropped("simulated connection reset")
        budget = reply.size // 2 if fault in ("cut_body", "truncated_json") else None
        chunks = [reply.body] if reply.body is not None else reply.chunks or iter(())
        sent = 0
        for chunk in chunks:
            if budget is not None and sent + len(chunk) > budget:
                await send({"type": "http.response.body", "body": chunk[: budget - sent], "more_body": True})
                raise ConnectionDropped("simulated connection cut mid-body")
            sent += len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
