"""The store on SQLite: identity, updates in place, atomic polls, migrations."""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.core.dedupe import fingerprint
from aggregator.core.normalize import item_id_for
from aggregator.models import Item, ItemRecord, MergePolicy, PollOutcome, TermHit
from aggregator.store import open_store
from aggregator.store.migrate import load_migrations
from aggregator.store.sqlite import READ_CACHE_KIB, WRITE_CACHE_KIB, SQLiteStore

POLICY = MergePolicy()


def make_item(source: str, key: str, title: str, summary: str = "Some text about it.",
              published: datetime | None = None, content_hash: str | None = None) -> Item:
    return Item(
        item_id=item_id_for(source, key), source=source, key=key,
        link=f"https://{source.lower().replace(' ', '')}.example/{key}",
        canonical_link=f"https://{source.lower().replace(' ', '')}.example/{key}",
        title=title, summary_html=f"<p>{summary}</p>", content_html="",
        title_text=title, summary_text=summary, content_text="", author=None, categories=[],
        published=published or datetime(2026, 11, 10, 12, tzinfo=UTC), updated=None,
        content_hash=content_hash or f"h-{title}-{summary}",
    )


def record(item: Item, topics: dict[str, list[TermHit]] | None = None) -> ItemRecord:
    return ItemRecord(item, fingerprint(item.title_text, item.summary_text), topics or {})


def outcome(source: str, items: list[ItemRecord], etag: str | None = "e1") -> PollOutcome:
    return PollOutcome(source=source, attempted_at=time.time(), status="ok", elapsed=0.1,
                       next_poll=time.time() + 60, etag=etag, items=items)


@pytest.fixture
def store(tmp_path: Path) -> SQLiteStore:
    s = open_store(f"sqlite:///{tmp_path}/store.db")
    s.sync_sources([("Wire", "https://wire.example/feed"), ("Other", "https://other.example/f")])
    yield s
    s.close()


