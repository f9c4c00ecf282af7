"""Micro-benchmark: microseconds to turn reply bytes into records, beside the decoders alone and the floor.

    python -m benchmarks.micro

The replies are benchmarks/server.py's: a details reply with 10 events and a
page of 500 call rows. "fast" is the library's path (msgspec into typed rows,
generated records); "reference" is orjson plus the cattrs converter, which
the fast path falls back to. The floor is the least a record can cost: 500
``CallSummary`` built from ready values by a generated constructor setting
each slot (attrs' own ``__init__`` by keyword beside it). Timings are the best
of many interleaved repeats: the machine is shared and noisy.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import attrs
import orjson

from benchmarks.server import details_reply, list_reply
from pbx_async._records.calls import CallSummary
from pbx_async._wire import fast, replies


def _best(fns: dict[str, Callable[[], Any]], repeat: int, rounds: int = 25) -> dict[str, float]:
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):  # interleaved, so a noisy neighbour hits every candidate alike
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(repeat):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / repeat * 1e6)
    return best


def _floor_constructor() -> Callable[..., CallSummary]:
    names = [f.name for f in attrs.fields(CallSummary)]
    scope: dict[str, Any] = {"_new": object.__new__, "_cls": CallSummary}
    scope.update({f"_set_{n}": vars(CallSummary)[n].__set__ for n in names})
    lines = [f"def build({', '.join(names)}):", "    self = _new(_cls)"]
    lines += [f"    _set_{n}(self, {n})" for n in names] + ["    return self"]
    exec("\n".join(lines), scope)
    build: Callable[..., CallSummary] = scope["build"]
    return build


def parse_costs() -> dict[str, float]:
    details = orjson.dumps(details_reply("c-000123"))
    page = orjson.dumps(list_reply(1, 50_000))
    reference_page = replies.call_page(orjson.loads(page))
    assert fast.call_page_from_bytes(page) == reference_page  # the same records either way
    names = [f.name for f in attrs.fields(CallSummary)]
    ready = [tuple(getattr(c, n) for n in names) for c in reference_page.calls]
    floor = _floor_constructor()
    typed = fast._READINGS[0].list.decode(page)
    rows = list(typed.data.items())
    build = fast._READINGS[0].call
    costs = _best(
        {
            "details: json.loads": lambda: json.loads(details),
            "details: fast, bytes to records": lambda: fast.details_from_bytes(details),
            "details: reference (orjson + cattrs)": lambda: replies.details_page(orjson.loads(details)),
        },
        repeat=400,
    )
    costs |= _best(
        {
            "page of 500: orjson.loads": lambda: orjson.loads(page),
            "page of 500: msgspec typed decode": lambda: fast._READINGS[0].list.decode(page),
            "page of 500: records stage (typed rows to records)": lambda: [
                build(row, key, "+00:00") for key, row in rows
            ],
            "page of 500: floor (generated constructor, ready values)": lambda: [floor(*v) for v in ready],
            "page of 500: attrs __init__ by keyword, ready values": lambda: [
                CallSummary(**dict(zip(names, v, strict=True))) for v in ready
            ],
            "page of 500: fast, bytes to records": lambda: fast.call_page_from_bytes(page),
            "page of 500: reference (orjson + cattrs)": lambda: replies.call_page(orjson.loads(page)),
        },
        repeat=10,
    )
    costs["listing rows/s from bytes, one core"] = 500 / costs["page of 500: fast, bytes to records"] * 1e6
    costs["records stage / floor"] = (
        costs["page of 500: records stage (typed rows to records)"]
        / costs["page of 500: floor (generated constructor, ready values)"]
    )
    return costs


if __name__ == "__main__":
    for name, value in parse_costs().items():
        print(f"{name:60} {value:12.2f}")
