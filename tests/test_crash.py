"""Crash safety: SIGKILL a worker at random moments, on both engines, and lose nothing.

A `NewsWorld` of loopback feeds moves through several phases. In each phase the
sources are polled twice over: once uninterrupted, in this process, into a reference
SQLite store, and once by `aggregator run --role worker` processes that are killed
with SIGKILL a random moment after they start claiming sources, restarted, killed
again, until every source has been polled in this phase. At the end the store the
killed workers wrote must hold every entry the feeds ever served exactly once, and
every topic feed must render to the same bytes as the reference's, except the one
field that records when stories arrived rather than what they say: the feed-level
`<updated>` (Atom) and `<lastBuildDate>` (RSS), which include the time entries were
first seen so that If-Modified-Since readers notice late arrivals.

The seed is printed on failure; AGGREGATOR_CRASH_SEED replays one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import signal
import time
from pathlib import Path

import pytest

from aggregator.config import load_config
from aggregator.publish.cache import FeedService
from aggregator.publish.render import FORMATS
from aggregator.run.cycle import Pipeline
from aggregator.store import SQLStore, open_store
from tests.conftest import run_cli
from tests.feedserver import FeedServer, Route
from tests.newsfeeds import NewsWorld, world_config
from tests.servicerun import running_service, wait_until

# Seven: below the cycle size at which the pipeline starts document worker processes,
# which would add a second of start-up to every one of the many lives below.
SOURCES = [f"Wire {letter}" for letter in "ABCDEFG"]
PHASES = 5
KILLS_PER_PHASE = 4
KILL_JITTER = 0.15  # seconds: a kill comes this long at most after the chosen commit
LEASE_SECONDS = 1.0  # so a restarted worker finds the dead one's leases lapsed
TOPICS = ("car-t-lupus", "everything")

pytestmark = pytest.mark.slow


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every process it started, as when its container dies."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    family, index = [pid], 0
    while index < len(family):
        family += children.get(family[index], [])
        index += 1
    for member in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(member, signal.SIGKILL)


def claimed_since(store: SQLStore, started: float) -> bool:
    """Has a worker started after `started` claimed (or polled) anything yet?"""
    with store.transaction(write=False) as cur:
        cur.execute("SELECT COUNT(*) FROM sources WHERE lease_expires > ? OR last_attempt >= ?",
                    (started + LEASE_SECONDS, started))
        return cur.fetchone()[0] > 0


def polled_since(store: SQLStore, since: float) -> int:
    return sum(1 for s in store.source_states() if (s.last_success or 0) >= since)


def stored_rows(store: SQLStore) -> dict[str, list[tuple]]:
    """What readers see, minus the times a row was written (which depend on the run)."""
    queries = {
        "items": "SELECT source, item_key, item_id, story_id, title, summary_html, published, "
                 "updated, content_hash FROM items ORDER BY item_id",
        "stories": "SELECT story_id, primary_item_id, published, updated FROM stories "
                   "ORDER BY story_id",
        "matches": "SELECT topic, item_id, story_id, hits FROM matches ORDER BY topic, item_id",
    }
    result = {}
    with store.transaction(write=False) as cur:
        for name, sql in queries.items():
            cur.execute(sql)
            result[name] = [tuple(row) for row in cur.fetchall()]
    return result


FEED_ARRIVAL_TIME = re.compile(rb"<updated>[^<]*</updated>|<lastBuildDate>[^<]*</lastBuildDate>")


def without_arrival_time(body: bytes) -> bytes:
    """The feed with its feed-level date (the first of those, before any entry) blanked."""
    return FEED_ARRIVAL_TIME.sub(b"<arrival-time/>", body, count=1)


def rendered(config_path: Path, store: SQLStore, environ: dict[str, str]) -> dict[str, bytes]:
    config = load_config(config_path, environ=environ)
    feeds = FeedService(config, store)
    return {f"{slug}.{fmt}": without_arrival_time(feeds.get(slug, fmt).body)
            for slug in TOPICS for fmt in FORMATS}


def first_difference(left: dict[str, bytes], right: dict[str, bytes]) -> str:
    """Where two sets of rendered feeds first differ, readably."""
    for name in sorted(left):
        lines = zip(left[name].split(b">"), right[name].split(b">"), strict=False)
        for number, (one, other) in enumerate(lines):
            if one != other:
                return f"{name}, element {number}: {one!r} != {other!r}"
    return "same elements, different lengths"


def test_sigkilled_workers_lose_nothing_and_double_nothing(
    store_url: str, tmp_path: Path, feed_server: FeedServer
) -> None:
    seed = int(os.environ.get("AGGREGATOR_CRASH_SEED") or time.time())
    rng = random.Random(seed)
    world = NewsWorld(SOURCES, seed)
    feeds = {}
    for index, name in enumerate(SOURCES):
        path = f"/feed-{index}.atom"
        feed_server.routes[path] = Route(content_type="application/atom+xml", delay=0.05)
        feeds[name] = feed_server.url(path)
    config = world_config(tmp_path / "config.toml", feeds, db=tmp_path / "reference.db")
    crash_env = {"AGGREGATOR_STORAGE_URL": store_url}
    reference = Pipeline(load_config(config), open_store(f"sqlite:///{tmp_path}/reference.db"))
    reference.prepare()
    watcher = open_store(store_url)
    kills = mid_cycle = 0
    try:
        for phase in range(PHASES):
            if phase:
                world.advance()
            for index, name in enumerate(SOURCES):
                feed_server.routes[f"/feed-{index}.atom"].body = world.feed(name)
            asyncio.run(reference.run_cycle())
            phase_started = time.time()
            lives = 0
            while lives < KILLS_PER_PHASE or polled_since(watcher, phase_started) < len(SOURCES):
                with running_service(config, "--role", "worker", healthy=False, env={
                    **crash_env, "AGGREGATOR_LEASE_SECONDS": str(LEASE_SECONDS),
                }) as worker:
                    # Kill a moment after the worker claims its sources (target 0) or
                    # after its target-th source poll was committed, whichever is drawn.
                    started, target = time.time(), rng.randint(0, len(SOURCES))
                    wait_until(lambda started=started, target=target: (
                        claimed_since(watcher, started) if target == 0
                        else polled_since(watcher, started) >= target),
                        30, f"the worker to commit {target} polls", interval=0.01)
                    time.sleep(rng.uniform(0, KILL_JITTER))
                    kill_tree(worker.proc.pid)
                    worker.proc.wait(10)
                kills += 1
                lives += 1
                mid_cycle += polled_since(watcher, started) < len(SOURCES)
        context = f"seed {seed}, {kills} kills ({mid_cycle} before a cycle finished)"
        assert kills >= 20 and mid_cycle >= 5, context

        with watcher.transaction(write=False) as cur:
            cur.execute("SELECT source, item_key FROM items")
            stored = [tuple(row) for row in cur.fetchall()]
        served = {(name, f"guid:{guid}") for name, guid in world.served}
        assert len(stored) == len(set(stored)) and set(stored) == served, context

        assert stored_rows(watcher) == stored_rows(reference.store), context
        crashed, uninterrupted = (rendered(config, watcher, crash_env),
                                  rendered(config, reference.store, {}))
        assert crashed == uninterrupted, f"{context}: {first_difference(crashed, uninterrupted)}"
        for slug in TOPICS:  # and what `aggregator render` prints, from a fresh process
            crashed = run_cli("render", slug, "--config", str(config), env=crash_env).stdout
            uninterrupted = run_cli("render", slug, "--config", str(config)).stdout
            assert without_arrival_time(crashed.encode()) == \
                without_arrival_time(uninterrupted.encode()), context
    finally:
        watcher.close()
        reference.store.close()
