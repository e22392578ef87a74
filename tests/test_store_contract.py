"""The store contract, on both engines: every test here runs on SQLite and PostgreSQL.

The engine-neutral tests of `test_store.py` are imported so they run here on both
engines too; the ones below add what several processes sharing one store rely on.
"""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.core.dedupe import fingerprint, fingerprint_item, stored_fingerprint
from aggregator.models import Item, ItemRecord, LateFingerprint, MergePolicy, TermHit
from aggregator.store import SQLStore, StoreError, open_store
from aggregator.store import engine as store_engine
from aggregator.store.migrate import load_migrations
from aggregator.store.sqlite import SQLiteStore
from tests.test_store import (  # noqa: F401 (collected here, on both engines)
    make_item,
    outcome,
    record,
    test_failures_counted_and_reset,
    test_item_stored_once_per_source_and_updated_in_place,
    test_leases_keep_two_workers_apart,
    test_permanent_redirect_and_gone,
    test_purge_removes_old_items,
    test_topic_version_changes_only_with_the_topic,
)

POLICY = MergePolicy()
RELEASE = ("Nuvexa Bio doses first patient with allogeneic CAR-T NVX-201 in lupus",
           "Nuvexa Bio today announced that the first patient has been dosed in its phase 1 "
           "study of NVX-201, an allogeneic CAR-T cell therapy, in refractory systemic lupus.")


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    s = open_store(store_url)
    s.sync_sources([("Wire", "https://wire.example/feed"), ("Other", "https://other.example/f")])
    yield s
    s.close()


def two_copies() -> tuple[Item, Item]:
    """RELEASE on Wire, and an hour later on Other with a wire's title prefix."""
    wire = make_item("Wire", "guid:1", RELEASE[0], RELEASE[1])
    other = make_item("Other", "guid:9", "PRESS RELEASE: " + RELEASE[0], RELEASE[1],
                      published=wire.published + timedelta(hours=1))
    return wire, other


def rows(store: SQLStore, table: str) -> int:
    with store.transaction(write=False) as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cur.fetchone()[0])


def test_migrations_are_versioned_and_run_once(store_url: str) -> None:
    first = open_store(store_url, migrate=False)
    latest = max(version for version, _ in load_migrations(first.engine))
    assert latest >= 4
    assert first.schema_version() == 0
    assert first.migrate() == latest
    second = open_store(store_url)  # a second process starting later: nothing to do
    assert second.schema_version() == latest
    with second.transaction(write=False) as cur:
        cur.execute("SELECT version FROM schema_version ORDER BY version")
        assert [row[0] for row in cur.fetchall()] == list(range(1, latest + 1))
    first.close()
    second.close()


def band_indexes(store: SQLStore) -> set[str]:
    """Indexes on story_bands besides its primary key."""
    with store.transaction(write=False) as cur:
        if store.engine == "sqlite":
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name = 'story_bands' AND sql IS NOT NULL")
        else:
            cur.execute("SELECT c.relname FROM pg_index x JOIN pg_class c "
                        "ON c.oid = x.indexrelid WHERE x.indrelid = 'story_bands'::regclass "
                        "AND NOT x.indisprimary")
        return {row[0] for row in cur.fetchall()}


def test_every_engine_has_every_migration_version() -> None:
    for engine in ("sqlite", "postgresql"):
        versions = [version for version, _ in load_migrations(engine)]
        assert versions == list(range(1, len(versions) + 1))
    assert len(load_migrations("sqlite")) == len(load_migrations("postgresql"))


def test_the_band_index_is_one_btree(store: SQLStore) -> None:
    """34 rows per new item land here: no index but the key (retention deletes by it),
    and on SQLite the key is the table itself."""
    assert band_indexes(store) == set()
    if store.engine == "sqlite":
        with store.transaction(write=False) as cur:
            cur.execute("SELECT sql FROM sqlite_master WHERE name = 'story_bands'")
            assert cur.fetchone()[0].rstrip().endswith("WITHOUT ROWID")


