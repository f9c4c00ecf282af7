"""Recordings: valid PCM WAV files made on demand, any byte range readable without building the file."""

from __future__ import annotations

import hashlib
import random
import struct
from collections.abc import Iterator

HEADER_SIZE = 44
_BLOCK = 8192


def wav_header(data_size: int, sample_rate: int) -> bytes:
    """A canonical 44-byte header for 16-bit mono PCM."""
    channels, bits = 1, 16
    block_align = channels * bits // 8
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_size)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block_align, block_align, bits)
        + b"data"
        + struct.pack("<I", data_size)
    )


class Recording:
    """One call's WAV: a header, then a per-call block of noise repeated to the right length."""

    def __init__(self, key: str, data_size: int, sample_rate: int) -> None:
        self.header = wav_header(data_size, sample_rate)
        self.size = HEADER_SIZE + data_size
        self._block = random.Random(key).randbytes(_BLOCK)
        # A strong validator: the same key and size always make the same bytes.
        self.etag = '"' + hashlib.sha256(f"{key}:{self.size}".encode()).hexdigest()[:24] + '"'

    def chunks(self, start: int = 0, end: int | None = None, chunk: int = 65536) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive), in chunks."""
        end = self.size if end is None else min(end, self.size)
        pos = start
        while pos < end:
            stop = min(end, pos + chunk)
            yield self._slice(pos, stop)
            pos = stop

    def _slice(self, start: int, stop: int) -> bytes:
        out = bytearray()
        if start < HEADER_SIZE:
            out += self.header[start : min(stop, HEADER_SIZE)]
            start = HEADER_SIZE
        while start < stop:
            offset = (start - HEADER_SIZE) % _BLOCK
            take = min(stop - start, _BLOCK - offset)
            out += self._block[offset : offset + take]
            start += take
        return bytes(out)

    def read(self) -> bytes:
        return b"".join(self.chunks())

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for piece in self.chunks(chunk=1 << 20):
            digest.update(piece)
        return digest.hexdigest()