def test_migrations_record_schema_version(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/x.db")
    latest = max(version for version, _ in load_migrations("sqlite"))
    assert store.schema_version() == latest
    assert store.migrate() == latest  # idempotent
    with sqlite3.connect(tmp_path / "x.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    store.close()


def test_item_stored_once_per_source_and_updated_in_place(store: SQLiteStore) -> None:
    hit = {"t": [TermHit("CAR-T", "title")]}
    item = make_item("Wire", "guid:1", "CAR-T first patient dosed in lupus study")
    report = store.record_poll(outcome("Wire", [record(item, hit)]), POLICY)
    assert (report.new, report.updated) == (1, 0)
    report = store.record_poll(outcome("Wire", [record(item, hit)]), POLICY)
    assert (report.new, report.updated, report.unchanged) == (0, 0, 1)
    edited = make_item("Wire", "guid:1", "CAR-T first patient dosed in lupus study (corrected)")
    report = store.record_poll(outcome("Wire", [record(edited, hit)]), POLICY)
    assert (report.new, report.updated) == (0, 1)
    assert store.counts()["items"] == 1
    stories = store.topic_stories("t", 10)
    assert stories[0].story_id == item.item_id
    assert stories[0].primary.title.endswith("(corrected)")
    assert stories[0].primary.updated is not None


def test_poll_is_atomic_a_crash_loses_nothing_and_keeps_old_validators(
    store: SQLiteStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_item("Wire", "guid:1", "Story one about a biotech")
    store.record_poll(outcome("Wire", [record(first)], etag="old"), POLICY)
    second = make_item("Wire", "guid:2", "Story two about something else entirely")
    original = SQLiteStore._write_source

    def crash(self, *args, **kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(SQLiteStore, "_write_source", crash)
    with pytest.raises(RuntimeError):
        store.record_poll(outcome("Wire", [record(second)], etag="new"), POLICY)
    monkeypatch.setattr(SQLiteStore, "_write_source", original)
    assert store.counts()["items"] == 1  # the half-written poll left nothing behind
    assert store.source_state("Wire").etag == "old"  # so the next poll refetches it
    report = store.record_poll(outcome("Wire", [record(first), record(second)], etag="new"),
                               POLICY)
    assert (report.new, report.unchanged) == (1, 1)
    assert store.counts()["items"] == 2


def test_topic_version_changes_only_with_the_topic(store: SQLiteStore) -> None:
    hit = {"t": [TermHit("lupus", "title")]}
    store.record_poll(outcome("Wire", [record(make_item("Wire", "guid:1", "Lupus news"), hit)]),
                      POLICY)
    version = store.topic_version("t")
    store.record_poll(outcome("Wire", [record(make_item("Wire", "guid:2", "Unrelated"))]), POLICY)
    assert store.topic_version("t") == version
    store.record_poll(outcome("Wire", [record(make_item("Wire", "guid:3", "More lupus"), hit)]),
                      POLICY)
    assert store.topic_version("t") > version


def test_failures_counted_and_reset(store: SQLiteStore) -> None:
    failed = PollOutcome(source="Wire", attempted_at=time.time(), status="error", elapsed=0.2,
                         next_poll=time.time() + 60, error="HTTP 500", http_status=500)
    store.record_poll(failed, POLICY)
    store.record_poll(failed, POLICY)
    state = store.source_state("Wire")
    assert (state.consecutive_failures, state.last_error) == (2, "HTTP 500")
    store.record_poll(outcome("Wire", []), POLICY)
    state = store.source_state("Wire")
    assert (state.consecutive_failures, state.last_error) == (0, None)
    assert state.fetch_count == 3 and state.mean_fetch_seconds == pytest.approx(0.5 / 3)


def test_permanent_redirect_and_gone(store: SQLiteStore) -> None:
    moved = outcome("Wire", [])
    moved.new_url = "https://wire.example/new-feed"
    store.record_poll(moved, POLICY)
    state = store.source_state("Wire")
    assert state.current_url == "https://wire.example/new-feed"
    assert state.redirected_from == "https://wire.example/feed"
    gone = PollOutcome(source="Other", attempted_at=time.time(), status="gone", elapsed=0.1,
                       next_poll=time.time(), error="410 Gone", disable_reason="410 Gone")
    store.record_poll(gone, POLICY)
    state = store.source_state("Other")
    assert not state.enabled and state.disabled_reason == "410 Gone"
    assert store.claim_due_sources("me", time.time() + 120, 60, ["Wire", "Other"], 10) == ["Wire"]


def test_leases_keep_two_workers_apart(store: SQLiteStore) -> None:
    now = time.time()
    first = store.claim_due_sources("worker-a", now, 60, ["Wire", "Other"], 10)
    assert sorted(first) == ["Other", "Wire"]
    assert store.claim_due_sources("worker-b", now, 60, ["Wire", "Other"], 10) == []
    # A dead worker's leases lapse and the sources are taken over.
    assert sorted(store.claim_due_sources("worker-b", now + 61, 60, ["Wire", "Other"], 10)) == [
        "Other", "Wire"]


def test_purge_removes_old_items(store: SQLiteStore) -> None:
    old = make_item("Wire", "guid:old", "Old story", published=datetime(2020, 1, 1, tzinfo=UTC))
    new = make_item("Wire", "guid:new", "New story")
    store.record_poll(outcome("Wire", [record(old), record(new)]), POLICY)
    assert store.purge(datetime(2021, 1, 1, tzinfo=UTC).timestamp()) == 1
    assert store.counts() == {"sources": 2, "items": 1, "stories": 1, "matches": 0}


def test_only_a_connection_that_writes_gets_the_large_page_cache(store: SQLiteStore) -> None:
    """Each thread has its own connection; a reading thread (web requests, the poll's
    read thread) must not hold the writer's 64 MB of cache."""
    sizes: dict[str, int] = {}

    def cache_size(name: str, write: bool) -> None:
        with store.transaction(write=write) as cur:
            cur.execute("PRAGMA cache_size")
            sizes[name] = cur.fetchone()[0]

    reader = threading.Thread(target=cache_size, args=("reader", False))
    writer = threading.Thread(target=cache_size, args=("writer", True))
    for thread in (reader, writer):
        thread.start()
        thread.join(10)
    assert sizes == {"reader": -READ_CACHE_KIB, "writer": -WRITE_CACHE_KIB}
    assert READ_CACHE_KIB < WRITE_CACHE_KIB
