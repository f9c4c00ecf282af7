"""Micro-benchmark: microseconds to turn wire JSON into records, beside ``json.loads`` alone."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from pbx_async._wire import replies
from pbx_async.testing import Simulator


def _per_call(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(5):  # best of five: the least disturbed by a noisy neighbour
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best * 1e6


def parse_costs() -> dict[str, float]:
    sim = Simulator(calls=300, seed=0)
    uuid = next(u for u in sim.uuids() if len(sim.sim_call(u).events) >= 8)
    page_body = sim.call_list({"fromDate": "2026-10-01 00:00:00"}).body
    assert page_body is not None
    page = json.loads(page_body)
    rows = len(page["data"])
    one_call = json.dumps({**page, "data": dict(list(page["data"].items())[:1])}).encode()
    details = json.loads(sim.call_details({"callUUID": uuid}).body or b"{}")
    events = list(details["data"].values())
    ten = {**details, "data": {f"e{i}": {**events[i % len(events)], "eventUuid": f"e{i}"} for i in range(10)}}
    ten_body = json.dumps(ten).encode()
    one_event = json.dumps({**details, "data": {"e0": events[0]}}).encode()
    return {
        "json.loads, 1 call": _per_call(lambda: json.loads(one_call), 5000),
        "1 CallSummary from bytes": _per_call(lambda: replies.call_page(json.loads(one_call)), 5000),
        "json.loads, details 1 event": _per_call(lambda: json.loads(one_event), 5000),
        "details with 1 event from bytes": _per_call(lambda: replies.details_page(json.loads(one_event)), 5000),
        "json.loads, details 10 events": _per_call(lambda: json.loads(ten_body), 3000),
        "details with 10 events from bytes": _per_call(lambda: replies.details_page(json.loads(ten_body)), 3000),
        f"json.loads, page of {rows}": _per_call(lambda: json.loads(page_body), 50),
        f"page of {rows} calls from bytes": _per_call(lambda: replies.call_page(json.loads(page_body)), 50),
    }


if __name__ == "__main__":
    for name, value in parse_costs().items():
        print(f"{name:40} {value:10.1f} us")
