"""Hostile and broken sources over real loopback HTTP, all in one cycle with a good one.

Each hostile source must end in bounded time and memory, be recorded as failed with an
error that says precisely what was wrong, and leave the rest of the cycle alone. A
document whose only fault is a wrong or missing charset is still decodable: its
entries are kept and the mismatch is reported on the source as a problem.
"""

from __future__ import annotations

import re
import uuid
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from aggregator.publish.render import FORMATS
from aggregator.sources.parse import parse_with_feedparser
from tests.conftest import run_cli
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, Harness, rss

CAP = 64 * 1024
DEADLINE = 2.0
ENDLESS_LIMIT = 256 * 1024 * 1024  # the server gives up here; the fetcher must stop far sooner
GOOD_ENTRIES = [Entry("good-1", "Orbital Pharma doses first patient"),
                Entry("good-2", "Nuvexa Bio files IND")]


class EndlessServer(FeedServer):
    """A FeedServer that also streams bodies that never end, without Content-Length, so
    only the fetcher's size cap can stop them; `sent` counts what each one got out."""

    def __init__(self) -> None:
        super().__init__()
        self.endless: set[str] = set()
        self.sent: dict[str, int] = {}

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?")[0]
        if path not in self.endless:
            super()._handle(handler)
            return
        self._record(handler, 200)
        handler.close_connection = True
        chunk = b"<item><title>more</title><description>" + b"x" * 65000 + b"</description></item>"
        sent = 0
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/rss+xml")
            handler.send_header("Connection", "close")
            handler.end_headers()
            handler.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            while sent < ENDLESS_LIMIT:
                handler.wfile.write(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self.sent[path] = sent


@pytest.fixture
def server() -> Iterator[EndlessServer]:
    with EndlessServer() as running:
        yield running


def billion_laughs() -> bytes:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    ]
    return (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n' + "\n".join(levels) + "\n]>\n"
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><guid>1</guid><title>&lol9;</title></item></channel></rss>"
    ).encode()


def xxe(secret_file: Path) -> bytes:
    return (
        '<?xml version="1.0"?>\n'
        f'<!DOCTYPE rss [ <!ENTITY xxe SYSTEM "file://{secret_file}"> ]>\n'
        '<rss version="2.0"><channel><title>Wire</title><item><guid>1</guid>'
        "<title>Leak &xxe;</title><description>&xxe;</description></item></channel></rss>"
    ).encode()


def latin1_feed() -> bytes:
    return ('<rss version="2.0"><channel><title>Wire</title><item><guid>1</guid>'
            "<title>Café opens in Zürich</title></item></channel></rss>").encode("latin-1")


def hostile_sources(server: EndlessServer, secret_file: Path) -> dict[str, tuple[str, str]]:
    """Serve every hostile case; return source name -> (URL, expected error pattern)."""
    base = server.url("")
    routes = {
        "Billion Laughs": ("/laughs.xml", Route(billion_laughs()),
                           r"refused: entity 'lol1' expands other entities"),
        "XXE": ("/xxe.xml", Route(xxe(secret_file)),
                r"refused: external entity 'xxe' points at the local resource "
                + re.escape(repr(f"file://{secret_file}"))),
        "Too Big": ("/big.xml", Route(b"<rss>" + b" " * (3 * CAP) + b"</rss>"),
                    r"response larger than the 65,536-byte cap: aborted"),
        "Trickle": ("/trickle.xml", Route(rss(GOOD_ENTRIES), trickle=1.0),
                    r"deadline exceeded: no complete response within 2s"),
        "Loop": ("/loop.xml", Route(status=302, redirect_to=f"{base}/loop.xml"),
                 r"too many redirects \(more than 5\)"),
        "Not XML": ("/binary", Route(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
                                     content_type="image/png"), r"not a feed: "),
        "Empty": ("/empty.xml", Route(b""), r"empty document: the server sent no content"),
        "Fake Gzip": ("/fake.gz", Route(b"this is not gzip at all",
                                        headers={"Content-Encoding": "gzip"}),
                      r"body does not match its Content-Encoding"),
        "HTML Page": ("/page.html", Route(
            b'<!DOCTYPE html><html><head><title>News</title><link rel="alternate" '
            b'type="application/rss+xml" href="/feeds/real.xml"></head><body>Hi</body></html>',
            content_type="text/html; charset=utf-8"),
            r"HTML page, not a feed; it advertises feeds: "
            + re.escape(f"{base}/feeds/real.xml")),
    }
    sources = {}
    for name, (path, route, pattern) in routes.items():
        server.routes[path] = route
        sources[name] = (server.url(path), pattern)
    server.endless.add("/endless.xml")
    sources["Endless"] = (server.url("/endless.xml"),
                          r"response larger than the 65,536-byte cap: aborted")
    return sources


