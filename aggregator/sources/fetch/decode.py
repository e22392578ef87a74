"""Content-Encoding decoded by us, incrementally, with a bound on what it may expand to.

httpx decodes a whole network chunk at once and its decoders have no output limit, so
its size cap counted bytes that were already in memory: a 3 KB brotli body expanding
to 2 GiB took 4 GB of RSS before the cap could say no. Here every coding is decoded
from the raw stream with an output bound of what the cap still allows (plus one byte,
to tell "exactly full" from "too large"), so the memory a body takes is the cap plus
a decoder's window, whatever the compression ratio. One coding at most: no feed needs
a stacked one, and each layer multiplies the ratio.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import brotli

ACCEPT_ENCODING = "gzip, deflate, br"


class BodyTooLarge(Exception):
    """The body, decoded, would be larger than the size cap."""


class EncodingRefused(Exception):
    """The Content-Encoding is stacked or unknown; the message says which."""


class BadEncoding(Exception):
    """The body does not decode with the coding its Content-Encoding names."""


class Decoder(Protocol):
    def decode(self, data: bytes, limit: int) -> bytes:
        """`data` decoded; more than `limit` bytes only when the whole would be."""
        ...


class _Identity:
    def decode(self, data: bytes, limit: int) -> bytes:
        return data  # a network chunk: bounded by the transport's read size


class _Zlib:
    """gzip (wbits 16 + 15) or deflate; deflate falls back to a raw stream when the
    first bytes are not a zlib header, as servers disagree on what "deflate" means."""

    def __init__(self, wbits: int, raw_fallback: bool = False):
        self._decompressor = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            decoded = self._decompressor.decompress(data, limit + 1)
        except zlib.error as error:
            if not self._raw_fallback:
                raise BadEncoding(str(error)) from error
            self._raw_fallback = False
            self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decode(data, limit)
        self._raw_fallback = False
        return decoded


class _Brotli:
    def __init__(self) -> None:
        self._decompressor = brotli.Decompressor()

    def decode(self, data: bytes, limit: int) -> bytes:
        try:
            return self._decompressor.process(data, output_buffer_limit=limit + 1)
        except brotli.error as error:
            raise BadEncoding(str(error)) from error


DECODERS: dict[str, Callable[[], Decoder]] = {
    "gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "deflate": lambda: _Zlib(zlib.MAX_WBITS, raw_fallback=True),
    "br": _Brotli,
}


def decoder_for(content_encoding: str | None) -> Decoder:
    """The decoder for a Content-Encoding header; EncodingRefused for a stacked or
    unknown one."""
    codings = [part.strip().lower() for part in (content_encoding or "").split(",")]
    codings = [coding for coding in codings if coding and coding != "identity"]
    if len(codings) > 1:
        raise EncodingRefused(
            f"refused: stacked Content-Encoding {content_encoding!r} (one coding at most)"
        )
    if not codings:
        return _Identity()
    factory = DECODERS.get(codings[0])
    if factory is None:
        raise EncodingRefused(f"unsupported Content-Encoding {codings[0]!r}")
    return factory()


async def read_decoded(raw: AsyncIterator[bytes], content_encoding: str | None, cap: int) -> bytes:
    """The body of `raw` decoded, or BodyTooLarge as soon as it would pass `cap`."""
    decoder = decoder_for(content_encoding)
    chunks: list[bytes] = []
    size = 0
    async for piece in raw:
        decoded = decoder.decode(piece, cap - size)
        size += len(decoded)
        if size > cap:
            raise BodyTooLarge
        chunks.append(decoded)
    return b"".join(chunks)
