"""The fetcher over real loopback HTTP: validators, politeness limits, encodings, redirects."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler

import brotli
import pytest

from aggregator.config import FetchConfig
from aggregator.models import FetchRequest, FetchResult, FetchStatus
from aggregator.sources.fetch import Fetcher
from aggregator.version import __version__
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, rss

FEED = rss([Entry("1", "First story"), Entry("2", "Second story")])


def fetch_all(config: FetchConfig, requests: list[FetchRequest]) -> list[FetchResult]:
    async def run() -> list[FetchResult]:
        async with Fetcher(config) as fetcher:
            return await asyncio.gather(*(fetcher.fetch(request) for request in requests))

    return asyncio.run(run())


def fetch_one(url: str, config: FetchConfig | None = None, **validators: str) -> FetchResult:
    return fetch_all(config or FetchConfig(), [FetchRequest("source", url, **validators)])[0]


class CountingServer(FeedServer):
    """A FeedServer that records how many requests it answers at the same moment, per
    Host header and in all."""

    def __init__(self) -> None:
        super().__init__()
        self.active: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.peak_total = 0

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        host = handler.headers.get("Host", "").rsplit(":", 1)[0]
        with self._lock:
            self.active[host] += 1
            self.peak[host] = max(self.peak[host], self.active[host])
            self.peak_total = max(self.peak_total, sum(self.active.values()))
        try:
            super()._handle(handler)
        finally:
            with self._lock:
                self.active[host] -= 1


def test_conditional_get_sends_both_validators(feed_server: FeedServer) -> None:
    feed_server.routes["/feed.xml"] = route = Route(FEED)
    url = feed_server.url("/feed.xml")
    first = fetch_one(url)
    assert first.status is FetchStatus.OK and first.body == FEED
    assert first.etag == route.etag and first.last_modified

    second = fetch_one(url, etag=first.etag, last_modified=first.last_modified)
    assert second.status is FetchStatus.NOT_MODIFIED and second.http_status == 304
    sent = feed_server.requests_to("/feed.xml")[-1].headers
    assert sent["If-None-Match"] == first.etag
    assert sent["If-Modified-Since"] == first.last_modified

    route.body = FEED.replace(b"First", b"Edited")
    third = fetch_one(url, etag=first.etag, last_modified=first.last_modified)
    assert third.status is FetchStatus.OK and third.etag == route.etag != first.etag


def test_user_agent_names_the_service_its_version_and_the_contact(
    feed_server: FeedServer,
) -> None:
    feed_server.routes["/feed.xml"] = Route(FEED)
    fetch_one(feed_server.url("/feed.xml"), FetchConfig(contact="https://ops.example/feeds"))
    agent = feed_server.requests_to("/feed.xml")[0].headers["User-Agent"]
    assert agent == f"newswire-aggregator/{__version__} (+https://ops.example/feeds)"


@pytest.mark.parametrize("encoding, compress", [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("br", brotli.compress),
])
def test_compressed_bodies_are_asked_for_and_decoded(
    feed_server: FeedServer, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    feed_server.routes["/feed.xml"] = Route(compress(FEED), headers={"Content-Encoding": encoding})
    result = fetch_one(feed_server.url("/feed.xml"))
    assert result.status is FetchStatus.OK and result.body == FEED
    accepted = feed_server.requests_to("/feed.xml")[0].headers["Accept-Encoding"]
    assert {"gzip", "deflate", "br"} <= {part.strip() for part in accepted.split(",")}


def test_per_host_limit_bounds_simultaneous_requests_to_each_host() -> None:
    if socket.gethostbyname("localhost") != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 here")
    with CountingServer() as server:
        requests = []
        for index in range(8):
            server.routes[f"/feed-{index}.xml"] = Route(FEED, delay=0.2)
            for host in ("127.0.0.1", "localhost"):
                url = f"http://{host}:{server.port}/feed-{index}.xml"
                requests.append(FetchRequest(f"{host}-{index}", url))
        results = fetch_all(FetchConfig(per_host=2, concurrency=50), requests)
    assert all(result.status is FetchStatus.OK for result in results)
    # Each request is held 0.2 s by the server, so the peaks are what was simultaneous.
    assert server.peak == {"127.0.0.1": 2, "localhost": 2}
    assert server.peak_total == 4  # the two hosts' limits are independent


def test_global_limit_bounds_simultaneous_requests_to_all_hosts() -> None:
    with CountingServer() as server:
        requests = []
        for index in range(9):
            server.routes[f"/feed-{index}.xml"] = Route(FEED, delay=0.2)
            requests.append(FetchRequest(f"s{index}", server.url(f"/feed-{index}.xml")))
        results = fetch_all(FetchConfig(per_host=100, concurrency=3), requests)
    assert all(result.status is FetchStatus.OK for result in results)
    assert server.peak_total == 3


def test_permanent_redirects_report_the_new_url(feed_server: FeedServer) -> None:
    feed_server.routes["/old.xml"] = Route(status=301, redirect_to=feed_server.url("/mid.xml"))
    feed_server.routes["/mid.xml"] = Route(status=308, redirect_to=feed_server.url("/new.xml"))
    feed_server.routes["/new.xml"] = Route(FEED)
    result = fetch_one(feed_server.url("/old.xml"))
    assert result.status is FetchStatus.OK and result.body == FEED
    assert result.permanent_redirect == feed_server.url("/new.xml")


def test_a_temporary_hop_makes_the_move_not_permanent(feed_server: FeedServer) -> None:
    feed_server.routes["/old.xml"] = Route(status=301, redirect_to=feed_server.url("/tmp.xml"))
    feed_server.routes["/tmp.xml"] = Route(status=302, redirect_to=feed_server.url("/new.xml"))
    feed_server.routes["/new.xml"] = Route(FEED)
    result = fetch_one(feed_server.url("/old.xml"))
    assert result.status is FetchStatus.OK and result.permanent_redirect is None
    assert result.final_url == feed_server.url("/new.xml")


def test_gone_and_server_errors(feed_server: FeedServer) -> None:
    feed_server.routes["/gone.xml"] = Route(b"gone", status=410, content_type="text/plain")
    feed_server.routes["/busy.xml"] = Route(b"later", status=429, content_type="text/plain",
                                            headers={"Retry-After": "120"})
    feed_server.routes["/down.xml"] = Route(b"down", status=503, content_type="text/plain")
    gone, busy, down = fetch_all(FetchConfig(), [
        FetchRequest(name, feed_server.url(f"/{name}.xml")) for name in ("gone", "busy", "down")
    ])
    assert gone.status is FetchStatus.GONE and gone.error == (
        "410 Gone: the publisher removed this feed")
    assert busy.status is FetchStatus.ERROR and busy.error == "HTTP 429 Too Many Requests"
    assert busy.retry_after == 120.0
    assert down.status is FetchStatus.ERROR and down.error == "HTTP 503 Service Unavailable"
    assert down.retry_after is None


def test_a_closed_port_is_a_connect_error_not_an_exception() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = fetch_one(f"http://127.0.0.1:{port}/feed.xml")
    assert result.status is FetchStatus.ERROR and result.error.startswith("cannot connect")
