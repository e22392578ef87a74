"""A curator corrects the story decision (`merge`, `split`), sees why (`explain A B`),
and later polls and `redecide` respect it: the real CLI on the shipped sample feeds."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path

from tests.conftest import run_cli

ROOT = Path(__file__).resolve().parent.parent
FIERCE = ("https://www.fiercebiotech.com/biotech/"
          "carsgen-doses-first-lupus-patient-shelf-cd19cd20-car-t")


def demo_config(tmp_path: Path) -> Path:
    """config/demo.toml with its store in `tmp_path` and its samples found from there."""
    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace("sqlite:///../data/demo.db", f"sqlite:///{tmp_path}/demo.db")
    text = text.replace("../samples/", f"{ROOT}/samples/")
    path = tmp_path / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


def entries(config: Path) -> dict[str, list[tuple[str, bool]]]:
    """The car-t-lupus JSON Feed: title -> [(copy source, coverage)]."""
    feed = json.loads(run_cli("render", "car-t-lupus", "--format", "json",
                              "--config", str(config)).stdout)
    return {item["title"]: [(c["source"], c["coverage"]) for c in item["_aggregator"]["also_on"]]
            for item in feed["items"]}


def seed_story(config: Path) -> list[tuple[str, bool]]:
    [copies] = [v for title, v in entries(config).items() if title.startswith("CARsgen's")]
    return copies


def test_split_and_merge_persist_through_polls_and_redecide(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    run_cli("poll", "--config", str(config))
    assert ("FierceBiotech", True) in seed_story(config)  # the rewrite joined the release
    assert len(entries(config)) == 6
    [[release_id]] = sqlite3.connect(tmp_path / "demo.db").execute(
        "SELECT item_id FROM items WHERE source = 'PR Newswire' AND title LIKE 'CARsgen%'")

    out = run_cli("split", FIERCE, "--config", str(config)).stdout
    assert "is a story of its own" in out
    assert ("FierceBiotech", True) not in seed_story(config)
    assert len(entries(config)) == 7  # the feed was re-rendered with the article apart

    run_cli("poll", "--config", str(config))  # the same items again: the split holds
    run_cli("redecide", "--config", str(config))  # deciding anew: the split holds
    assert len(entries(config)) == 7

    explained = run_cli("explain", FIERCE, release_id, "--config", str(config)).stdout
    assert "curator: split them (this decision wins)" in explained
    assert re.search(r"as a report of the same event: yes: event score \d", explained)

    run_cli("merge", release_id, FIERCE, "--config", str(config))
    assert ("FierceBiotech", True) in seed_story(config)
    run_cli("redecide", "--config", str(config))
    assert ("FierceBiotech", True) in seed_story(config) and len(entries(config)) == 6


def test_an_upgraded_store_decides_its_stories_again_once(tmp_path: Path) -> None:
    config = demo_config(tmp_path)
    run_cli("poll", "--config", str(config))
    db = sqlite3.connect(tmp_path / "demo.db")
    count = db.execute("SELECT COUNT(*) FROM items").fetchone()[0]
    # As an earlier version left it: another fingerprint scheme, every copy alone.
    with db:
        db.execute("UPDATE items SET story_id = item_id, "
                   "fingerprint = replace(fingerprint, '\"v\":\"mh', '\"v\":\"old-mh') "
                   "WHERE fingerprint <> ''")
        db.execute("DELETE FROM stories")
        db.execute("INSERT INTO stories SELECT item_id, item_id, published, published "
                   "FROM items")
        db.execute("UPDATE matches SET story_id = item_id")
    assert db.execute("SELECT COUNT(*) FROM stories").fetchone() == (count,)
    # The first command of the new version decides again as it starts: merged.
    assert ("FierceBiotech", True) in seed_story(config) and len(entries(config)) == 6
    assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == count  # nothing lost
    assert db.execute("SELECT COUNT(*) FROM items WHERE fingerprint LIKE '%old-mh%'"
                      ).fetchone() == (0,)
