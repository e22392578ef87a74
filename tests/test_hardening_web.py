"""Issue 15, points 4, 5, 7 and 11: what the published feeds and OPML say, over real HTTP,
from a store filled by real polls (each test failed before its fix)."""

from __future__ import annotations

import gzip
import json
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from lxml import etree

from tests.conftest import run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.liveserver import serve
from tests.servicerun import running_service
from tests.test_web import entry_titles

ATOM = "{http://www.w3.org/2005/Atom}"
SLUG = "car-t-lupus"
BASE = "http://feeds.test"  # the public base URL write_config sets


def _feed_dates(body: bytes, fmt: str) -> str:
    root = etree.fromstring(body)
    if fmt == "atom":
        return root.findtext(f"{ATOM}updated")
    return root.findtext("channel/lastBuildDate")


@pytest.mark.parametrize("fmt", ["atom", "rss"])
def test_an_empty_topic_is_dated_by_its_last_change_not_1970(tmp_path: Path, fmt: str) -> None:
    config = write_config(tmp_path / "config.toml", {})
    with serve(config) as live, live.client() as client:
        response = client.get(f"/feeds/{SLUG}.{fmt}")
    assert response.status_code == 200
    written = _feed_dates(response.content, fmt)
    assert "1970" not in written
    header = parsedate_to_datetime(response.headers["last-modified"])
    assert header.year >= 2024
    if fmt == "rss":
        assert parsedate_to_datetime(written) == header
    else:
        assert written == header.isoformat().replace("+00:00", "Z")


DIRTY_TITLE = "CAR-T \x1b for lupus \ufffe now\x07 trial\x0b  begins"
CLEAN_TITLE = "CAR-T for lupus now trial begins"


def test_a_title_with_control_characters_reads_the_same_in_every_format(tmp_path: Path) -> None:
    feed = tmp_path / "dirty.rss"
    feed.write_bytes(
        (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>T</title>'
            "<link>https://x.example/</link><description>d</description><item>"
            f"<title>{DIRTY_TITLE}</title><link>https://x.example/a</link><guid>a1</guid>"
            "<pubDate>Wed, 11 Nov 2026 08:00:00 GMT</pubDate>"
            "<description>A CAR-T study in lupus.</description></item></channel></rss>"
        ).encode()
    )
    config = write_config(tmp_path / "config.toml", {"Dirty Wire": str(feed)})
    run_cli("poll", "--config", str(config))
    with serve(config) as live, live.client() as client:
        titles = {
            fmt: entry_titles(client.get(f"/feeds/{SLUG}.{fmt}").content, fmt)
            for fmt in ("atom", "rss", "json")
        }
    assert titles == {fmt: [CLEAN_TITLE] for fmt in titles}


def _self_link(body: bytes, fmt: str) -> str:
    if fmt == "json":
        return json.loads(body)["feed_url"]
    root = etree.fromstring(body)
    return root.find(f".//{ATOM}link[@rel='self']").get("href")


@pytest.mark.parametrize("query", ["page=1&limit=3", "limit=2&page=1", "page=1", "limit=2"])
def test_the_self_link_repeats_the_query_as_requested(
    feed_server: FeedServer,
    tmp_path: Path,
    query: str,
) -> None:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    run_cli("poll", "--config", str(config))
    with serve(config) as live, live.client() as client:
        for fmt in ("atom", "rss", "json"):
            response = client.get(f"/feeds/{SLUG}.{fmt}?{query}")
            assert response.status_code == 200
            assert _self_link(response.content, fmt) == f"{BASE}/feeds/{SLUG}.{fmt}?{query}"
        bare = client.get(f"/feeds/{SLUG}.atom")
        assert _self_link(bare.content, "atom") == f"{BASE}/feeds/{SLUG}.atom"


def test_opml_has_validators_answers_304_and_is_compressed(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {})
    with serve(config) as live, live.client() as client:
        first = client.get("/feeds.opml")
        assert first.status_code == 200
        assert first.headers["content-type"] == "text/x-opml; charset=utf-8"
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        assert parsedate_to_datetime(modified).year >= 2024
        assert client.get("/feeds.opml", headers={"If-None-Match": etag}).status_code == 304
        since = client.get("/feeds.opml", headers={"If-Modified-Since": modified})
        assert since.status_code == 304 and since.content == b""
        with client.stream("GET", "/feeds.opml", headers={"Accept-Encoding": "gzip"}) as zipped:
            assert zipped.headers["content-encoding"] == "gzip"
            assert zipped.headers["vary"] == "Accept-Encoding"
            assert gzip.decompress(b"".join(zipped.iter_raw())) == first.content
        assert b"/feeds/car-t-lupus.atom" in first.content


def test_run_port_option_is_the_port_of_self_links_and_opml(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        f'[storage]\nurl = "sqlite:///{tmp_path}/store.db"\n[server]\nport = 8080\n'
        '[[topics]]\nslug = "lupus"\ntitle = "Lupus"\ninclude = ["lupus"]\n',
        encoding="utf-8",
    )
    with running_service(config) as service:
        status, opml = service.get("/feeds.opml")
        assert status == 200
        root = etree.fromstring(opml)
        assert [o.get("xmlUrl") for o in root.iter("outline")] == [
            f"http://127.0.0.1:{service.port}/feeds/lupus.atom"
        ]
        status, feed = service.get("/feeds/lupus.json")
        assert json.loads(feed)["feed_url"] == f"http://127.0.0.1:{service.port}/feeds/lupus.json"
