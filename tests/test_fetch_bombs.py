"""Decompression bombs over real loopback HTTP: the fetcher's peak memory stays bounded.

The size cap is only a defence if it bounds what is held in memory, not what is counted
after a decoder has already expanded a whole network chunk. Each fetch runs in a child
process whose peak RSS (getrusage) is compared with the same child fetching a small
feed, so the bound is measured, not assumed.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import zlib
from collections.abc import Callable
from functools import cache

import brotli
import pytest

from tests.conftest import ROOT
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, rss

CAP = 1024 * 1024
SLACK = 16 * 1024 * 1024  # interpreter noise between two children, decoder buffers
EXPANDED = 256 * 1024 * 1024

CHILD = """
import asyncio, json, resource, sys
from aggregator.config import FetchConfig
from aggregator.models import FetchRequest
from aggregator.sources.fetch import Fetcher

async def main():
    async with Fetcher(FetchConfig(max_bytes=int(sys.argv[2]))) as fetcher:
        return await fetcher.fetch(FetchRequest("bomb", sys.argv[1]))

result = asyncio.run(main())
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
print(json.dumps({"peak": peak, "error": result.error, "size": len(result.body or b"")}))
"""


def fetch_in_child(url: str) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, url, str(CAP)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return json.loads(done.stdout)


@cache
def zeros_gzip() -> bytes:
    return gzip.compress(bytes(EXPANDED), 9)


def bombs() -> dict[str, tuple[Callable[[], bytes], str]]:
    """Name -> (body maker, Content-Encoding)."""
    return {
        "gzip": (zeros_gzip, "gzip"),
        "deflate": (lambda: zlib.compress(bytes(EXPANDED), 9), "deflate"),
        "br": (lambda: brotli.compress(bytes(EXPANDED), quality=5), "br"),
        "gzip, gzip": (lambda: gzip.compress(zeros_gzip(), 9), "gzip, gzip"),
    }


@pytest.mark.parametrize("name", list(bombs()))
def test_a_bomb_is_stopped_within_the_cap_plus_a_small_constant(
    feed_server: FeedServer, name: str
) -> None:
    make, encoding = bombs()[name]
    feed_server.routes["/small.xml"] = Route(rss([Entry("1", "A story")]))
    feed_server.routes["/bomb.xml"] = Route(make(), headers={"Content-Encoding": encoding})
    baseline = fetch_in_child(feed_server.url("/small.xml"))
    assert baseline["error"] is None and baseline["size"] > 0
    bomb = fetch_in_child(feed_server.url("/bomb.xml"))
    grown = int(bomb["peak"]) - int(baseline["peak"])  # type: ignore[call-overload]
    assert grown < CAP + SLACK, f"peak RSS grew by {grown / 2**20:.0f} MiB"
    if "," in encoding:
        assert bomb["error"] == (
            "refused: stacked Content-Encoding 'gzip, gzip' (one coding at most)"
        )
    else:
        assert bomb["error"] == "response larger than the 1,048,576-byte cap: aborted"


def test_a_body_just_under_the_cap_is_decoded_whole(feed_server: FeedServer) -> None:
    body = rss([Entry(str(n), f"Story {n}", summary="x" * 900) for n in range(1000)])[:CAP]
    for path, encoding, compress in (
        ("/g", "gzip", gzip.compress),
        ("/b", "br", brotli.compress),
        ("/d", "deflate", zlib.compress),
    ):
        feed_server.routes[path] = Route(compress(body), headers={"Content-Encoding": encoding})
        result = fetch_in_child(feed_server.url(path))
        assert result["error"] is None and result["size"] == len(body), encoding