def test_hostile_sources_fail_precisely_and_leave_the_cycle_alone(
    server: EndlessServer, tmp_path: Path
) -> None:
    secret = f"TOP-SECRET-{uuid.uuid4().hex}"
    secret_file = tmp_path / "secret.txt"
    secret_file.write_text(secret)
    hostile = hostile_sources(server, secret_file)
    server.routes["/good.xml"] = Route(rss(GOOD_ENTRIES))
    server.routes["/wrong-charset.xml"] = Route(latin1_feed(),
                                                content_type="application/rss+xml; charset=utf-8")
    server.routes["/no-charset.xml"] = Route(latin1_feed().decode("latin-1").encode(),
                                             content_type="text/xml")
    sources = {name: url for name, (url, _) in hostile.items()}
    sources |= {"Good": server.url("/good.xml"), "Wrong Charset": server.url("/wrong-charset.xml"),
                "No Charset": server.url("/no-charset.xml")}
    with Harness(tmp_path, sources, fetch={"deadline": DEADLINE, "max_bytes": CAP}) as harness:
        report = harness.cycle()  # the slow ones end on the deadline (their errors say so)
        statuses = {r.source: r.status for r in report.sources}
        for name, (_, pattern) in hostile.items():
            state = harness.state(name)
            assert statuses[name] == "error", (name, state.last_error)
            assert state.last_status == "error" and state.consecutive_failures == 1, name
            assert state.last_error and re.search(pattern, state.last_error), (
                name, state.last_error)
            assert harness.items(name) == [], name
        assert server.sent["/endless.xml"] < 16 * 1024 * 1024  # aborted while streaming

        assert statuses["Good"] == "new"
        assert [item["title"] for item in harness.items("Good")] == [
            entry.title for entry in GOOD_ENTRIES]
        for name, problem in (("Wrong Charset", "document declared as utf-8"),
                              ("No Charset", None)):  # text/xml is read as RFC 7303 says
            state = harness.state(name)
            assert statuses[name] == "new" and state.consecutive_failures == 0, name
            if problem:
                assert problem in (state.last_problem or ""), name
            else:
                assert state.last_problem is None, name
            assert [item["title"] for item in harness.items(name)] == ["Café opens in Zürich"]

        outputs = [harness.render(topic.slug, fmt) for topic in harness.config.topics
                   for fmt in FORMATS]
        with harness.store.transaction(write=False) as cur:
            cur.execute("SELECT * FROM items")
            outputs.append(repr(cur.fetchall()).encode())
    outputs.append(run_cli("sources", "--json", "--config", str(harness.config_path)).stdout
                   .encode())
    assert not any(secret.encode() in output for output in outputs)


def test_the_default_cap_stops_an_endless_body_at_ten_megabytes(
    server: EndlessServer, tmp_path: Path
) -> None:
    server.endless.add("/endless.xml")
    with Harness(tmp_path, {"Endless": server.url("/endless.xml")}) as harness:
        harness.cycle()
        assert harness.state("Endless").last_error == (
            "response larger than the 10,485,760-byte cap: aborted")
    assert 10 * 1024 * 1024 < server.sent["/endless.xml"] < 40 * 1024 * 1024


def test_a_compressed_bomb_is_capped_by_its_decoded_size(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """100 MB of zeros deflate to 100 KB: the cap counts what the body expands to."""
    bomb = zlib.compress(b"<rss>" + bytes(100 * 1024 * 1024), 9)
    feed_server.routes["/bomb.xml"] = Route(bomb, headers={"Content-Encoding": "deflate"})
    with Harness(tmp_path, {"Bomb": feed_server.url("/bomb.xml")},
                 fetch={"max_bytes": CAP}) as harness:
        harness.cycle()
        assert harness.state("Bomb").last_error == (
            "response larger than the 65,536-byte cap: aborted")


def test_feedparser_alone_never_reads_the_external_entity(tmp_path: Path) -> None:
    """Defence in depth: were the refusal gone, the parser of record still reads nothing."""
    secret = f"TOP-SECRET-{uuid.uuid4().hex}"
    (tmp_path / "secret.txt").write_text(secret)
    parsed = parse_with_feedparser(xxe(tmp_path / "secret.txt"), "http://127.0.0.1/xxe.xml")
    assert secret not in repr(parsed)