# The layout migrations 1-2 made, before 0003 (story_bands' covering key, the link index).
SCHEMA_V2 = [
    "CREATE TABLE story_bands_v2 (band TEXT NOT NULL, item_id TEXT NOT NULL, "
    "story_id TEXT NOT NULL, published DOUBLE PRECISION NOT NULL, PRIMARY KEY (band, item_id))",
    "INSERT INTO story_bands_v2 SELECT b.band, b.item_id, i.story_id, b.published "
    "FROM story_bands b JOIN items i ON i.item_id = b.item_id",
    "DROP TABLE story_bands",
    "ALTER TABLE story_bands_v2 RENAME TO story_bands",
    "CREATE INDEX story_bands_band_published ON story_bands (band, published)",
    "CREATE INDEX story_bands_item ON story_bands (item_id)",
    "DROP INDEX items_canonical_link_published",
    "CREATE INDEX items_canonical_link ON items (canonical_link)",
    "DROP TABLE story_decisions",  # 0005
    "DROP TABLE topic_curation",  # 0007
    "DROP TABLE webhook_deliveries",
    "DROP TABLE webhook_cursor",
    "DROP TABLE websub_subscriptions",  # 0008
    "DELETE FROM schema_version WHERE version >= 3",
]
# 0006, the full-text index, as each engine builds it.
UNSEARCHABLE = {
    "sqlite": ["DROP TRIGGER items_fts_insert", "DROP TRIGGER items_fts_delete",
               "DROP TRIGGER items_fts_update", "DROP TABLE items_fts"],
    "postgresql": ["ALTER TABLE items DROP COLUMN search_vector"],
}


def test_a_store_of_an_earlier_schema_keeps_its_bands_and_merges_after_migrating(
    store_url: str,
) -> None:
    wire, other = two_copies()
    old = open_store(store_url)
    old.record_poll(outcome("Wire", [record(wire)]), POLICY)
    bands = rows(old, "story_bands")
    with old.transaction() as cur:  # back to the layout of the release before
        for statement in [*UNSEARCHABLE[old.engine], *SCHEMA_V2]:
            cur.execute(statement)
    assert old.schema_version() == 2
    old.close()
    upgraded = open_store(store_url)
    try:
        assert upgraded.schema_version() == load_migrations(upgraded.engine)[-1][0] >= 4
        assert rows(upgraded, "story_bands") == bands > 0
        assert band_indexes(upgraded) == set()
        report = upgraded.record_poll(outcome("Other", [record(other)]), POLICY)
        assert (report.new, report.merged) == (1, 1)  # found through the migrated bands
        assert rows(upgraded, "stories") == 1
    finally:
        upgraded.close()


def test_repeating_a_poll_never_adds_a_row(store: SQLStore) -> None:
    items = [record(make_item("Wire", f"guid:{n}", title), {"t": [TermHit("x", "title")]})
             for n, title in enumerate(["Alpha trial starts in lupus patients",
                                        "Beta company raises money for new plant",
                                        "Gamma drug approved for psoriasis in Europe"])]
    reports = [store.record_poll(outcome("Wire", items), POLICY) for _ in range(3)]
    assert [(r.new, r.unchanged) for r in reports] == [(3, 0), (0, 3), (0, 3)]
    bands = sum(len(set(r.fingerprint.bands)) for r in items)
    assert (rows(store, "items"), rows(store, "stories"), rows(store, "matches"),
            rows(store, "story_bands")) == (3, 3, 3, bands)
    assert store.topic_version("t") == 1  # the repeats changed nothing a reader sees


def test_copies_on_two_sources_are_one_story(store: SQLStore) -> None:
    wire, other = two_copies()
    store.record_poll(outcome("Wire", [record(wire, {"t": [TermHit("CAR-T", "title")]})]),
                      POLICY)
    report = store.record_poll(
        outcome("Other", [record(other, {"t": [TermHit("lupus", "summary")]})]), POLICY)
    assert (report.new, report.merged) == (1, 1)
    assert rows(store, "stories") == 1
    [story] = store.topic_stories("t", 10)
    assert story.story_id == wire.item_id and story.primary.source == "Wire"
    assert [copy.source for copy in story.copies] == ["Other"]
    assert [hit.term for hit in story.hits] == ["CAR-T", "lupus"]
    preferred = MergePolicy(source_preference=("Other",))
    edited = make_item("Other", "guid:9", "PRESS RELEASE: " + RELEASE[0], RELEASE[1] + " More.",
                       published=other.published)
    store.record_poll(outcome("Other", [record(edited)]), preferred)
    assert store.topic_stories("t", 10)[0].primary.source == "Other"


def unfingerprinted(item: Item, topics: dict[str, list[TermHit]] | None = None) -> ItemRecord:
    """An item outside the dedupe scope, as a document worker sends it."""
    return ItemRecord(item, None, topics or {})


def band_rows(store: SQLStore, item_id: str) -> int:
    with store.transaction(write=False) as cur:
        cur.execute("SELECT COUNT(*) FROM story_bands WHERE item_id = ?", (item_id,))
        return int(cur.fetchone()[0])


