"""A lying server, measured: memory under a gzip bomb, time to give up on a trickle, requests against endless pages.

    python -m benchmarks.hostile

Each figure is measured in a fresh client process against the simulator (over
loopback, in this process's thread) beside a reference measured in the same
run: an honest server for memory, the timeout x attempts bound for time, and
ceil(total / 500) + 2 for requests.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time
from datetime import date

import anyio

from pbx_async import PbxError, PbxSession
from pbx_async.testing import Lies, Simulator, serve

CALLS = 500  # one full page: ceil(500 / 500) = 1
CLIENT = """
import json, resource, sys, time, anyio
from datetime import date
from pbx_async import PbxError, PbxSession, RetryPolicy

async def main(base_url, timeout, attempts):
    policy = RetryPolicy(max_attempts=attempts, initial_backoff=0.01, max_backoff=0.01)
    outcome = "ok"
    async with PbxSession("sim-secret-key", "123456", base_url=base_url, timeout=timeout, retry=policy) as session:
        started = time.monotonic()  # the scan alone: from its first request to its error
        try:
            async for _ in session.iter_calls(from_date=date(2026, 10, 1), to_date=date(2026, 11, 2)):
                pass
        except PbxError as exc:
            outcome = type(exc).__name__
        took = time.monotonic() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"outcome": outcome, "seconds": took, "peak_mb": peak_mb}))

anyio.run(main, sys.argv[1], float(sys.argv[2]), int(sys.argv[3]))
"""


async def client(base_url: str, limit: float = 30.0, attempts: int = 5) -> dict[str, object]:
    """The listing in a fresh process, so its peak RSS is its own."""
    done = await anyio.run_process([sys.executable, "-c", CLIENT, base_url, str(limit), str(attempts)], check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


async def served(lies: Lies, **run: float) -> tuple[dict[str, object], Simulator]:
    sim = Simulator(calls=CALLS, days=30, seed=5, lies=lies)
    async with serve(sim) as base_url:
        return await client(base_url, **run), sim  # type: ignore[arg-type]


async def pages_requests(mode: str) -> tuple[int, int, str]:
    """Requests a scan makes when every reply lies about its page count, and what it ended with."""
    sim = Simulator(calls=CALLS, days=30, seed=5, lies=Lies(pages=mode))  # type: ignore[arg-type]
    async with serve(sim) as base_url, PbxSession(sim.auth, sim.container_id, base_url=base_url) as session:
        outcome = "ok"
        try:
            async for _ in session.iter_calls(from_date=date(2026, 10, 1), to_date=date(2026, 11, 2)):
                pass
        except PbxError as exc:
            outcome = type(exc).__name__
    return sim.stats["requests /api/call_list.php"], math.ceil(CALLS / 500) + 2, outcome


async def main() -> None:
    print(f"# hostile server, {CALLS} calls; {time.strftime('%Y-%m-%d %H:%M')}, Python {sys.version.split()[0]}")
    honest, _ = await served(Lies())
    bomb, _ = await served(Lies(gzip_bomb=1.0, bomb_bytes=2 * 1024**3))
    print("| gzip bomb (2 GiB inflated, ~2 MB sent) | peak RSS MB | honest server's peak RSS MB (same run) | outcome |")
    print(f"| every list reply | {bomb['peak_mb']:.0f} | {honest['peak_mb']:.0f} | {bomb['outcome']} |")
    oversized, _ = await served(Lies(oversized=1.0, oversized_bytes=10**9))
    print(f"| 1 GB plain reply | {oversized['peak_mb']:.0f} | {honest['peak_mb']:.0f} | {oversized['outcome']} |")
    timeout, attempts = 2.0, 3
    trickle, _ = await served(Lies(trickle=1.0, trickle_seconds=0.4), limit=timeout, attempts=attempts)
    bound = timeout * attempts
    seconds = trickle["seconds"]
    assert isinstance(seconds, float)  # client() reports the run's wall time
    print(
        f"| trickle, 1 byte / 0.4 s, timeout {timeout:g} s x {attempts} attempts | {trickle['seconds']:.2f} s "
        f"| bound {bound:.1f} s | ratio {seconds / bound:.2f} | {trickle['outcome']} |"
    )
    for mode in ("huge", "growing", "one_more"):
        made, allowed, outcome = await pages_requests(mode)
        print(f"| maxPages lie {mode!r} | {made} list requests | bound {allowed} | {outcome} |")
    own = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"(largest client process: {own:.0f} MB)")


if __name__ == "__main__":
    anyio.run(main)
