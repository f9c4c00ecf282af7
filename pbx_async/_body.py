"""Reading a JSON reply's body within a size limit, on the wire and decoded.

A server can lie about sizes: a reply may be endless, or a small gzip body may
inflate to gigabytes. Bodies are read chunk by chunk and inflated a bounded
step at a time, so memory never holds more than the limit (plus one chunk),
and a bomb is refused while it streams, not after.

    body = await read_bounded(response.aiter_raw(), response.headers.get("content-encoding"), limit, what)
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from ._errors import ResponseFormatError, ResponseTooLargeError

ACCEPT_ENCODING = "gzip, deflate"  # the encodings read_bounded can inflate within its limit
_STEP = 1 << 20
_WBITS = {"gzip": 31, "x-gzip": 31, "deflate": 47}  # 47: zlib or gzip framing, whichever it is


def too_large(what: str, limit: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"{what}: the reply is larger than {limit:,} bytes (max_reply_bytes); it was not read further"
    )


async def read_bounded(chunks: AsyncIterator[bytes], encoding: str | None, limit: int, what: str) -> bytes:
    """The body of a reply, inflated if it is gzip or deflate; over ``limit`` bytes either way is refused."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        body = bytearray()
        async for chunk in chunks:
            body += chunk
            if len(body) > limit:
                raise too_large(what, limit)
        return bytes(body)
    wbits = _WBITS.get(encoding)
    if wbits is None:
        raise ResponseFormatError(f"{what}: the reply is {encoding}-encoded, which was not asked for")
    inflate = zlib.decompressobj(wbits)
    out, raw = bytearray(), 0
    try:
        async for chunk in chunks:
            raw += len(chunk)
            if raw > limit:
                raise too_large(what, limit)
            data = chunk
            while data:
                # At most what the limit still allows, plus one byte to notice going past it,
                # and never more than a step at once, so a bomb never holds twice the limit.
                out += inflate.decompress(data, min(_STEP, limit - len(out) + 1))
                if len(out) > limit:
                    raise too_large(what, limit)
                data = inflate.unconsumed_tail
        out += inflate.flush(limit - len(out) + 1)
    except zlib.error:
        raise ResponseFormatError(f"{what}: the reply's {encoding} body is corrupt") from None
    if len(out) > limit:
        raise too_large(what, limit)
    return bytes(out)