def test_an_item_outside_the_dedupe_scope_joins_its_story_once_a_topic_takes_it_in(
    store: SQLStore,
) -> None:
    early, later = two_copies()
    store.record_poll(outcome("Wire", [unfingerprinted(early, {"t": []})]), POLICY)
    assert band_rows(store, early.item_id) == 0
    # Not a candidate for a copy in scope, not even by its canonical link.
    later = dataclasses.replace(later, canonical_link=early.canonical_link)
    report = store.record_poll(outcome("Other", [record(later, {"t": []})]), POLICY)
    assert (report.new, report.merged, rows(store, "stories")) == (1, 0, 2)
    [stored] = store.find_items(early.item_id)
    assert not stored.fingerprinted
    # From the stored text, the fingerprint a document worker would have made.
    assert stored_fingerprint(stored) == fingerprint_item(early)
    version = store.topic_version("t")

    late = LateFingerprint(early.item_id, early.canonical_link, early.published.timestamp(),
                           stored_fingerprint(stored))
    gone = dataclasses.replace(late, item_id="purged meanwhile")
    assert store.join_stories([late, gone], POLICY) == {early.item_id: later.item_id}
    bands = band_rows(store, early.item_id)
    assert rows(store, "stories") == 1 and bands > 0
    assert store.topic_version("t") == version + 1  # the feed's story gained a copy
    # Another worker re-matching after the same config change finds it done.
    assert store.join_stories([late], POLICY) == {early.item_id: later.item_id}
    assert rows(store, "stories") == 1 and band_rows(store, early.item_id) == bands
    [story] = store.topic_stories("t", 10)
    # The story keeps its id; the earlier copy becomes its primary, the matches follow.
    assert story.story_id == later.item_id and story.primary.item_id == early.item_id
    assert [copy.source for copy in story.copies] == ["Other"]
    assert store.find_items(early.item_id)[0].fingerprinted
    assert store.purge(early.published.timestamp() + 1) == 1  # its bands go with it
    assert band_rows(store, early.item_id) == 0


def test_an_edit_that_brings_an_item_into_the_dedupe_scope_merges_it(store: SQLStore) -> None:
    wire = make_item("Wire", "guid:1", RELEASE[0], RELEASE[1])
    teaser = make_item("Other", "guid:9", "Nuvexa Bio doses first patient", "More soon.",
                       published=wire.published + timedelta(hours=1))
    store.record_poll(outcome("Wire", [record(wire, {"t": []})]), POLICY)
    store.record_poll(outcome("Other", [unfingerprinted(teaser)]), POLICY)
    full = make_item("Other", "guid:9", "PRESS RELEASE: " + RELEASE[0], RELEASE[1],
                     published=teaser.published)
    report = store.record_poll(outcome("Other", [record(full, {"t": []})]), POLICY)
    assert (report.new, report.updated, rows(store, "stories")) == (0, 1, 1)
    [story] = store.topic_stories("t", 10)
    assert story.story_id == wire.item_id
    assert [copy.source for copy in story.copies] == ["Other"]
    assert band_rows(store, teaser.item_id) > 0


def test_an_edit_takes_the_publishers_updated_date(store: SQLStore) -> None:
    """Re-reading the same feed revision gives the same dates, in any process."""
    published = datetime(2026, 11, 10, 12, tzinfo=UTC)
    first = make_item("Wire", "guid:1", "Orbital gets IND clearance", published=published)
    first.updated = published
    store.record_poll(outcome("Wire", [record(first, {"t": []})]), POLICY)
    edited = make_item("Wire", "guid:1", "Orbital gets IND clearance (corrected)",
                       published=published)
    edited.updated = published + timedelta(hours=3)
    store.record_poll(outcome("Wire", [record(edited, {"t": []})]), POLICY)
    [story] = store.topic_stories("t", 10)
    assert story.primary.updated == story.updated == edited.updated.timestamp()
    # An edit whose entry date did not move is dated when it was seen.
    silent = make_item("Wire", "guid:1", "Orbital gets IND clearance (again)", published=published)
    silent.updated = edited.updated
    before = time.time()
    store.record_poll(outcome("Wire", [record(silent, {"t": []})]), POLICY)
    assert store.topic_stories("t", 10)[0].primary.updated >= before


