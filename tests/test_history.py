"""Topic history: new or edited topics apply to stored items without refetching."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aggregator.core.normalize import item_id_for
from tests.conftest import TOPICS_TOML, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, rss

WIDER_TOPIC = TOPICS_TOML + """
[[topics]]
slug = "nuvexa"
title = "Everything Nuvexa"
include = ["Nuvexa"]
"""


def titles(config: Path, slug: str) -> list[str]:
    output = run_cli("stories", slug, "--config", str(config)).stdout
    return [line.split("  ", 1)[1].rsplit("  [", 1)[0] for line in output.splitlines()
            if line[:4].isdigit()]


def test_new_topic_applies_to_stored_items_without_refetching(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    urls = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", urls)
    run_cli("poll", "--config", str(config))
    requests_before = len(feed_server.log)

    edited = write_config(tmp_path / "config.toml", urls, topics=WIDER_TOPIC)
    preview = run_cli("preview", "nuvexa", "--config", str(edited)).stdout
    assert "2 stories would be published in nuvexa" in preview
    assert "matched: Nuvexa (title)" in preview
    # Preview is read-only: the store has no matches for the topic yet.
    with sqlite3.connect(tmp_path / "store.db") as db:
        assert db.execute("SELECT COUNT(*) FROM matches WHERE topic = 'nuvexa'").fetchone() == (0,)

    rendered = run_cli("render", "nuvexa", "--format", "json", "--config", str(edited)).stdout
    assert "Nuvexa Bio to Present at Investor Conference" in rendered
    assert titles(edited, "nuvexa")[0].startswith("Nuvexa Bio Doses First Patient")
    assert len(feed_server.log) == requests_before  # nothing was fetched again


def test_edited_topic_drops_and_adds_matches(feed_server: FeedServer, tmp_path: Path) -> None:
    urls = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", urls)
    run_cli("poll", "--config", str(config))
    assert len(titles(config, "car-t-lupus")) == 3
    narrower = TOPICS_TOML.replace('exclude = ["canis lupus"]',
                                   'exclude = ["canis lupus", "nephritis"]')
    write_config(tmp_path / "config.toml", urls, topics=narrower)
    run_cli("render", "car-t-lupus", "--config", str(config))  # any command re-matches
    remaining = titles(config, "car-t-lupus")
    assert len(remaining) == 2
    assert not any("Nephritis" in title for title in remaining)


PSORIASIS_TITLE = "Orbital Pharma Completes Enrollment in Phase 3 Psoriasis Trial of ORB-114"


def serve_psoriasis_copies(feed_server: FeedServer) -> dict[str, str]:
    """A psoriasis release on two wires; the test topic's terms (CAR-T, lupus) occur in
    neither copy. Returns source name -> URL."""
    text = ("Orbital Pharma today announced that it has completed enrollment of 640 patients "
            "in its Phase 3 trial of ORB-114 in moderate to severe plaque psoriasis.")
    when = datetime(2026, 11, 20, 9, tzinfo=UTC)
    feed_server.routes["/a.rss"] = Route(rss([Entry("a1", PSORIASIS_TITLE, when, summary=text)]))
    feed_server.routes["/b.rss"] = Route(rss([Entry("b7", "PRESS RELEASE: " + PSORIASIS_TITLE,
                                                    when + timedelta(hours=2), summary=text)]))
    return {"Wire A": feed_server.url("/a.rss"), "Wire B": feed_server.url("/b.rss")}


def unfingerprinted_items_and_stories(db: Path) -> tuple[int, int]:
    with sqlite3.connect(db) as connection:
        return connection.execute(
            "SELECT SUM(fingerprint = ''), COUNT(DISTINCT story_id) FROM items").fetchone()


def test_a_new_topic_merges_copies_stored_outside_the_dedupe_scope(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    urls = serve_psoriasis_copies(feed_server)
    config = write_config(tmp_path / "config.toml", urls)
    run_cli("poll", "--config", str(config))  # stored unfingerprinted: two stories
    assert unfingerprinted_items_and_stories(tmp_path / "store.db") == (2, 2)
    first, second = item_id_for("Wire A", "guid:a1"), item_id_for("Wire B", "guid:b7")
    explained = run_cli("explain", first, second, "--config", str(config)).stdout
    assert "not compared when stored: outside the dedupe scope" in explained
    assert f"vs Wire B {second} (different stories): " in explained
    psoriasis = TOPICS_TOML + """
[[topics]]
slug = "psoriasis"
title = "Psoriasis"
include = ["psoriasis"]
"""
    write_config(tmp_path / "config.toml", urls, topics=psoriasis)
    output = run_cli("stories", "psoriasis", "--config", str(config)).stdout
    assert titles(config, "psoriasis") == [PSORIASIS_TITLE]  # once: the copies were merged
    assert "also on Wire B" in output
    explained = run_cli("explain", first, "--config", str(config)).stdout
    assert "outside the dedupe scope" not in explained and "(same story)" in explained


def test_scope_all_fingerprints_every_item_and_switching_to_it_catches_up(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    urls = serve_psoriasis_copies(feed_server)
    every = '[dedupe]\nscope = "all"'
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    run_cli("poll", "--config", str(write_config(tmp_path / "a" / "config.toml", urls,
                                                 extra=every)))
    assert unfingerprinted_items_and_stories(tmp_path / "a" / "store.db") == (0, 1)
    config = write_config(tmp_path / "b" / "config.toml", urls)
    run_cli("poll", "--config", str(config))
    assert unfingerprinted_items_and_stories(tmp_path / "b" / "store.db") == (2, 2)
    write_config(config, urls, extra=every)
    run_cli("render", "car-t-lupus", "--config", str(config))  # any command re-matches
    assert unfingerprinted_items_and_stories(tmp_path / "b" / "store.db") == (0, 1)  # merged


def test_explain_says_why_for_every_topic(feed_server: FeedServer, tmp_path: Path) -> None:
    urls = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", urls, topics=WIDER_TOPIC)
    run_cli("poll", "--config", str(config))
    output = run_cli("explain", "https://wire.example.com/news/retail-cart.html",
                     "--config", str(config)).stdout
    assert "topic car-t-lupus: does not match" in output
    assert "topic nuvexa: does not match" in output
    output = run_cli("explain", "https://nuvexa.example.com/news/pr-77?utm_source=x",
                     "--config", str(config)).stdout
    assert "topic car-t-lupus: MATCHES" in output
    assert "topic nuvexa: MATCHES" in output
    assert "vs Test Wire" in output and "(same story)" in output
