"""Several `aggregator run` processes sharing one store, on both engines.

Workers are real processes started as a container starts them; the feeds are served
on loopback by a server that notes when each request began and ended, so a source
fetched by two workers at once would show as two overlapping requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from aggregator.store import SQLStore, open_store
from tests.feedserver import FeedServer, Route
from tests.newsfeeds import NewsWorld, world_config
from tests.servicerun import ServiceProcess, running_service, wait_until
from tests.test_crash import kill_tree

pytestmark = pytest.mark.slow


class TimedFeedServer(FeedServer):
    """A FeedServer that keeps (path, start, end) of every request, in wall-clock time."""

    def __init__(self) -> None:
        super().__init__()
        self.spans: list[tuple[str, float, float]] = []
        self._spans_lock = threading.Lock()

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        started = time.time()
        super()._handle(handler)
        with self._spans_lock:
            self.spans.append((handler.path, started, time.time()))

    def spans_of(self, path: str) -> list[tuple[float, float]]:
        with self._spans_lock:
            return sorted((start, end) for p, start, end in self.spans if p == path)


@pytest.fixture
def timed_server() -> Iterator[TimedFeedServer]:
    with TimedFeedServer() as server:
        yield server


def serve_world(server: FeedServer, world: NewsWorld, delay: float) -> dict[str, str]:
    """Serve each source of `world` at its own path; return name -> URL."""
    urls = {}
    for index, name in enumerate(world.sources):
        path = f"/feed-{index}.atom"
        server.routes[path] = Route(world.feed(name), content_type="application/atom+xml",
                                    delay=delay)
        urls[name] = server.url(path)
    return urls


def stored_keys(store: SQLStore) -> list[tuple[str, str]]:
    with store.transaction(write=False) as cur:
        cur.execute("SELECT source, item_key FROM items")
        return [tuple(row) for row in cur.fetchall()]


def served_keys(world: NewsWorld) -> set[tuple[str, str]]:
    return {(name, f"guid:{guid}") for name, guid in world.served}


def polled_sources(worker: ServiceProcess) -> set[str]:
    return {event["source"] for event in worker.poll_events()}


def test_workers_share_the_sources_and_never_fetch_one_twice_at_once(
    store_url: str, tmp_path: Path, timed_server: TimedFeedServer
) -> None:
    world = NewsWorld([f"Wire {n}" for n in range(12)], seed=8)
    urls = serve_world(timed_server, world, delay=0.3)
    config = world_config(tmp_path / "config.toml", urls, db=tmp_path / "unused.db")
    # Two fetches at a time per worker: claims come in small batches, so all three
    # workers get a share of the twelve sources.
    config.write_text(config.read_text().replace("[fetch]", "[fetch]\nconcurrency = 2"))
    env = {"AGGREGATOR_STORAGE_URL": store_url, "AGGREGATOR_LEASE_SECONDS": "5"}
    with (running_service(config, "--role", "worker", env=env, healthy=False) as one,
          running_service(config, "--role", "worker", env=env, healthy=False) as two,
          running_service(config, "--role", "worker", env=env, healthy=False) as three):
        wait_until(lambda: all(len(timed_server.spans_of(f"/feed-{n}.atom")) >= 2
                               for n in range(12)), 60, "every feed to be fetched twice")
        workers = (one, two, three)
    for n in range(12):
        spans = timed_server.spans_of(f"/feed-{n}.atom")
        overlapping = [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
        assert not overlapping, f"/feed-{n}.atom fetched twice at once: {overlapping}"
    shares = [polled_sources(worker) for worker in workers]
    assert all(shares) and set().union(*shares) == set(world.sources), shares
    store = open_store(store_url)
    keys = stored_keys(store)
    store.close()
    assert len(keys) == len(set(keys)) and set(keys) == served_keys(world)


def test_a_dead_workers_sources_are_taken_over_once_its_leases_lapse(
    store_url: str, tmp_path: Path, timed_server: TimedFeedServer
) -> None:
    world = NewsWorld([f"Wire {n}" for n in range(4)], seed=9)
    urls = serve_world(timed_server, world, delay=3.0)  # slow: the first worker hangs on them
    config = world_config(tmp_path / "config.toml", urls, db=tmp_path / "unused.db")
    env = {"AGGREGATOR_STORAGE_URL": store_url, "AGGREGATOR_LEASE_SECONDS": "4"}
    store = open_store(store_url)
    with running_service(config, "--role", "worker", env=env, healthy=False) as first:
        wait_until(lambda: all(_leased(store, name) for name in world.sources), 30,
                   "the first worker's claims")
        time.sleep(0.5)  # it is waiting for the slow feeds now
        kill_tree(first.proc.pid)
        first.proc.wait(10)
    killed = time.time()
    lapse = _lease_expiry(store)
    for route in timed_server.routes.values():
        route.delay = 0.0
    with running_service(config, "--role", "worker", env=env) as second:
        wait_until(lambda: polled_sources(second) == set(world.sources), 30,
                   "the second worker to poll every source")
        started = min(_time(e) for e in second.events() if "scheduler started" in e["message"])
    assert started < lapse, "the second worker was not up before the leases lapsed"
    for path in timed_server.routes:
        after_kill = [start for start, _ in timed_server.spans_of(path) if start > killed]
        assert after_kill and min(after_kill) >= lapse, (path, after_kill, lapse)
    keys = stored_keys(store)
    store.close()
    assert len(keys) == len(set(keys)) and set(keys) == served_keys(world)


def _leased(store: SQLStore, name: str) -> bool:
    with store.transaction(write=False) as cur:
        cur.execute("SELECT lease_owner FROM sources WHERE name = ?", (name,))
        row = cur.fetchone()
    return row is not None and row[0] is not None


def _lease_expiry(store: SQLStore) -> float:
    with store.transaction(write=False) as cur:
        cur.execute("SELECT MAX(lease_expires) FROM sources")
        return float(cur.fetchone()[0])


def _time(event: dict[str, str]) -> float:
    return datetime.fromisoformat(event["time"]).timestamp()


def test_a_web_process_serves_new_stories_without_a_restart(
    store_url: str, tmp_path: Path, feed_server: FeedServer
) -> None:
    world = NewsWorld([f"Wire {n}" for n in range(3)], seed=10)
    urls = serve_world(feed_server, world, delay=0.0)
    config = world_config(tmp_path / "config.toml", urls, db=tmp_path / "unused.db")
    env = {"AGGREGATOR_STORAGE_URL": store_url}
    with (running_service(config, "--role", "web", env=env) as web,
          running_service(config, "--role", "worker", env=env) as worker):

        def entries() -> list[str]:
            status, body = web.get("/feeds/everything.json")
            assert status == 200
            return [entry["title"] for entry in json.loads(body)["items"]]

        first = wait_until(lambda: len(entries()) == 9 and entries(), 30,
                           "the web process to show the worker's first stories")
        world.advance()
        for index, name in enumerate(world.sources):
            feed_server.routes[f"/feed-{index}.atom"].body = world.feed(name)
        # 9 new stories; each source's copy of another's story joins that story.
        wait_until(lambda: len(entries()) == 18, 30, "the second phase's stories on the web")
        assert set(first) < set(entries())
        assert web.get_json("/readyz")[0] == 200
        assert polled_sources(web) == set() and polled_sources(worker) == set(world.sources)
