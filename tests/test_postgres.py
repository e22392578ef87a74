"""PostgreSQL only: what several processes writing at once, and a flaky server, do.

Each "worker" here is its own `PostgresStore` (its own pool and connections), as in
separate processes. Where a test needs two polls to overlap, it holds the first one's
transaction open just before commit and waits until the server reports the second
one blocked on a lock: the moment where, without the locks, both would decide alone.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest

from aggregator import clock
from aggregator.clock import ManualClock
from aggregator.config import load_config
from aggregator.core.dedupe import fingerprint, stored_fingerprint
from aggregator.models import IngestReport, ItemRecord, LateFingerprint, MergePolicy, TermHit
from aggregator.store import StoreError, open_store
from aggregator.store import engine as store_engine
from aggregator.store.engine import TransientStoreError, merge_keys
from aggregator.store.migrate import load_migrations
from aggregator.store.postgres import MAX_BAND_LOCKS, PostgresStore, band_lock_key
from tests.conftest import postgres_schema, run_cli, write_config
from tests.tcpproxy import TCPProxy
from tests.test_store import make_item, outcome, record
from tests.test_store_contract import RELEASE, rows, two_copies

POLICY = MergePolicy()
HIT = {"t": [TermHit("CAR-T", "title")]}
SOURCES = [("Wire", "https://wire.example/feed"), ("Other", "https://other.example/f")]


def named(url: str, name: str) -> str:
    """The URL with an application_name, to find that store's sessions on the server."""
    return f"{url}&application_name={name}"


def open_worker(url: str, name: str) -> PostgresStore:
    store = open_store(named(url, name))
    assert isinstance(store, PostgresStore)
    return store


@pytest.fixture
def workers(postgres_url: str) -> Iterator[tuple[PostgresStore, PostgresStore]]:
    a, b = open_worker(postgres_url, "worker-a"), open_worker(postgres_url, "worker-b")
    a.sync_sources(SOURCES)
    yield a, b
    a.close()
    b.close()


def wait_until_blocked(url: str, application: str, timeout: float = 10.0) -> None:
    """Return once a session of `application` waits for a lock; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    with psycopg.connect(url, autocommit=True) as connection:
        while time.monotonic() < deadline:
            row = connection.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                "AND wait_event_type = 'Lock'", (application,)).fetchone()
            if row[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"{application} never waited for a lock")


class HeldOpen:
    """Make `store`'s next poll pause inside its transaction, just before commit."""

    def __init__(self, store: PostgresStore):
        self.inside = threading.Event()
        self.release = threading.Event()
        original = store._write_source

        def write_source_then_wait(*args: Any) -> None:
            original(*args)
            self.inside.set()
            assert self.release.wait(15)

        store._write_source = write_source_then_wait  # type: ignore[method-assign]


def in_thread(call: Callable[[], IngestReport]) -> tuple[threading.Thread, list[Any]]:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()))
    thread.start()
    return thread, result


def overlap(url: str, first: PostgresStore, first_poll: Callable[[], IngestReport],
            second_poll: Callable[[], IngestReport]) -> tuple[IngestReport, IngestReport]:
    """Run `second_poll` while `first_poll` holds its transaction open; both reports."""
    held = HeldOpen(first)
    thread_a, result_a = in_thread(first_poll)
    assert held.inside.wait(10)
    thread_b, result_b = in_thread(second_poll)
    wait_until_blocked(url, "worker-b")
    held.release.set()
    thread_a.join(15)
    thread_b.join(15)
    return result_a[0], result_b[0]


