"""Run the real service on generated feeds and read what it stored, with plain SQL.

The aggregator package is being reorganized, so the benches only use its command line
and the documented tables (items, stories, matches) of the SQLite file it writes.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class StoredItem:
    item_id: str
    source: str
    link: str
    story_id: str
    title: str


@dataclass(frozen=True)
class PollRun:
    seconds: float
    output: str


def poll(config: Path) -> PollRun:
    """`aggregator poll` with this checkout's package first on the path; fail loudly."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "aggregator", "poll", "--config", str(config), "--no-progress"]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=config.parent)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"aggregator poll exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return PollRun(seconds, done.stdout)


def stored_items(db: Path) -> dict[str, StoredItem]:
    """Stored items by their feed link (each corpus item has a unique link)."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT item_id, source, link, story_id, title FROM items").fetchall()
    return {row[2]: StoredItem(*row) for row in rows}


def topic_matches(db: Path) -> dict[str, dict[str, list[tuple[str, str]]]]:
    """{topic: {item_id: [(term, field), ...]}} from the matches table."""
    result: dict[str, dict[str, list[tuple[str, str]]]] = {}
    with sqlite3.connect(db) as conn:
        for topic, item_id, hits in conn.execute("SELECT topic, item_id, hits FROM matches"):
            result.setdefault(topic, {})[item_id] = [tuple(h) for h in json.loads(hits)]
    return result
