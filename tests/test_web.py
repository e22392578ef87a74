"""The feed server over real HTTP: types, links, validators, 304s, encodings, caching,
paging and the curator's page, against a store filled by real polls over loopback."""

from __future__ import annotations

import asyncio
import gzip
import json
import re
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import brotli
import httpx
import pytest
from lxml import etree, html

from aggregator import clock
from aggregator.clock import ManualClock
from aggregator.config import load_config
from aggregator.publish.cache import FeedService, poll_max_age
from aggregator.run.cycle import Pipeline
from aggregator.store import open_store
from tests.conftest import TOPICS_TOML, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer, Route
from tests.liveserver import LiveServer, serve, story_feed
from tests.test_end_to_end import EXPECTED_TITLES

ATOM = "{http://www.w3.org/2005/Atom}"
SLUG = "car-t-lupus"
BASE = "http://feeds.test"  # the public base URL write_config sets
TYPES = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
NEW_ITEM = b"""<item>
  <title>Helix Therapeutics Opens CAR-T Trial for Refractory Lupus Nephritis</title>
  <link>https://wire.example.com/news/helix-car-t-lupus.html</link>
  <guid isPermaLink="false">wire-1004</guid>
  <pubDate>Wed, 11 Nov 2026 08:00:00 GMT</pubDate>
  <description>Helix Therapeutics enrolled its first lupus nephritis patient in a CAR-T study
  of HLX-19, a fully human CD19 construct, at three European centres.</description>
</item>
</channel>"""
SCIENCE_TOPIC = """
[[topics]]
slug = "science"
title = "Science releases"
trusted_sources = ["Science Releases"]
"""


def poll(config: Path) -> None:
    """Poll once; "Broken Wire" fails on purpose, so 3 (some failed) is expected too."""
    result = run_cli("poll", "--config", str(config), check=False)
    assert result.returncode in (0, 3), result.stdout + result.stderr


def poll_in_process(config_path: Path) -> None:
    """What `aggregator poll` does, in this process, so it reads this process's clock."""
    config = load_config(config_path)
    store = open_store(config.storage_url())
    try:
        pipeline = Pipeline(config, store)
        pipeline.prepare()
        asyncio.run(pipeline.run_cycle())
    finally:
        store.close()


def add_story(server: FeedServer) -> None:
    route = server.routes["/wire.rss"]
    route.body = route.body.replace(b"</channel>", NEW_ITEM)


@pytest.fixture
def e2e_config(feed_server: FeedServer, tmp_path: Path) -> Path:
    """The three e2e feeds plus a failing source, polled once; two topics."""
    feed_server.routes["/broken"] = Route(b"oops", status=500, content_type="text/plain")
    sources = {**serve_e2e_feeds(feed_server), "Broken Wire": feed_server.url("/broken")}
    config = write_config(tmp_path / "config.toml", sources, topics=TOPICS_TOML + SCIENCE_TOPIC)
    poll(config)
    return config


@pytest.fixture
def live(e2e_config: Path) -> Iterator[LiveServer]:
    with serve(e2e_config) as server:
        yield server


def entry_titles(document: bytes, fmt: str) -> list[str]:
    if fmt == "json":
        return [item["title"] for item in json.loads(document)["items"]]
    root = etree.fromstring(document)
    if fmt == "atom":
        return [e.findtext(f"{ATOM}title") for e in root.iter(f"{ATOM}entry")]
    return [item.findtext("title") for item in root.iter("item")]


