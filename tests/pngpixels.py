"""Reading the pixels of a browser's PNG screenshot (8-bit RGB or RGBA, not interlaced,
which is what Chromium writes), so tests can check what a page looks like without an
imaging library."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

Pixel = tuple[int, int, int]


def _paeth(left: int, up: int, up_left: int) -> int:
    guess = left + up - up_left
    near = min((abs(guess - left), 0), (abs(guess - up), 1), (abs(guess - up_left), 2))[1]
    return (left, up, up_left)[near]


def pixels(png: bytes) -> list[list[Pixel]]:
    """The rows of RGB pixels of `png`."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, data, header = 8, b"", b""
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        chunk = png[position + 8 : position + 8 + length]
        header = chunk if kind == b"IHDR" else header
        data += chunk if kind == b"IDAT" else b""
        position += 12 + length
    width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and color in (2, 6) and not interlace, "unsupported PNG layout"
    size = 3 if color == 2 else 4
    raw, stride = zlib.decompress(data), width * size
    rows: list[list[Pixel]] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - size] if x >= size else 0
            up, up_left = previous[x], previous[x - size] if x >= size else 0
            predictor = (0, left, up, (left + up) // 2, _paeth(left, up, up_left))[kind]
            line[x] = (line[x] + predictor) & 0xFF
        rows.append([tuple(line[x : x + 3]) for x in range(0, stride, size)])  # type: ignore[misc]
        previous = line
    return rows


def share(png: bytes, color: Pixel, tolerance: int = 6) -> float:
    """The fraction of the image's pixels within `tolerance` of `color`."""
    counts = Counter(pixel for row in pixels(png) for pixel in row)
    near = sum(
        n
        for pixel, n in counts.items()
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, color, strict=True))
    )
    return near / sum(counts.values())
