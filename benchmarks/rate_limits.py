"""``concurrency="auto"`` against fixed limits on two rate-limited servers.

    python -m benchmarks.rate_limits              # real servers (benchmarks/server.py), wall clock
    python -m benchmarks.rate_limits --virtual    # the same servers simulated in-process on a virtual clock

The servers: a token bucket (100 and 400 requests/s, 429 with a whole-second
``Retry-After`` past it) and one with C = 16 workers whose latency grows as
(in flight / C) ** 1.5 past them. Each run fetches the details of N calls with
``on_error="return"`` and reports the throughput of successful replies (per
second, and as a share of the bucket's rate or of the best fixed run), the
share of replies that were 429, the calls that failed after their retries,
and for ``auto`` the limit it ended on. The virtual runs use Trio's MockClock
(time jumps when every task waits): the control logic alone, no CPU noise;
``--jitter 0.01`` adds a random extra latency (exponential, mean 10 ms, the
same each run) as a loaded real server and client show.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import random
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx

from benchmarks.server import details_reply, serve
from pbx_async import FailedCall, PbxSession

LATENCY = 0.05
AUTH, CONTAINER = "k", "123456"
HISTORY = False  # --history: the limit's changes in each auto row


class SimulatedServer(httpx.AsyncBaseTransport):
    """benchmarks/server.py's two limits, in-process: a token bucket, or workers whose latency grows."""

    def __init__(self, *, rate: float = 0, burst: float = 0, capacity: int = 0, jitter: float = 0) -> None:
        self.rate, self.capacity, self.jitter = rate, capacity, jitter
        self.random = random.Random(15)  # the same noise every run
        self.burst = burst or max(1.0, rate / 10)
        self.tokens, self.refilled = self.burst, 0.0
        self.in_flight = 0
        self.stats = {"requests": 0, "ok": 0, "429": 0}
        self.bodies: dict[str, bytes] = {}  # a details reply for each call asked (the client checks it)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        now = anyio.current_time()
        self.stats["requests"] += 1
        if self.rate:
            self.tokens = min(self.burst, self.tokens + (now - self.refilled) * self.rate)
            self.refilled = now
            if self.tokens < 1:
                self.stats["429"] += 1
                wait = (1 - self.tokens) / self.rate
                return httpx.Response(429, headers={"Retry-After": str(max(1, math.ceil(wait)))}, content=b"{}")
            self.tokens -= 1
        self.in_flight += 1
        try:
            delay = LATENCY + (self.random.expovariate(1 / self.jitter) if self.jitter else 0.0)
            if self.capacity and self.in_flight > self.capacity:
                delay *= (self.in_flight / self.capacity) ** 1.5
            await anyio.sleep(delay)
        finally:
            self.in_flight -= 1
        self.stats["ok"] += 1
        call = request.url.params.get("callUUID", "")
        body = self.bodies.get(call) or self.bodies.setdefault(call, json.dumps(details_reply(call)).encode())
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})


async def fetch(session: PbxSession, n: int) -> tuple[int, int]:
    """Details of ``n`` calls: (successes, failures)."""
    ok = failed = 0
    async with session.iter_call_details([f"c{i}" for i in range(n)], on_error="return") as results:
        async for item in results:
            if isinstance(item, FailedCall):
                failed += 1
            else:
                ok += 1
    return ok, failed


def ending(session: PbxSession, limit: Any) -> dict[str, Any] | None:
    """Where ``auto`` ended: its limit, the ceiling it holds, the session-wide pauses, its pace."""
    stats = session.concurrency_stats()
    if limit != "auto":
        return None
    ended: dict[str, Any] = {"limit": stats.limit, "ceiling": stats.ceiling, "pauses": stats.pauses, "rate": stats.rate}
    if HISTORY:
        start = stats.history[0].at if stats.history else 0.0
        ended["history"] = [(round(c.at - start, 2), c.limit, c.reason, c.rate) for c in stats.history]
    return ended


