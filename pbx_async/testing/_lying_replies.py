"""The replies of a lying server: compressed bombs, oversized bodies, redirects, echoed keys, false page counts.

A leaf beside ``_reply`` (it imports nothing of the simulator but replies and the page size):
each function takes the true reply or what it needs and returns the lie, tagged with its name.
"""

from __future__ import annotations

import functools
import json
import math
import struct
import zlib
from collections.abc import Callable, Iterator
from typing import Any

from ._lies import PagesLie, labelled_key_forms
from ._render import PAGE_SIZE
from ._reply import Reply, json_reply

_MIB = 1 << 20
_SPACES = b" " * _MIB
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, unknown OS
_POLY = 0xEDB88320


# -- gzip bomb ------------------------------------------------------------------------------------


def _multmodp(a: int, b: int) -> int:
    """``a * b`` modulo the CRC-32 polynomial (zlib's ``multmodp``, bit-reflected)."""
    m, p = 1 << 31, 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


def _shift_op(length: int) -> int:
    """x^(8 * length) modulo the polynomial: what appending ``length`` bytes does to a CRC (zlib's ``x2nmodp``)."""
    square, p, n = 1 << 30, 1 << 31, 8 * length  # x^1, x^0
    while n:
        if n & 1:
            p = _multmodp(square, p)
        square = _multmodp(square, square)
        n >>= 1
    return p


def _deflated_spaces(count: int) -> bytes:
    """Raw deflate of ``count`` spaces ending on a full flush: byte-aligned, not final, and
    referring to nothing before it, so copies of it can be laid end to end in one stream."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    return compressor.compress(_SPACES[:count]) + compressor.flush(zlib.Z_FULL_FLUSH)


@functools.lru_cache(maxsize=4)
def _spaces_stream(size: int) -> tuple[bytes, int]:
    """Raw deflate of ``size`` spaces (not final) and their CRC-32, built from one MiB compressed once."""
    whole, rest = divmod(size, _MIB)
    unit, unit_crc, op = _deflated_spaces(_MIB), zlib.crc32(_SPACES), _shift_op(_MIB)
    crc = 0
    for _ in range(whole):  # the CRC of whole MiBs of spaces, without reading 2 GiB
        crc = _multmodp(op, crc) ^ unit_crc
    tail = _deflated_spaces(rest) if rest else b""
    return unit * whole + tail, zlib.crc32(_SPACES[:rest], crc)


def gzip_bomb(reply: Reply, size: int) -> Reply:
    """``reply`` gzipped behind ``size`` spaces: small on the wire, ``size`` + its length inflated."""
    body = reply.body or b""
    spaces, crc = _spaces_stream(size)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15, 9)
    tail = compressor.compress(body) + compressor.flush()
    trailer = struct.pack("<II", zlib.crc32(body, crc), (size + len(body)) & 0xFFFFFFFF)
    parts = (_GZIP_HEADER, spaces, tail, trailer)
    length = sum(map(len, parts))
    headers = (
        ("content-type", "application/json"),
        ("content-encoding", "gzip"),
        ("content-length", str(length)),
    )
    return Reply(reply.status, headers, chunks=iter(parts), size=length, lies=(*reply.lies, "gzip_bomb"))


# -- oversized ------------------------------------------------------------------------------------


def _padded(body: bytes, size: int) -> Iterator[bytes]:
    yield body
    left = size - len(body)
    while left > 0:
        yield _SPACES[: min(left, _MIB)]
        left -= _MIB


def oversized(reply: Reply, size: int, declared: bool) -> Reply:
    """``reply`` followed by spaces up to ``size`` bytes, streamed; ``Content-Length`` only when ``declared``."""
    body = reply.body or b""
    size = max(size, len(body))
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json"),)
    if declared:
        headers += (("content-length", str(size)),)
    return Reply(reply.status, headers, chunks=_padded(body, size), size=size, lies=(*reply.lies, "oversized"))


# -- redirect and echo ----------------------------------------------------------------------------


def redirect(target: str, raw_path: bytes, query: bytes, method: str) -> Reply:
    """A redirect to ``target`` keeping the request's path and query (and so its key) as sent."""
    location = target.rstrip("/") + raw_path.decode("latin-1") + (f"?{query.decode('latin-1')}" if query else "")
    status = 307 if method == "POST" else 302  # 307: a follower posts the form, key and all, again
    return Reply(status, (("location", location), ("content-length", "0")), body=b"", lies=("redirect",))


ECHO_CUT = 300


def echo_key(key: str) -> Reply:
    """A page that is not JSON, with ``key`` in every form and the raw one straddling character 300."""
    opening = "<html><body><h1>Request rejected</h1><pre>key "
    lead = opening + "." * max(0, ECHO_CUT - len(key) // 2 - len(opening))
    lines = [f"{label}: {form}" for label, form in labelled_key_forms(key).items()]
    text = lead + key + "\n" + "\n".join(lines) + "\n"
    text += "padding " * max(0, (1_100 - len(text)) // 8 + 1) + "</pre></body></html>"
    body = text.encode()
    headers = (("content-type", "text/html; charset=utf-8"), ("content-length", str(len(body))))
    return Reply(200, headers, body=body, size=len(body), lies=("echo_key",))


# -- page counts ----------------------------------------------------------------------------------


def lie_about_pages(mode: PagesLie, reply: Reply, page: int, served: int, render_page: Callable[[int], Reply]) -> Reply:
    """``reply`` with a false ``maxPages`` (``served``: replies this lie has served, this one included)."""
    payload: Any = json.loads(reply.body or b"null")
    if not isinstance(payload, dict) or "maxPages" not in payload:
        return reply  # an error reply: nothing to lie about
    true_pages = math.ceil(int(payload["maxResultSize"]) / PAGE_SIZE)
    if mode == "huge":
        max_pages = 10**9
    elif mode == "growing":
        max_pages = true_pages + served
    else:
        max_pages = page + 1
        if page > true_pages >= 1:  # past the end: the last true page again
            payload = {**json.loads(render_page(true_pages).body or b"{}"), "currentPage": page}
    return json_reply({**payload, "maxPages": max_pages}, status=reply.status, lies=(*reply.lies, "pages"))
