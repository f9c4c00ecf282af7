"""What the simulator's endpoints answer: a status, headers and a body (a leaf: it imports nothing of the simulator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs


@attrs.frozen
class Reply:
    """What the app should send: status, headers, a body as bytes or chunks, and the lies it tells."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None = None
    chunks: Iterator[bytes] | None = None
    size: int = 0
    is_json: bool = False
    lies: tuple[str, ...] = ()  # counted in ``sim.stats`` as "lie NAME" when sent


def json_reply(payload: Any, status: int = 200, lies: tuple[str, ...] = ()) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = (("content-type", "application/json"), ("content-length", str(len(body))))
    return Reply(status, headers, body=body, size=len(body), is_json=True, lies=lies)
