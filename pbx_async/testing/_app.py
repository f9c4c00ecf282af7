"""The simulator as a raw ASGI application (no framework: four endpoints and a recording path), with faults and lies."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import anyio

from ._lying_replies import echo_key, gzip_bomb, oversized, redirect
from ._reply import Reply

if TYPE_CHECKING:
    from ._simulator import Simulator

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_ENDPOINTS = {
    "/api/call_list.php": "list",
    "/api/call_details.php": "details",
    "/api/call_notes.php": "notes",
    "/api/call_recording.php": "recording",
}
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
        # The latency is the reply's time from arrival, this app's own work included (as a
        # provider's response time is): sleeping it on top of the work would add the
        # simulator's CPU, and the machine's contention for it, to every request a
        # benchmark counts against the client.
        arrived = anyio.current_time()
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
        endpoint = "recording" if path.startswith("/recordings/") else _ENDPOINTS.get(path, "other")
        lie = sim.roll_lie(endpoint)
        if fault:
            sim.stats[f"fault {fault}"] += 1
            lie = None if fault != "slow" else lie  # a request meets one trouble at most (slow only delays)
        if fault == "slow":
            delay += sim.faults.slow_seconds
        if fault in ("error_500", "error_503", "rate_limit"):
            reply = self._error_reply(fault)
        else:
            reply = self._lie_or_route(scope, body, lie)
        if delay:
            await anyio.sleep_until(arrived + delay)  # at once when the work took longer
        for name in reply.lies:
            sim.stats[f"lie {name}"] += 1
        if lie == "trickle":
            sim.stats["lie trickle"] += 1
            await self._trickle(receive, send, reply)
            return
        await self._send(send, reply, fault)

    def _lie_or_route(self, scope: Scope, body: bytes, lie: str | None) -> Reply:
        lies = self.sim.lies
        if lie == "redirect":
            raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
            return redirect(lies.redirect_to, raw_path, scope["query_string"], scope["method"])
        if lie == "echo_key":
            form = _form(body) if scope["method"] == "POST" else {}
            return echo_key(_query(scope).get("auth") or form.get("auth") or self.sim.auth)
        reply = self._route(scope, body, changed=lie == "resume_changes_file")
        if lie == "gzip_bomb" and reply.is_json:
            return gzip_bomb(reply, lies.bomb_bytes)
        if lie == "oversized" and reply.is_json:
            return oversized(reply, lies.oversized_bytes, lies.oversized_declared)
        return reply

    def _route(self, scope: Scope, body: bytes, *, changed: bool = False) -> Reply:
        path, method = scope["path"], scope["method"]
        params = _query(scope)
        if path.startswith("/recordings/"):
            file_name = path.split("/", 3)[3] if path.count("/") >= 3 else ""  # /recordings/CONTAINER/NAME
            return self._recording(scope, file_name, self.sim.hosting(file_name=file_name), changed)
        if method == "POST" and path == "/api/call_notes.php":
            form = _form(body)
            sim = self.sim.hosting(params=form)
            return sim.check_account(form) or sim.call_notes(form)
        sim = self.sim.hosting(params=params)
        if method != "GET":
            return Reply(405, (("content-length", "0"),), body=b"")
        handlers = {"/api/call_list.php": sim.call_list, "/api/call_details.php": sim.call_details}
        if path in handlers:
            return sim.check_account(params) or handlers[path](params)
        if path == "/api/call_recording.php":
            return sim.check_account(params) or self._recording(scope, params.get("fileName"), sim, changed)
        return Reply(404, (("content-length", "0"),), body=b"")

    @staticmethod
    def _recording(scope: Scope, file_name: str | None, sim: Simulator, changed: bool) -> Reply:
        headers = dict(scope["headers"])
        return sim.recording_reply(file_name, headers.get(b"range"), headers.get(b"if-range"), changed=changed)

    def _error_reply(self, fault: str) -> Reply:
        status = {"error_500": 500, "error_503": 503, "rate_limit": 429}[fault]
        body = _HTML_ERROR % status
        headers = [("content-type", "text/html"), ("content-length", str(len(body)))]
        if fault == "rate_limit":
            headers.append(("retry-after", str(self.sim.faults.retry_after)))
        return Reply(status, tuple(headers), body=body, size=len(body))

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

    async def _trickle(self, receive: Receive, send: Send, reply: Reply) -> None:
        """The body one byte at a time, ``trickle_seconds`` apart, until it is sent or the client hangs up."""
        pause = self.sim.lies.trickle_seconds
        sent_all = False
        async with anyio.create_task_group() as tasks:

            async def watch_for_hang_up() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                if not sent_all:
                    self.sim.stats["lie trickle abandoned"] += 1  # the client gave up before the end
                tasks.cancel_scope.cancel()

            tasks.start_soon(watch_for_hang_up)
            headers = [(k.encode(), v.encode()) for k, v in reply.headers]
            await send({"type": "http.response.start", "status": reply.status, "headers": headers})
            first = True
            for chunk in [reply.body] if reply.body is not None else reply.chunks or iter(()):
                for i in range(len(chunk)):
                    if not first:  # pauses between bytes, none after the last: the client has it all then
                        await anyio.sleep(pause)
                    first = False
                    await send({"type": "http.response.body", "body": chunk[i : i + 1], "more_body": True})
            sent_all = True
            await send({"type": "http.response.body", "body": b""})
            tasks.cancel_scope.cancel()


def _query(scope: Scope) -> dict[str, str]:
    # Case-sensitive names, first value wins, as PHP's $_GET does for plain names.
    return dict(reversed(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)))


def _form(body: bytes) -> dict[str, str]:
    return dict(reversed(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)))