def test_two_workers_storing_two_copies_at_once_make_one_story(
    workers: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    a, b = workers
    wire = make_item("Wire", "guid:1", RELEASE[0], RELEASE[1])
    other = make_item("Other", "guid:7", "PRESS RELEASE: " + RELEASE[0], RELEASE[1],
                      published=wire.published + timedelta(minutes=5))
    first, second = overlap(
        postgres_url, a,
        lambda: a.record_poll(outcome("Wire", [record(wire, HIT)]), POLICY),
        lambda: b.record_poll(outcome("Other", [record(other, HIT)]), POLICY),
    )
    assert (first.new, second.new, second.merged) == (1, 1, 1)
    assert rows(a, "stories") == 1
    [story] = a.topic_stories("t", 10)
    assert story.story_id == wire.item_id
    assert [copy.source for copy in story.copies] == ["Other"]


def test_copies_joining_one_story_at_once_are_both_counted(
    workers: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    """Two copies that share nothing with each other (one by link, one by text) join a
    stored story at the same moment: the story is recomputed from both of them."""
    a, b = workers
    a.sync_sources([("Third", "https://third.example/f")])
    wire = make_item("Wire", "guid:1", RELEASE[0], RELEASE[1])
    a.record_poll(outcome("Wire", [record(wire)]), POLICY)
    by_link = make_item("Other", "guid:2", "Statement from the company",
                        "Read the announcement on our site.",
                        published=wire.published - timedelta(hours=2))
    by_link.canonical_link = wire.canonical_link
    by_text = make_item("Third", "guid:3", RELEASE[0], RELEASE[1],
                        published=wire.published - timedelta(hours=1))
    overlap(postgres_url, a,
            lambda: a.record_poll(outcome("Other", [record(by_link)]), POLICY),
            lambda: b.record_poll(outcome("Third", [record(by_text)]), POLICY))
    with a.transaction(write=False) as cur:
        cur.execute("SELECT story_id, primary_item_id, published FROM stories")
        assert cur.fetchall() == [(wire.item_id, by_link.item_id, by_link.published.timestamp())]
    assert len(a.story_items(wire.item_id)) == 3


def test_an_item_stored_concurrently_by_two_workers_is_one_row(
    workers: tuple[PostgresStore, PostgresStore], postgres_url: str
) -> None:
    """A worker whose lease lapsed mid-poll and the one that took over both store the
    same entry, the second with an edit: one row, the edit, in the first one's story."""
    a, b = workers
    original = make_item("Wire", "guid:1", RELEASE[0], RELEASE[1])
    edited = make_item("Wire", "guid:1", RELEASE[0] + " (corrected)", RELEASE[1])
    first, second = overlap(
        postgres_url, a,
        lambda: a.record_poll(outcome("Wire", [record(original, HIT)]), POLICY),
        lambda: b.record_poll(outcome("Wire", [record(edited, HIT)]), POLICY),
    )
    assert (first.new, second.new, second.updated) == (1, 0, 1)
    assert (rows(a, "items"), rows(a, "stories")) == (1, 1)
    assert rows(a, "story_bands") == len(set(record(original).fingerprint.bands))
    [story] = a.topic_stories("t", 10)
    assert story.story_id == original.item_id and story.primary.title.endswith("(corrected)")


def test_many_workers_storing_copies_at_once_never_split_a_story(postgres_url: str) -> None:
    """Six workers, each polling its own wire, all carry the same five releases plus
    news of their own, and all write at the same instant, round after round. Polls
    with few new items lock bands; bigger ones take the exclusive merge lock."""
    stores = [open_worker(postgres_url, f"wire-{n}") for n in range(6)]
    stores[0].sync_sources([(f"Wire {n}", f"https://wire{n}.example/") for n in range(6)])
    releases = [
        RELEASE,
        ("Orbital Pharma receives IND clearance for ORB-7 in lupus nephritis",
         "The FDA cleared Orbital's investigational new drug application, allowing a "
         "first-in-human trial of ORB-7 in kidney inflammation caused by lupus."),
        ("Kestrel Foods recalls frozen spinach over listeria concerns",
         "Kestrel Foods is voluntarily recalling 12,000 bags of frozen spinach sold in "
         "nine states after routine testing found Listeria monocytogenes."),
        ("City council approves new bicycle lanes along the harbour front",
         "After a two-hour debate the council voted 7 to 2 to build protected bicycle "
         "lanes on Harbour Street, with construction starting next spring."),
        ("Meridian Bank reports third-quarter profit above expectations",
         "Meridian Bank posted net income of 412 million euros for the quarter, helped by "
         "higher interest margins and lower provisions for bad loans."),
    ]
    lock_keys: list[int] = []

    def poll(n: int, round_: int, barrier: threading.Barrier) -> None:
        source = f"Wire {n}"
        title, text = releases[round_]
        items = [record(make_item(source, f"copy:{round_}", title, text))]
        items += [record(make_item(source, f"own:{round_}:{k}",
                                   f"{source} market note {round_}-{k} on rates and bonds",
                                   f"Unrelated market commentary number {k} from {source}."))
                  for k in range(n % 3 * 4)]  # 0, 4 or 8 more new items
        lock_keys.append(len({band_lock_key(key) for key in merge_keys(
            (r.fingerprint, r.item.canonical_link) for r in items)}))
        barrier.wait(10)
        stores[n].record_poll(outcome(source, items), POLICY)

    try:
        for round_ in range(len(releases)):
            barrier = threading.Barrier(len(stores))
            with ThreadPoolExecutor(len(stores)) as pool:
                list(pool.map(poll, range(len(stores)), [round_] * len(stores),
                              [barrier] * len(stores)))
        with stores[0].transaction(write=False) as cur:
            cur.execute("SELECT COUNT(DISTINCT story_id) FROM items WHERE item_key LIKE ?",
                        ("copy:%",))
            assert cur.fetchone()[0] == len(releases)
            cur.execute("SELECT COUNT(*) FROM items i LEFT JOIN stories s "
                        "ON s.story_id = i.story_id WHERE s.story_id IS NULL")
            assert cur.fetchone()[0] == 0  # every item's story exists
            cur.execute("SELECT COUNT(*) FROM stories s WHERE NOT EXISTS "
                        "(SELECT 1 FROM items i WHERE i.story_id = s.story_id)")
            assert cur.fetchone()[0] == 0  # and every story has items
            cur.execute("SELECT COUNT(*) FROM items")
            assert cur.fetchone()[0] == len(releases) * (len(stores) + 2 * 4 + 2 * 8)
    finally:
        for store in stores:
            store.close()
    assert min(lock_keys) <= MAX_BAND_LOCKS < max(lock_keys)  # both lock paths ran


def test_placeholders_leave_question_marks_and_percent_signs_in_values_alone(
    postgres_url: str,
) -> None:
    store = open_store(postgres_url)
    store.sync_sources([("Wire?%s", "https://wire.example/feed?a=1&b=%20")])
    item = make_item("Wire?%s", "guid:?%s", "Is 50% enough? Ask %s and ?", "100% sure? %(x)s")
    store.record_poll(outcome("Wire?%s", [record(item, HIT)]), POLICY)
    [stored] = store.find_items(item.item_id)
    assert (stored.source, stored.title, stored.summary_text) == (
        "Wire?%s", "Is 50% enough? Ask %s and ?", "100% sure? %(x)s")
    assert store.source_state("Wire?%s").url == "https://wire.example/feed?a=1&b=%20"
    store.close()


def test_processes_migrating_an_empty_database_at_once_queue_up(postgres_url: str) -> None:
    stores = [PostgresStore(postgres_url) for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    results: list[Any] = []

    def migrate(store: PostgresStore) -> None:
        barrier.wait(10)
        try:
            results.append(store.migrate())
        except Exception as error:  # noqa: BLE001 (asserted below)
            results.append(error)

    threads = [threading.Thread(target=migrate, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    latest = max(version for version, _ in load_migrations("postgresql"))
    assert results == [latest] * len(stores)
    for store in stores:
        store.close()


def test_a_connection_lost_mid_poll_is_retried_and_stores_once(postgres_url: str) -> None:
    store = open_store(postgres_url)
    store.sync_sources(SOURCES)
    original = store._write_source
    attempts: list[int] = []

    def killed_once(cur: Any, *args: Any) -> None:
        original(cur, *args)
        attempts.append(1)
        if len(attempts) == 1:  # the server ends the session before the commit
            cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    store._write_source = killed_once  # type: ignore[method-assign]
    items = [record(make_item("Wire", f"guid:{n}", f"Story {n} about topic {n}"), HIT)
             for n in range(5)]
    report = store.record_poll(outcome("Wire", items), POLICY)
    assert len(attempts) == 2 and report.new == 5
    assert (rows(store, "items"), rows(store, "matches")) == (5, 5)
    assert store.source_state("Wire").fetch_count == 1
    store.close()


@pytest.fixture
def proxy(postgres_server: str) -> Iterator[TCPProxy]:
    target = urlsplit(postgres_server)
    tcp = TCPProxy(target.hostname or "127.0.0.1", target.port or 5432)
    yield tcp
    tcp.close()


def through(proxy: TCPProxy, url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()


def test_a_server_that_goes_away_is_a_store_error_and_comes_back(
    postgres_url: str, proxy: TCPProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_engine, "RETRY_SECONDS", 2.0)
    store = PostgresStore(through(proxy, postgres_url), timeout=0.5)
    store.migrate()
    store.sync_sources(SOURCES)
    proxy.cut()  # every pooled connection dies: the next transaction still works
    assert store.source_state("Wire") is not None
    proxy.refuse()
    with clock.use(ManualClock()), pytest.raises(StoreError, match="still failing after"):
        # The backoff pauses pass on the manual clock: the retry budget runs out at once.
        store.record_poll(outcome("Wire", [record(make_item("Wire", "guid:1", "A"))]), POLICY)
    proxy.restore()
    report = store.record_poll(outcome("Wire", [record(make_item("Wire", "guid:1", "A"))]),
                               POLICY)
    assert report.new == 1
    store.close()


def test_the_service_reports_a_lost_database_in_readiness_and_recovers(
    postgres_url: str, proxy: TCPProxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from aggregator.run.service import Service

    monkeypatch.setattr(store_engine, "RETRY_SECONDS", 1.0)
    config = write_config(tmp_path / "config.toml", {"Wire": "https://wire.example/feed"})
    service = Service(load_config(config, environ={
        "AGGREGATOR_STORAGE_URL": through(proxy, postgres_url)}), config, role="web")
    assert service.readiness()["ready"] is True
    proxy.refuse()
    checks = service.readiness()
    assert checks["ready"] is False and str(checks["store"]).startswith("unreachable: ")
    asyncio.run(service.tick())  # a poll cycle with no database: reported, not raised
    assert service.store_error and "PostgreSQL at" in service.store_error
    proxy.restore()
    asyncio.run(service.tick())
    assert service.store_error is None and service.readiness()["ready"] is True
    service.store.close()


def test_aggregator_migrate_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {"Wire": "https://wire.example/feed"})
    latest = max(version for version, _ in load_migrations("postgresql"))
    result = run_cli("migrate", "--config", str(config),
                     env={"AGGREGATOR_STORAGE_URL": postgres_url})
    assert result.stdout.strip() == f"schema version {latest} (postgresql)"
    unreachable = run_cli("migrate", "--config", str(config), check=False, env={
        "AGGREGATOR_STORAGE_URL": "postgresql://aggregator:secret@127.0.0.1:9/nowhere"})
    assert unreachable.returncode == 2
    assert unreachable.stderr.splitlines()[-1].startswith(
        "store error: PostgreSQL at postgresql://aggregator:***@127.0.0.1:9/nowhere: ")
    assert "secret" not in unreachable.stderr and "Traceback" not in unreachable.stderr


def test_merge_locks_of_separate_schemas_never_wait_for_each_other(postgres_server: str) -> None:
    # More bands than MAX_BAND_LOCKS: each store takes its merge lock exclusively.
    base = record(make_item("Wire", "guid:1", RELEASE[0], RELEASE[1]))
    new = ItemRecord(base.item, dataclasses.replace(base.fingerprint, bands=tuple(
        f"{n % 32}:{n:012x}" for n in range(MAX_BAND_LOCKS + 1))), base.matches)
    with postgres_schema(postgres_server) as url_a, postgres_schema(postgres_server) as url_b:
        stores = [open_store(url) for url in (url_a, url_b, url_a)]
        a, b, a_again = stores  # type: ignore[misc]
        try:
            with a.transaction() as held:
                a._lock_bands(held, [(new.fingerprint, None)])
                with b.transaction() as other:  # another deployment: goes straight through
                    other.execute("SET LOCAL lock_timeout = '2s'")
                    b._lock_bands(other, [(new.fingerprint, None)])
                with (pytest.raises(TransientStoreError, match="lock timeout"),
                      a_again.transaction() as same):  # the same deployment: waits
                    same.execute("SET LOCAL lock_timeout = '200ms'")
                    a_again._lock_bands(same, [(new.fingerprint, None)])
        finally:
            for store in stores:
                store.close()


def test_two_late_joins_of_one_item_at_once_leave_one_consistent_result(
    postgres_url: str,
) -> None:
    """A re-match and a poll's edit both fingerprint an out-of-scope item at once, with
    fingerprints that share no band (no lock keeps them apart): the second one waits on
    the row, then finds it fingerprinted and leaves it where the first one put it."""
    first, second = open_store(postgres_url), open_store(postgres_url)
    first.sync_sources([("Wire", "https://wire.example/f"), ("Other", "https://other.example/f")])
    wire, other = two_copies()
    first.record_poll(outcome("Wire", [record(wire, {"t": []})]), POLICY)
    first.record_poll(outcome("Other", [ItemRecord(other, None, {})]), POLICY)
    at = other.published.timestamp()
    copy = LateFingerprint(other.item_id, None, at, stored_fingerprint(
        first.find_items(other.item_id)[0]))  # a copy of the Wire release
    rewrite = LateFingerprint(other.item_id, None, at, fingerprint(
        "Zeta Corp names a new chief financial officer", "Zeta Corp appointed a CFO today."))
    read_it = threading.Event()
    result: dict[str, str | None] = {}

    def join_the_rewrite() -> None:
        with second.transaction() as cur:
            read_it.wait(10)  # starts after the first transaction has moved the item
            result["second"] = second._join_story(cur, rewrite, POLICY)  # waits on the row

    try:
        with first.transaction() as cur:
            result["first"] = first._join_story(cur, copy, POLICY)
            waiting = threading.Thread(target=join_the_rewrite)
            waiting.start()
            read_it.set()
            time.sleep(0.5)  # the second transaction is now blocked on the item's row
        waiting.join(10)
        assert result == {"first": wire.item_id, "second": wire.item_id}
        assert [i.story_id for i in first.find_items(other.item_id)] == [wire.item_id]
        assert rows(first, "stories") == 1
        assert rows(first, "story_bands") == 2 * len(set(copy.fingerprint.bands))
    finally:
        first.close()
        second.close()
