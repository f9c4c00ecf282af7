"""One benchmark scenario per process, so CPU time and peak RSS belong to that scenario alone.

    python -m benchmarks.scenarios NAME BASE_URL LATENCY IN_FLIGHT [INPUT_JSON]

Prints one JSON object: requests, wall, bound, cpu (client seconds), rss_mb.
``PBX_BENCH_LOOP`` (asyncio, uvloop or trio) picks the event loop.
The server runs in another process (``pbx-async simulate``); INPUT_JSON names
the calls or files to fetch, chosen by the driver from the simulator's ground
truth so that choosing them costs this process nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from pbx_async import PbxSession, RecordingFile, RecordingRef
from pbx_async._fanout import _BATCH_CAP
from pbx_async.testing._simulator import DEFAULT_AUTH, DEFAULT_CONTAINER

FIRST_DAY, LAST_DAY = date(2026, 9, 1), date(2026, 11, 30)  # the listing rows' window
# The same parameters the library sends, so every client meets the same (warm) server cache.
ACCOUNT = {"auth": DEFAULT_AUTH, "containerID": DEFAULT_CONTAINER, "tenantID": "0", "utcOffset": "0"}


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM): unlike ru_maxrss it does not carry the parent's over exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def session(base_url: str, in_flight: int) -> PbxSession:
    return PbxSession(DEFAULT_AUTH, DEFAULT_CONTAINER, base_url=base_url, max_concurrency=in_flight, timeout=120)


async def timed(run: Callable[[], Awaitable[int]]) -> dict[str, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    requests = await run()
    return {"requests": requests, "wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


async def scenario(name: str, base_url: str, latency: float, in_flight: int, items: list[str]) -> dict[str, Any]:
    if name in ("list", "list-bare"):
        async with session(base_url, in_flight) as s:

            async def run() -> int:
                count = rows = total = 0
                scan = s.iter_call_pages(from_date=FIRST_DAY, to_date=LAST_DAY)
                # Streamed, as an export would: pages are not kept. Bare, each step runs a sliding batch.
                async with scan if name == "list" else contextlib.nullcontext(scan) as pages:
                    async for page in pages:
                        count, rows, total = count + 1, rows + len(page.calls), page.total
                assert rows == total
                return count

            result = await timed(run)
        pages = result["requests"]
        result["bound"] = (1 + math.ceil((pages - 1) / in_flight)) * latency
        return result

    if name == "list-sequential-httpx":
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:

            async def run() -> int:
                page, pages = 1, 1
                while page <= pages:
                    params = {
                        **ACCOUNT,
                        "utcOffset": "0",
                        "fromDate": "2026-09-01 00:00:00",
                        "toDate": "2026-11-30 23:59:59",
                    }
                    reply = (await client.get("api/call_list.php", params={**params, "page": str(page)})).json()
                    pages, page = int(reply["maxPages"]), page + 1
                return pages

            result = await timed(run)
        result["bound"] = result["requests"] * latency
        return result

    uuids = items
    if name == "details":
        async with session(base_url, in_flight) as s:

            async def run() -> int:
                count = 0
                async with s.iter_call_details(uuids) as results:
                    async for _ in results:  # streamed: results are not kept
                        count += 1
                return count

            result = await timed(run)
    elif name == "details-bare":
        async with session(base_url, in_flight) as s:

            async def run() -> int:
                count = 0
                async for _ in s.iter_call_details(uuids):  # a bare loop: a sliding batch in each step
                    count += 1
                return count

            result = await timed(run)
    elif name in ("details-raw-aiohttp", "details-raw-aiohttp-kept"):
        # "-kept" is context for bare iteration, not a reference it is judged by: the same raw client,
        # its parsed replies kept a batch at a time (one window, then _BATCH_CAP), as a bare step holds
        # its results until it ends. What holding costs any Python client (the collector walks what
        # is kept) shows there beside what it costs ours. The reference keeps nothing.
        keep = name.endswith("-kept")
        connector = aiohttp.TCPConnector(limit=in_flight)
        async with aiohttp.ClientSession(base_url, connector=connector) as http:
            gate = asyncio.Semaphore(in_flight)

            async def parsed(uuid: str) -> Any:
                async with (
                    gate,
                    http.get("api/call_details.php", params={**ACCOUNT, "callUUID": uuid, "page": "1"}) as r,
                ):
                    reply = json.loads(await r.read())
                return reply if keep else None

            async def run() -> int:
                if not keep:
                    await asyncio.gather(*(parsed(u) for u in uuids))
                    return len(uuids)
                start, batch = 0, in_flight
                while start < len(uuids):
                    replies = await asyncio.gather(*(parsed(u) for u in uuids[start : start + batch]))
                    for _ in replies:  # handed over one by one, as the bare loop's body gets them
                        pass
                    start, batch = start + batch, max(in_flight, _BATCH_CAP)
                return len(uuids)

            result = await timed(run)
    elif name == "details-gather-httpx":
        in_flight = 100  # httpx's default pool: what a plain gather really gets
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:

            async def one(uuid: str) -> None:
                (await client.get("api/call_details.php", params={**ACCOUNT, "callUUID": uuid, "page": "1"})).json()

            async def run() -> int:
                await asyncio.gather(*(one(u) for u in uuids))
                return len(uuids)

            result = await timed(run)
    elif name == "details-sequential-httpx":
        in_flight = 1
        async with httpx.AsyncClient(base_url=base_url, timeout=120) as client:

            async def run() -> int:
                for uuid in uuids:
                    (await client.get("api/call_details.php", params={**ACCOUNT, "callUUID": uuid, "page": "1"})).json()
                return len(uuids)

            result = await timed(run)
    elif name == "recordings":
        with tempfile.TemporaryDirectory() as folder:
            async with session(base_url, in_flight) as s:
                refs = [RecordingRef(*item.split("|", 1)) for item in items]  # "call_uuid|file_name"

                async def run() -> int:
                    async with s.download_recordings(refs, folder) as downloads:
                        files = [f async for f in downloads]
                    failed = [f for f in files if not isinstance(f, RecordingFile)]
                    assert not failed, failed[:3]
                    return len(files)

                result = await timed(run)
    else:
        raise SystemExit(f"unknown scenario {name}")
    result["bound"] = result["requests"] * latency / in_flight
    return result


def main() -> None:
    name, base_url, latency, in_flight = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
    items = json.loads(Path(sys.argv[5]).read_text()) if len(sys.argv) > 5 else []
    loop = os.environ.get("PBX_BENCH_LOOP", "asyncio")
    if loop == "trio":
        import anyio

        result = anyio.run(scenario, name, base_url, latency, in_flight, items, backend="trio")
    else:
        runner = asyncio.run
        if loop == "uvloop":
            import uvloop

            runner = uvloop.run
        result = runner(scenario(name, base_url, latency, in_flight, items))
    result["rss_mb"] = peak_rss_mb()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
