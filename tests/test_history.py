"""Topic history: new or edited topics apply to stored items without refetching."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import TOPICS_TOML, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer

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
