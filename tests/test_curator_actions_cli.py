"""`aggregator hide/pin/unhide/unpin`: the real CLI on the shipped sample feeds, a real
SQLite store, the feeds rendered again (hidden stories gone, pinned ones first) and
`explain` saying what the curator did."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.liveserver import demo_config


def feed_titles(config: Path) -> list[str]:
    feed = json.loads(
        run_cli("render", "car-t-lupus", "--format", "json", "--config", str(config)).stdout
    )
    return [item["title"] for item in feed["items"]]


def entry_links(config: Path) -> dict[str, str]:
    feed = json.loads(
        run_cli("render", "car-t-lupus", "--format", "json", "--config", str(config)).stdout
    )
    return {item["title"]: item["url"] for item in feed["items"]}


def test_hide_pin_and_undo_rerender_the_feed_and_show_in_explain(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    run_cli("poll", "--config", str(config))
    before = feed_titles(config)
    assert len(before) >= 4
    ids = entry_links(config)
    oldest, second = before[-1], before[1]

    out = run_cli("pin", ids[oldest], "--topic", "car-t-lupus", "--config", str(config)).stdout
    assert "pinned in car-t-lupus" in out
    assert feed_titles(config) == [oldest] + [t for t in before if t != oldest]

    run_cli("hide", ids[second], "--topic", "car-t-lupus", "--config", str(config))
    after = feed_titles(config)
    assert second not in after and len(after) == len(before) - 1 and after[0] == oldest
    explained = run_cli("explain", ids[second], "--config", str(config)).stdout
    assert "topic car-t-lupus: hidden by the curator" in explained
    assert "pinned" in run_cli("explain", ids[oldest], "--config", str(config)).stdout

    run_cli("poll", "--config", str(config))  # the same items again: the actions hold
    assert feed_titles(config) == after

    run_cli("unhide", ids[second], "--topic", "car-t-lupus", "--config", str(config))
    run_cli("unpin", ids[oldest], "--topic", "car-t-lupus", "--config", str(config))
    assert feed_titles(config) == before
    assert "by the curator" not in run_cli("explain", ids[second], "--config", str(config)).stdout
    again = run_cli("unpin", ids[oldest], "--topic", "car-t-lupus", "--config", str(config))
    assert "was not pinned" in again.stdout

    wrong_topic = run_cli(
        "hide", ids[oldest], "--topic", "nope", "--config", str(config), check=False
    )
    assert wrong_topic.returncode == 2 and "no topic 'nope'" in wrong_topic.stderr
    missing = run_cli(
        "pin", "no-such-item", "--topic", "car-t-lupus", "--config", str(config), check=False
    )
    assert missing.returncode == 1 and "no stored item" in missing.stderr
