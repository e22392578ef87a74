"""`aggregator hide/pin/unhide/unpin`: the real CLI on the shipped sample feeds, a real
SQLite store, the feeds rendered again (hidden stories gone, pinned ones first) and
`explain` saying what the curator did."""

from __future__ import annotations

import json
from pathlib import Path

from aggregator.store import open_store
from tests.conftest import run_cli
from tests.liveserver import demo_config

TOPIC = "car-t-lupus"


def feed(config: Path) -> list[tuple[str, str]]:
    """The topic's JSON Feed entries as (title, link), as `aggregator render` writes it."""
    rendered = json.loads(
        run_cli("render", TOPIC, "--format", "json", "--config", str(config)).stdout
    )
    return [(item["title"], item["url"]) for item in rendered["items"]]


def stored(folder: Path) -> list[tuple[str, str]]:
    """The topic's stories as the feeds take them from the store, in order."""
    store = open_store(f"sqlite:///{folder}/demo.db", read_only=True)
    try:
        return [(s.primary.title, s.primary.link) for s in store.topic_stories(TOPIC, 50)]
    finally:
        store.close()


def test_hide_pin_and_undo_rerender_the_feed_and_show_in_explain(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    run_cli("poll", "--config", str(config))
    before = feed(config)
    assert len(before) >= 4 and stored(tmp_path) == before
    oldest, second = before[-1], before[1]

    out = run_cli("pin", oldest[1], "--topic", TOPIC, "--config", str(config)).stdout
    assert "pinned in car-t-lupus" in out
    assert stored(tmp_path) == [oldest] + before[:-1]

    run_cli("hide", second[1], "--topic", TOPIC, "--config", str(config))
    run_cli("poll", "--config", str(config))  # the same items again: the actions hold
    assert stored(tmp_path) == [oldest] + [entry for entry in before[:-1] if entry != second]
    explained = run_cli("explain", second[1], "--config", str(config)).stdout
    assert "topic car-t-lupus: hidden by the curator" in explained

    run_cli("unhide", second[1], "--topic", TOPIC, "--config", str(config))
    again = run_cli("unpin", oldest[1], "--topic", TOPIC, "--config", str(config))
    assert "no longer pinned" in again.stdout
    assert feed(config) == before  # rendered again: the version moved with each action

    wrong_topic = run_cli(
        "hide", oldest[1], "--topic", "nope", "--config", str(config), check=False
    )
    assert wrong_topic.returncode == 2 and "no topic 'nope'" in wrong_topic.stderr