# -- types, links, OPML ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_feed_type_and_links_come_from_the_public_base(live: LiveServer, fmt: str) -> None:
    with live.client() as client:
        response = client.get(f"/feeds/{SLUG}.{fmt}")
    assert response.status_code == 200
    assert response.headers["content-type"] == TYPES[fmt]
    assert entry_titles(response.content, fmt) == EXPECTED_TITLES
    self_url, page_url = f"{BASE}/feeds/{SLUG}.{fmt}", f"{BASE}/#topic-{SLUG}"
    if fmt == "json":
        document = response.json()
        assert (document["feed_url"], document["home_page_url"]) == (self_url, page_url)
        return
    root = etree.fromstring(response.content)
    links = root.findall(f"{ATOM}link") if fmt == "atom" else root.find("channel").findall(
        f"{ATOM}link")
    assert {(link.get("rel"), link.get("href")) for link in links} >= {("self", self_url)}
    if fmt == "atom":
        alternates = {link.get("type"): link.get("href") for link in links
                      if link.get("rel") == "alternate"}
        assert alternates == {
            "text/html": page_url,
            "application/rss+xml": f"{BASE}/feeds/{SLUG}.rss",
            "application/feed+json": f"{BASE}/feeds/{SLUG}.json",
        }
    else:
        assert root.findtext("channel/link") == page_url


def test_opml_lists_every_topic_feed_and_each_one_resolves(live: LiveServer) -> None:
    with live.client() as client:
        response = client.get("/feeds.opml")
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/x-opml; charset=utf-8"
        root = etree.fromstring(response.content)
        assert root.get("version") == "2.0" and root.findtext("head/title")
        outlines = root.findall("body/outline")
        assert [(o.get("title"), o.get("xmlUrl"), o.get("htmlUrl")) for o in outlines] == [
            ("CAR-T in lupus", f"{BASE}/feeds/car-t-lupus.atom", f"{BASE}/#topic-car-t-lupus"),
            ("Science releases", f"{BASE}/feeds/science.atom", f"{BASE}/#topic-science"),
        ]
        for outline in outlines:
            feed = client.get(outline.get("xmlUrl").removeprefix(BASE))
            assert feed.status_code == 200
            assert etree.fromstring(feed.content).findtext(f"{ATOM}title") == outline.get("title")


def test_unknown_topic_format_and_bad_parameters(live: LiveServer) -> None:
    with live.client() as client:
        assert client.get("/feeds/no-such-topic.atom").status_code == 404
        assert client.get(f"/feeds/{SLUG}.xml").status_code == 404
        assert client.get(f"/feeds/{SLUG}.atom?page=2").status_code == 404  # 3 stories, 1 page
        for query in ("page=0", "page=abc", "limit=0", "limit=-3", "limit=1.5"):
            assert client.get(f"/feeds/{SLUG}.atom?{query}").status_code == 400, query


# -- conditional GET, HEAD, Cache-Control, encodings -------------------------------------


def test_conditional_get_answers_304_without_a_body(live: LiveServer) -> None:
    with live.client() as client:
        first = client.get(f"/feeds/{SLUG}.atom")
        etag, last_modified = first.headers["etag"], first.headers["last-modified"]
        assert etag.startswith('"') and not etag.startswith("W/")  # strong
        parsedate_to_datetime(last_modified)  # a valid HTTP date
        cases = {
            "If-None-Match": etag,
            "If-Modified-Since": last_modified,
        }
        for name, value in cases.items():
            again = client.get(f"/feeds/{SLUG}.atom", headers={name: value})
            assert again.status_code == 304, name
            assert again.content == b"" and "content-type" not in again.headers
            assert again.headers["etag"] == etag
            assert again.headers["cache-control"] == first.headers["cache-control"]
        for value in (f'"nope", W/{etag}', "*"):  # weak comparison; any-match
            assert client.get(f"/feeds/{SLUG}.atom",
                              headers={"If-None-Match": value}).status_code == 304
        # A stale ETag wins over a matching date: If-None-Match decides alone.
        stale = client.get(f"/feeds/{SLUG}.atom", headers={
            "If-None-Match": '"0123"', "If-Modified-Since": last_modified})
        assert stale.status_code == 200 and stale.content == first.content
        older = client.get(f"/feeds/{SLUG}.atom", headers={
            "If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"})
        assert older.status_code == 200
        # The rss rendering of the same topic has its own validator.
        rss = client.get(f"/feeds/{SLUG}.rss", headers={"If-None-Match": etag})
        assert rss.status_code == 200 and rss.headers["etag"] != etag


