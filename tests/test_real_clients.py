"""Real feed readers subscribe over loopback: newsboat (Debian's package) and feedparser.

Each must see exactly the topic's stories, and its second fetch, carrying the
validators it stored, must be answered 304; the server's own request counter says so.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import feedparser
import pytest

from tests.conftest import run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.liveserver import LiveServer, serve
from tests.test_end_to_end import EXPECTED_TITLES

NEWSBOAT = shutil.which("newsboat")
SLUG = "car-t-lupus"
XML_FORMATS = ("atom", "rss")


@pytest.fixture
def live(feed_server: FeedServer, tmp_path: Path) -> Iterator[LiveServer]:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    run_cli("poll", "--config", str(config))
    with serve(config) as server:
        yield server


def not_modified_count(live: LiveServer, fmt: str) -> float:
    return live.metric("aggregator_feed_requests_total", format=fmt, status="304")


def expected_ids(live: LiveServer) -> list[str]:
    with live.client() as client:
        return [item["id"] for item in client.get(f"/feeds/{SLUG}.json").json()["items"]]


@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_feedparser_subscribes_and_revalidates(live: LiveServer, fmt: str) -> None:
    url = live.url(f"/feeds/{SLUG}.{fmt}")
    first = feedparser.parse(url)
    assert first.status == 200 and not first.bozo, first.get("bozo_exception")
    assert [entry.title for entry in first.entries] == EXPECTED_TITLES
    assert [entry.id for entry in first.entries] == expected_ids(live)
    assert all(entry.link.startswith("https://") for entry in first.entries)
    assert first.headers.get("content-encoding") in ("gzip", "br")  # it asked for them
    assert first.etag and first.modified
    before = not_modified_count(live, fmt)
    second = feedparser.parse(url, etag=first.etag, modified=first.modified)
    assert second.status == 304 and second.entries == []
    assert not_modified_count(live, fmt) == before + 1


def newsboat(home: Path, *commands: str) -> subprocess.CompletedProcess[str]:
    """Run newsboat non-interactively against the urls, cache and config in `home`."""
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "XDG_DATA_HOME": str(home / "data"), "TERM": "dumb"}
    return subprocess.run(
        [NEWSBOAT, "-u", str(home / "urls"), "-c", str(home / "cache.db"),
         "-C", str(home / "config.txt"), "-x", *commands],
        capture_output=True, text=True, timeout=90, env=env, check=True,
    )


@pytest.mark.skipif(NEWSBOAT is None,
                    reason="Debian's newsboat is not installed (apt-get install newsboat)")
@pytest.mark.parametrize("fmt", XML_FORMATS)
def test_newsboat_subscribes_and_revalidates(live: LiveServer, tmp_path: Path, fmt: str) -> None:
    """One subscription per newsboat cache: newsboat keys articles by guid across all
    its feeds, and our Atom and RSS renderings of a topic share their entry ids."""
    home = tmp_path / "newsboat"
    home.mkdir()
    url = live.url(f"/feeds/{SLUG}.{fmt}")
    (home / "urls").write_text(url + "\n", encoding="utf-8")
    (home / "config.txt").write_text("reload-threads 1\ndownload-timeout 20\n", encoding="utf-8")
    # newsboat 2.21 writes a feed's validators into its cache only once the feed is
    # there, which is after its first download: the first reload fetches, the second
    # fetches again and keeps the validators, from the third on it revalidates.
    newsboat(home, "reload")
    newsboat(home, "reload")
    with sqlite3.connect(home / "cache.db") as cache:
        feeds = cache.execute("SELECT rssurl, etag FROM rss_feed").fetchall()
        items = cache.execute("SELECT feedurl, guid, title FROM rss_item").fetchall()
    assert [feed for feed, _ in feeds] == [url]
    assert feeds[0][1], "newsboat stored no ETag"
    expected = zip(expected_ids(live), EXPECTED_TITLES, strict=True)
    assert sorted(items) == sorted((url, guid, title) for guid, title in expected)
    assert newsboat(home, "print-unread").stdout.split()[0] == str(len(EXPECTED_TITLES))
    before = not_modified_count(live, fmt)
    newsboat(home, "reload")
    assert not_modified_count(live, fmt) == before + 1
