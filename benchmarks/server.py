"""A benchmark-only API server: every reply encoded per request, with a fixed latency, and two rate limits.

    python -m benchmarks.server --port 8081 --latency 0.05                   # plain
    python -m benchmarks.server --port 8081 --rate 100 --burst 10            # a token bucket: 429 + Retry-After
    python -m benchmarks.server --port 8081 --capacity 16                    # latency grows past 16 in flight

Unlike the simulator it caches nothing and looks nothing up: a details reply
(the call and 10 events) and a list page (500 rows) are built from templates
and JSON-encoded for each request, as a real server would, so what it costs
sits in the same place whatever the client. ``GET /stats`` returns its
counts (requests, 200s, 429s, peak in flight) and ``GET /reset`` zeroes them.

The two rate-limited modes stand for what real providers do:

- ``--rate R --burst B``: a token bucket of B tokens refilled at R a second;
  a request finding it empty is answered at once with 429 and
  ``Retry-After`` in whole seconds (the HTTP form), as most providers send it.
- ``--capacity C``: the server has C workers; past C requests in flight each
  reply takes ``latency x (in flight / C) ** 1.5``, so throughput peaks at C
  and falls beyond it (contention), while nothing says 429.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl

import orjson

Send = Callable[[dict[str, Any]], Awaitable[None]]
EVENTS_PER_CALL = 10
ROWS_PER_PAGE = 500
_NAMES = ["ACME CORP", "GLOBEX", "Ben Okafor", "VANDELAY IND", "Initech", "Umbrella", "Hooli", "Stark"]
_EVENT_TYPES = [1, 3, 9, 25, 52, 4, 10, 13, 2, 35]


def call_row(uuid: str, i: int) -> dict[str, Any]:
    """A Call Summary row as the API sends it (PHP's mix of numbers, 0/1 flags and empty strings)."""
    recorded = i % 3 == 0
    return {
        "callUuid": uuid,
        "callDate": f"2026-11-{1 + i % 28:02d} {i % 24:02d}:{i % 60:02d}:{(7 * i) % 60:02d}",
        "callDirection": 1 + i % 3,
        "cidName": _NAMES[i % len(_NAMES)],
        "cidNum": f"702{5550000 + i % 10_000:07d}",
        "numDialed": "8005550002",
        "duration": 20 + (i * 37) % 900,
        "callRecorded": int(recorded),
        "recordingUrl": f"https://pbx.test/rec/{uuid}.wav" if recorded else "",
        "didDescription": "Billing" if i % 2 else "",
        "cidPrefix": "BILL: " if i % 2 else "",
        "lastEvent": "Hangup",
        "callFlagged": int(i % 11 == 0),
        "callSeverity": i % 4,
        "callNotes": "call back" if i % 13 == 0 else "",
        "wentToVoicemail": int(i % 5 == 0),
        "spokeToPerson": int(i % 5 != 0),
        "didGroup": "Support" if i % 2 else "",
        "transcription": None,
    }


def event_row(call: str, n: int) -> dict[str, Any]:
    return {
        "eventUuid": f"{call}-e{n}",
        "eventDate": f"2026-11-02 09:15:{n * 5:02d}",
        "eventType": _EVENT_TYPES[n % len(_EVENT_TYPES)],
        "eventData1": "a25b592e8e269",
        "eventData2": "127",
        "eventData3": "Ben Okafor",
        "eventData4": "",
    }


def details_reply(uuid: str) -> dict[str, Any]:
    i = sum(uuid.encode()) % 1000
    return {
        "currentResultSize": EVENTS_PER_CALL,
        "currentPage": 1,
        "maxResultSize": EVENTS_PER_CALL,
        "maxPages": 1,
        "utcOffset": 0,
        **call_row(uuid, i),
        "data": {e["eventUuid"]: e for e in (event_row(uuid, n) for n in range(EVENTS_PER_CALL))},
    }


def list_reply(page: int, total: int) -> dict[str, Any]:
    first = (page - 1) * ROWS_PER_PAGE
    rows = [call_row(f"call-{n:08d}", n) for n in range(first, min(total, first + ROWS_PER_PAGE))]
    return {
        "currentResultSize": len(rows),
        "currentPage": page,
        "maxResultSize": total,
        "maxPages": max(1, math.ceil(total / ROWS_PER_PAGE)),
        "utcOffset": 0,
        "data": {row["callUuid"]: row for row in rows} if rows else [],
    }


class App:
    """The ASGI app: a latency, an optional token bucket or capacity, per-request encoding."""

    def __init__(self, *, latency: float, calls: int, rate: float, burst: float, capacity: int) -> None:
        self.latency, self.calls, self.rate, self.capacity = latency, calls, rate, capacity
        self.burst = burst or max(1.0, rate / 10)
        self.tokens, self.refilled = self.burst, time.monotonic()
        self.in_flight = 0
        self.stats = {"requests": 0, "ok": 0, "429": 0, "peak": 0}

    def _take_token(self) -> float:
        """0 when a token was taken; else the seconds until one is due."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        if scope["type"] != "http":
            return
        path = scope["path"]
        if path == "/stats":
            return await _reply(send, 200, orjson.dumps({**self.stats, "in_flight": self.in_flight}))
        if path == "/reset":
            self.stats = dict.fromkeys(self.stats, 0)
            self.tokens, self.refilled = self.burst, time.monotonic()
            return await _reply(send, 200, b"{}")
        self.stats["requests"] += 1
        if self.rate:
            wait = self._take_token()
            if wait:
                self.stats["429"] += 1
                headers = [(b"retry-after", str(max(1, math.ceil(wait))).encode())]
                return await _reply(send, 429, b'{"error": "Too many requests"}', headers)
        self.in_flight += 1
        self.stats["peak"] = max(self.stats["peak"], self.in_flight)
        try:
            delay = self.latency
            if self.capacity and self.in_flight > self.capacity:
                delay *= (self.in_flight / self.capacity) ** 1.5
            await asyncio.sleep(delay)
        finally:
            self.in_flight -= 1
        query = dict(parse_qsl(scope["query_string"].decode()))
        if path.endswith("call_details.php"):
            body = orjson.dumps(details_reply(query.get("callUUID", "")))
        elif path.endswith("call_list.php"):
            body = orjson.dumps(list_reply(int(query.get("page", "1")), self.calls))
        else:
            return await _reply(send, 404, b'{"error": "no such endpoint"}')
        self.stats["ok"] += 1
        await _reply(send, 200, body)


async def _reply(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])]
    await send({"type": "http.response.start", "status": status, "headers": head})
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serve(**options: float) -> Iterator[str]:
    """This server in a child process for the block (a core of its own); yields its base URL.

    with serve(latency=0.05, rate=100) as base_url: ...
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "benchmarks.server", "--port", str(port)]
    for name, value in options.items():
        command += ["--" + name, str(value)]
    server = subprocess.Popen(command)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds before each reply (default 0.05)")
    parser.add_argument("--calls", type=float, default=50_000, help="rows in the call list (default 50,000)")
    parser.add_argument("--rate", type=float, default=0, help="token bucket: requests a second (0: no limit)")
    parser.add_argument("--burst", type=float, default=0, help="token bucket: its size (default rate / 10)")
    parser.add_argument("--capacity", type=float, default=0, help="requests in flight before latency grows")
    args = parser.parse_args()
    import uvicorn

    app = App(
        latency=args.latency, calls=int(args.calls), rate=args.rate, burst=args.burst, capacity=int(args.capacity)
    )
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, lifespan="off", backlog=4096
    )
    try:
        import uvloop

        uvloop.run(uvicorn.Server(config).serve())
    except ImportError:
        asyncio.run(uvicorn.Server(config).serve())


if __name__ == "__main__":
    main()