def test_claims_cover_thousands_of_sources_and_leases_renew(store: SQLStore) -> None:
    names = [f"feed-{n:04d}" for n in range(1200)]
    store.sync_sources([(name, f"https://example.org/{name}") for name in names])
    now = time.time()
    first = store.claim_due_sources("a", now, 30, names, 1000)
    rest = store.claim_due_sources("b", now, 30, names, 1000)
    assert len(first) == 1000 and len(rest) == 200 and not set(first) & set(rest)
    assert store.claim_due_sources("c", now + 29, 30, names, 1000) == []
    assert store.renew_leases("a", now + 90) == 1000
    taken_over = store.claim_due_sources("c", now + 31, 30, names, 2000)
    assert sorted(taken_over) == sorted(rest)  # a's renewed leases still hold
    store.release_leases("a")
    assert len(store.claim_due_sources("c", now + 32, 30, names, 2000)) == 1200


def test_purge_leaves_no_orphan_bands_or_stories(store: SQLStore) -> None:
    old = make_item("Wire", "guid:old", RELEASE[0], RELEASE[1],
                    published=datetime(2020, 1, 1, tzinfo=UTC))
    new = make_item("Other", "guid:new", "Gamma drug approved for psoriasis in Europe")
    store.record_poll(outcome("Wire", [record(old)]), POLICY)
    store.record_poll(outcome("Other", [record(new)]), POLICY)
    assert store.purge(datetime(2021, 1, 1, tzinfo=UTC).timestamp()) == 1
    with store.transaction(write=False) as cur:
        cur.execute("SELECT COUNT(*) FROM story_bands WHERE item_id = ?", (old.item_id,))
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT story_id FROM stories")
        assert [row[0] for row in cur.fetchall()] == [new.item_id]
    assert rows(store, "story_bands") == len(set(fingerprint(new.title_text,
                                                             new.summary_text).bands))


def test_purge_bumps_the_versions_of_the_topics_it_took_stories_from(store: SQLStore) -> None:
    old = make_item("Wire", "guid:old", RELEASE[0], RELEASE[1],
                    published=datetime(2020, 1, 1, tzinfo=UTC))
    new = make_item("Other", "guid:new", "Gamma drug approved for psoriasis in Europe")
    store.record_poll(outcome("Wire", [record(old, {"lupus": [TermHit("lupus", "title")]})]),
                      POLICY)
    store.record_poll(outcome("Other", [record(new, {"skin": [TermHit("psoriasis", "title")]})]),
                      POLICY)
    lupus, skin = store.topic_version("lupus"), store.topic_version("skin")
    changed = store.topic_changed_at("lupus")
    assert store.purge(datetime(2021, 1, 1, tzinfo=UTC).timestamp()) == 1
    assert store.topic_version("lupus") == lupus + 1  # its cached feeds re-render
    assert store.topic_changed_at("lupus") >= changed  # and Last-Modified moves on
    assert store.topic_version("skin") == skin  # untouched
    assert store.topic_stories("lupus", 10) == []
    assert store.purge(datetime(2021, 1, 1, tzinfo=UTC).timestamp()) == 0
    assert store.topic_version("lupus") == lupus + 1  # nothing removed, nothing to re-render


# -- a locked SQLite file (PostgreSQL's lost connections: test_postgres.py) ---------------


@pytest.fixture
def locker(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """Another process's connection to the store file, able to hold its write lock."""
    open_store(f"sqlite:///{tmp_path}/store.db").close()
    connection = sqlite3.connect(tmp_path / "store.db", isolation_level=None,
                                 check_same_thread=False)
    yield connection
    connection.close()


def test_sqlite_retries_a_locked_database_with_backoff(
    tmp_path: Path, locker: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "store.db", busy_timeout=0.05)
    store.sync_sources([("Wire", "https://wire.example/feed")])
    locker.execute("BEGIN IMMEDIATE")
    threading.Timer(0.6, locker.commit).start()  # the other process's lock is real
    report = store.record_poll(outcome("Wire", [record(make_item("Wire", "guid:1", "A"))]),
                               POLICY)
    assert report.new == 1
    assert "failed, retrying" in caplog.text and "database is locked" in caplog.text
    store.close()


def test_sqlite_locked_for_too_long_is_a_store_error_not_a_crash(
    tmp_path: Path, locker: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_engine, "RETRY_SECONDS", 0.5)
    store = SQLiteStore(tmp_path / "store.db", busy_timeout=0.05)
    locker.execute("BEGIN IMMEDIATE")
    with pytest.raises(StoreError, match="database is locked .*still failing after"):
        store.sync_sources([("Wire", "https://wire.example/feed")])
    locker.commit()
    store.sync_sources([("Wire", "https://wire.example/feed")])
    assert store.source_state("Wire") is not None
    store.close()