def test_head_sends_the_headers_of_get_and_no_body(live: LiveServer) -> None:
    with live.client() as client:
        get = client.get(f"/feeds/{SLUG}.json")
        head = client.head(f"/feeds/{SLUG}.json")
    assert head.status_code == 200
    for name in ("content-type", "content-length", "etag", "last-modified", "cache-control"):
        assert head.headers[name] == get.headers[name], name
    assert int(head.headers["content-length"]) == len(get.content)
    # On the wire: nothing after the headers (a client library would hide a body).
    with socket.create_connection(("127.0.0.1", live.port), timeout=10) as raw:
        raw.sendall(f"HEAD /feeds/{SLUG}.json HTTP/1.1\r\nHost: x\r\n"
                    "Connection: close\r\n\r\n".encode())
        answer = b""
        while chunk := raw.recv(65536):
            answer += chunk
    head_lines, _, body = answer.partition(b"\r\n\r\n")
    assert head_lines.startswith(b"HTTP/1.1 200") and body == b""


def test_cache_control_follows_the_shortest_poll_interval(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    urls = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", urls, extra='default_interval = "10m"')
    assert poll_max_age(load_config(config)) == 300
    text = config.read_text().replace('name = "Test Wire"', 'name = "Test Wire"\ninterval = "3m"')
    config.write_text(text)
    assert poll_max_age(load_config(config)) == 90
    poll(config)
    with serve(config) as live, live.client() as client:
        response = client.get(f"/feeds/{SLUG}.rss")
    assert response.headers["cache-control"] == "public, max-age=90"


@pytest.mark.parametrize(("accept", "coding"), [
    ("gzip", "gzip"),
    ("br", "br"),
    ("gzip, deflate, br", "br"),
    ("br;q=0.5, gzip", "gzip"),
    ("*", "br"),
    ("gzip;q=0", None),
    ("identity", None),
])
def test_compressed_when_asked(live: LiveServer, accept: str, coding: str | None) -> None:
    with live.client() as client:
        plain = client.get(f"/feeds/{SLUG}.atom")
        response = client.get(f"/feeds/{SLUG}.atom", headers={"Accept-Encoding": accept})
        assert response.headers["vary"] == "Accept-Encoding"
        assert response.headers.get("content-encoding") == coding
        raw = response.read() if coding is None else b""
        if coding is not None:  # httpx decodes; check the wire bytes too
            with client.stream("GET", f"/feeds/{SLUG}.atom",
                               headers={"Accept-Encoding": accept}) as stream:
                wire = b"".join(stream.iter_raw())
            raw = gzip.decompress(wire) if coding == "gzip" else brotli.decompress(wire)
            assert len(wire) < len(plain.content) / 2
            assert int(response.headers["content-length"]) == len(wire)
            assert response.headers["etag"] != plain.headers["etag"]  # other bytes
        assert raw == plain.content
        # A reader that stored the compressed representation revalidates with its ETag.
        again = client.get(f"/feeds/{SLUG}.atom", headers={
            "Accept-Encoding": accept, "If-None-Match": response.headers["etag"]})
        assert again.status_code == 304
        assert again.headers["etag"] == response.headers["etag"]


# -- rendering is cached per topic and format until the topic changes --------------------


def renders(live: LiveServer, fmt: str) -> float:
    return live.metric("aggregator_feed_renders_total", format=fmt)


def test_polls_cost_no_render_and_a_new_story_shows_on_the_next_get(
    feed_server: FeedServer, e2e_config: Path
) -> None:
    with clock.use(ManualClock(time.time())) as now, serve(e2e_config) as live, \
            live.client() as client:
        first = client.get(f"/feeds/{SLUG}.atom")
        assert first.status_code == 200
        before = renders(live, "atom")
        not_modified = live.metric("aggregator_feed_requests_total", format="atom", status="304")
        for headers in ({}, {"Accept-Encoding": "gzip"}, {"Accept-Encoding": "br"},
                        {"If-None-Match": first.headers["etag"]}):
            for _ in range(5):
                assert client.get(f"/feeds/{SLUG}.atom", headers=headers).status_code in (200, 304)
        now.advance(1.2)  # past the one-second topic-version check: still no render
        assert client.get(f"/feeds/{SLUG}.atom").content == first.content
        assert renders(live, "atom") == before
        assert live.metric("aggregator_feed_requests_total", format="atom",
                           status="304") == not_modified + 5

        add_story(feed_server)
        poll(e2e_config)  # another process writes the store, as a worker would
        now.advance(1.2)  # the next request reads the topic versions again
        response = client.get(f"/feeds/{SLUG}.atom",
                              headers={"If-None-Match": first.headers["etag"]})
        assert response.status_code == 200
        titles = entry_titles(response.content, "atom")
        assert titles[0] == "Helix Therapeutics Opens CAR-T Trial for Refractory Lupus Nephritis"
        assert titles[1:] == EXPECTED_TITLES
        assert response.headers["etag"] != first.headers["etag"]
        assert (parsedate_to_datetime(response.headers["last-modified"])
                > parsedate_to_datetime(first.headers["last-modified"]))
        for _ in range(3):
            client.get(f"/feeds/{SLUG}.atom")
        assert renders(live, "atom") == before + 1


def test_render_cache_is_per_topic_format_and_version(
    feed_server: FeedServer, e2e_config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import aggregator.publish.cache

    calls: list[str] = []
    real_render = aggregator.publish.cache.render
    monkeypatch.setattr(aggregator.publish.cache, "render",
                        lambda page, fmt: calls.append(f"{page.slug}.{fmt}") or
                        real_render(page, fmt))
    config = load_config(e2e_config)
    store = open_store(config.storage_url())
    try:
        feeds = FeedService(config, store, version_ttl=0.0)  # ask the store every time
        for _ in range(3):
            for slug in (SLUG, "science"):
                for fmt in ("atom", "rss", "json"):
                    feeds.get(slug, fmt)
        feeds.get(SLUG, "atom", limit=2)
        assert sorted(calls) == sorted(
            [f"{s}.{f}" for s in (SLUG, "science") for f in ("atom", "rss", "json")]
            + [f"{SLUG}.atom"])
        calls.clear()
        add_story(feed_server)  # matches car-t-lupus only
        poll(e2e_config)
        for slug in (SLUG, "science"):
            feeds.get(slug, "atom")
        assert calls == [f"{SLUG}.atom"]  # the untouched topic keeps its rendering
        assert feeds.cached(SLUG, "atom") is None  # ttl 0: the event loop never decides
    finally:
        store.close()


def test_last_modified_moves_when_a_story_leaves_the_topic(
    feed_server: FeedServer, e2e_config: Path
) -> None:
    """No entry is newer afterwards, yet the feed changed: a reader that revalidates
    with If-Modified-Since alone must get the new document."""
    with serve(e2e_config, version_ttl=0.0) as live, live.client() as client:
        first = client.get(f"/feeds/{SLUG}.atom")
        route = feed_server.routes["/wire.rss"]
        route.body = (route.body.replace(b"in Lupus Nephritis", b"in Multiple Myeloma")
                      .replace(b"refractory lupus nephritis", b"relapsed multiple myeloma"))
        poll(e2e_config)
        after = client.get(f"/feeds/{SLUG}.atom",
                           headers={"If-Modified-Since": first.headers["last-modified"]})
    assert after.status_code == 200
    assert entry_titles(after.content, "atom") == [EXPECTED_TITLES[0], EXPECTED_TITLES[2]]
    assert (parsedate_to_datetime(after.headers["last-modified"])
            > parsedate_to_datetime(first.headers["last-modified"]))


def test_last_modified_never_goes_back_in_a_process_started_since(
    feed_server: FeedServer, e2e_config: Path
) -> None:
    """The same, when the change is served by another process (a restart, another web
    replica) that never saw the earlier document."""
    with serve(e2e_config) as live, live.client() as client:
        first = client.get(f"/feeds/{SLUG}.atom")
    route = feed_server.routes["/wire.rss"]
    route.body = (route.body.replace(b"in Lupus Nephritis", b"in Multiple Myeloma")
                  .replace(b"refractory lupus nephritis", b"relapsed multiple myeloma"))
    # HTTP dates count whole seconds, and within one only the ETag can tell: the change
    # is polled two seconds on, by the clock the store records it with.
    with clock.use(ManualClock(time.time() + 2)):
        poll_in_process(e2e_config)
    with serve(e2e_config) as live, live.client() as client:
        after = client.get(f"/feeds/{SLUG}.atom",
                           headers={"If-Modified-Since": first.headers["last-modified"]})
    assert after.status_code == 200
    assert entry_titles(after.content, "atom") == [EXPECTED_TITLES[0], EXPECTED_TITLES[2]]


def test_retention_purge_re_renders_the_cached_feed(e2e_config: Path) -> None:
    """Purged stories leave the feed at once: the purge itself changes the topic's
    version, as no new item may arrive for days to do it."""
    with serve(e2e_config, version_ttl=0.0) as live, live.client() as client:
        first = client.get(f"/feeds/{SLUG}.atom")
        assert entry_titles(first.content, "atom") == EXPECTED_TITLES
        store = open_store(load_config(e2e_config).storage_url())  # as the worker's purge
        try:
            assert store.purge(datetime(2030, 1, 1, tzinfo=UTC).timestamp()) > 0
        finally:
            store.close()
        after = client.get(f"/feeds/{SLUG}.atom",
                           headers={"If-None-Match": first.headers["etag"]})
    assert after.status_code == 200
    assert entry_titles(after.content, "atom") == []


# -- paging -------------------------------------------------------------------------------


def next_link(document: bytes, fmt: str) -> str | None:
    if fmt == "json":
        return json.loads(document).get("next_url")
    root = etree.fromstring(document)
    links = root.iter(f"{ATOM}link")
    return next((link.get("href") for link in links if link.get("rel") == "next"), None)


@pytest.fixture
def many_stories(feed_server: FeedServer, tmp_path: Path) -> Path:
    feed_server.routes["/stories.rss"] = Route(story_feed(23))
    config = write_config(tmp_path / "config.toml", {"Story Wire": feed_server.url("/stories.rss")},
                          extra="[publish]\nmax_entries = 5\nmax_page_size = 7")
    poll(config)
    return config


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_a_reader_walks_every_page_and_sees_each_story_once(
    many_stories: Path, fmt: str
) -> None:
    with serve(many_stories) as live, live.client() as client:
        url: str | None = f"{BASE}/feeds/{SLUG}.{fmt}"
        pages: list[list[str]] = []
        while url is not None and len(pages) < 20:
            assert url.startswith(BASE)
            response = client.get(url.removeprefix(BASE))
            assert response.status_code == 200
            pages.append(entry_titles(response.content, fmt))
            url = next_link(response.content, fmt)
        capped = client.get(f"/feeds/{SLUG}.{fmt}?limit=1000")
        past_the_end = client.get(f"/feeds/{SLUG}.{fmt}?page=6")
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    titles = [title for page in pages for title in page]
    numbers = [int(title.split(" study ")[1].split()[0]) for title in titles]
    assert numbers == list(range(23))  # every story once, newest first
    assert len(entry_titles(capped.content, fmt)) == 7  # publish.max_page_size
    assert past_the_end.status_code == 404


def test_atom_pages_link_first_previous_and_next(many_stories: Path) -> None:
    with serve(many_stories) as live, live.client() as client:
        root = etree.fromstring(client.get(f"/feeds/{SLUG}.atom?page=3").content)
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{ATOM}link")}
    assert links["self"] == f"{BASE}/feeds/{SLUG}.atom?page=3"
    assert links["first"] == f"{BASE}/feeds/{SLUG}.atom"
    assert links["previous"] == f"{BASE}/feeds/{SLUG}.atom?page=2"
    assert links["next"] == f"{BASE}/feeds/{SLUG}.atom?page=4"


# -- the curator's page -------------------------------------------------------------------


def test_index_page_shows_topics_stories_and_source_health(live: LiveServer) -> None:
    with live.client() as client:
        response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self';" in policy  # no inline
    page = html.fromstring(response.content)
    assert page.xpath("//script/@src") == ["/static/page.js"]  # the page's own, only
    assert not page.xpath("//script/text()")
    topic = page.get_element_by_id(f"topic-{SLUG}")
    stories = topic.xpath(".//li[@class='story']")
    assert [s.xpath("string(.//*[@class='story-title'])") for s in stories] == EXPECTED_TITLES
    nuvexa = stories[0]
    assert nuvexa.xpath("string(.//*[@class='source'])") == "Test Wire"
    assert nuvexa.xpath(".//time/@datetime") == ["2026-11-10T12:00:00Z"]
    terms = nuvexa.xpath(".//*[contains(@class, 'terms')]/span/text()")
    assert "CAR-T" in terms and "systemic lupus erythematosus" in terms
    # each chip says where the hit is, styled by location, with a snippet to hover
    chips = nuvexa.xpath(".//*[contains(@class, 'terms')]/span")
    locations = {chip.text: chip.get("class").split()[1] for chip in chips}
    assert locations["CAR-T"] == "hit-title"
    assert all(chip.get("title").startswith("in ") and ": " in chip.get("title") for chip in chips)
    assert "score" in nuvexa.xpath("string(.//*[contains(@class, 'terms')])")
    assert nuvexa.xpath(".//*[contains(@class, 'also-on')]/a/text()") == ["Nuvexa Newsroom"]
    feeds = topic.xpath(".//p[@class='feeds']/a/@href")
    assert feeds == [f"{BASE}/feeds/{SLUG}.{fmt}" for fmt in ("atom", "rss", "json")]
    rows = {row.xpath("string(td[@class='source-name'])").strip(): row
            for row in page.xpath("//table[@class='health']/tbody/tr")}
    assert set(rows) == {"Test Wire", "Nuvexa Newsroom", "Science Releases", "Broken Wire"}
    broken, wire = (cells(rows[name]) for name in ("Broken Wire", "Test Wire"))
    assert broken["Last success"] == "never" and "500" in broken["Last error"]
    assert broken["Consecutive failures"] == "1"
    assert wire["Last success"].endswith("ago") and wire["Consecutive failures"] == "0"
    assert wire["Items (7 days)"] == "3"
    # Polled just now at the 15-minute default interval (the failing one backs off ±20%):
    assert re.fullmatch(r"in 1[45]m", wire["Next poll"]), wire["Next poll"]
    assert re.fullmatch(r"in 1[0-8]m", broken["Next poll"]), broken["Next poll"]


def cells(row: html.HtmlElement) -> dict[str, str]:
    """A health-table row's cells by their column label."""
    return {td.get("data-label"): td.text_content().strip() for td in row.xpath("td[@data-label]")}


def test_index_page_answers_head(live: LiveServer) -> None:
    response = httpx.head(live.url("/"), timeout=10)
    assert response.status_code == 200 and response.content == b""