def row(name: str, limit: Any, n: int, wall: float, stats: dict[str, int], failed: int, ended: Any) -> dict[str, Any]:
    replies = max(1, stats["ok"] + stats["429"])
    return {
        "server": name,
        "concurrency": limit,
        "calls": n,
        "wall": round(wall, 2),
        "per_second": round((n - failed) / wall, 1),
        "share_429": round(stats["429"] / replies, 4),
        "failed": failed,
        "ended_at": ended,
    }


def run_virtual(name: str, options: dict[str, float], limit: Any, n: int, jitter: float = 0) -> dict[str, Any]:
    from trio.testing import MockClock

    server = SimulatedServer(**options, jitter=jitter)  # type: ignore[arg-type]
    result: dict[str, Any] = {}

    async def main() -> None:
        async with (
            httpx.AsyncClient(transport=server) as client,
            PbxSession(AUTH, CONTAINER, base_url="http://bench.test/", http_client=client, max_concurrency=limit) as s,
        ):
            start = anyio.current_time()
            _, failed = await fetch(s, n)
            ended = ending(s, limit)
            result.update(row(name, limit, n, anyio.current_time() - start, server.stats, failed, ended))

    anyio.run(main, backend="trio", backend_options={"clock": MockClock(autojump_threshold=0)})
    return result


def run_real(name: str, options: dict[str, float], limit: Any, n: int) -> dict[str, Any]:
    with serve(latency=LATENCY, **options) as base_url:
        result: dict[str, Any] = {}

        async def main() -> None:
            async with PbxSession(AUTH, CONTAINER, base_url=base_url, max_concurrency=limit, timeout=60) as s:
                start = time.perf_counter()
                _, failed = await fetch(s, n)
                wall = time.perf_counter() - start
                ended = ending(s, limit)
                async with httpx.AsyncClient() as client:
                    served = (await client.get(base_url + "stats")).json()
                result.update(row(name, limit, n, wall, served, failed, ended))

        anyio.run(main)
        return result


SERVERS: dict[str, tuple[dict[str, float], Callable[[float], int]]] = {
    # name: (server options, calls for a run of about `seconds` at the server's best)
    "bucket 100/s": ({"rate": 100}, lambda seconds: int(100 * seconds)),
    "bucket 400/s": ({"rate": 400}, lambda seconds: int(400 * seconds)),
    "capacity 16": ({"capacity": 16}, lambda seconds: int(16 / LATENCY * seconds)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--virtual", action="store_true", help="simulated servers on a virtual clock")
    parser.add_argument("--seconds", type=float, default=30, help="each run's length at the server's best (30)")
    parser.add_argument("--only", help="one server, by the start of its name")
    parser.add_argument(
        "--jitter", type=float, default=0, help="virtual: mean extra latency, exponentially spread (e.g. 0.01)"
    )
    parser.add_argument("--limits", default="auto,4,16,64", help="what to compare (default auto,4,16,64)")
    parser.add_argument("--history", action="store_true", help="the limit's changes in each auto row")
    args = parser.parse_args()
    global HISTORY
    HISTORY = args.history
    if args.virtual:
        run: Callable[[str, dict[str, float], Any, int], dict[str, Any]] = functools.partial(
            run_virtual, jitter=args.jitter
        )
    else:
        run = run_real
    rows = []
    for name, (options, calls) in SERVERS.items():
        if args.only and not name.startswith(args.only):
            continue
        for text in args.limits.split(","):
            limit: Any = text if text == "auto" else int(text)
            r = run(name, options, limit, calls(args.seconds))
            rate = options.get("rate")
            r["share_of_rate"] = round(r["per_second"] / rate, 3) if rate else None
            rows.append(r)
            print(json.dumps(r), flush=True)
    for name in {r["server"] for r in rows if r["server"].startswith("capacity")}:
        fixed = [r["per_second"] for r in rows if r["server"] == name and r["concurrency"] != "auto"]
        if not fixed:
            continue
        best = max(fixed)
        for r in rows:
            if r["server"] == name and r["concurrency"] == "auto":
                print(f"{name}: auto at {r['per_second'] / best:.2f} of the best fixed limit's throughput")


if __name__ == "__main__":
    main()
