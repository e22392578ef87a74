"""Full-text search in the store, on SQLite (FTS5) and PostgreSQL (tsvector): the topics'
query language, ranked, kept in step with edits and retention, indexing what was stored
before the migration, and safe against query text that is engine syntax."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from aggregator.core.match.query import QuerySyntaxError, parse_query
from aggregator.models import Item, TermHit
from aggregator.store import SQLStore, open_store
from aggregator.store.fulltext import SearchQueryError
from aggregator.store.migrate import VERSION_TABLE, load_migrations, split_statements
from aggregator.store.search import MARK_START, SearchResult, snippet_parts
from tests.test_store import POLICY, make_item, outcome, record

DAY = datetime(2026, 11, 10, 12, tzinfo=UTC)
OLD = datetime(2026, 10, 1, 12, tzinfo=UTC)
GROUPS = {"therapy": ["CAR-T", "gene therapy"]}


def item(
    source: str,
    key: str,
    title: str,
    summary: str,
    *,
    content: str = "",
    author: str | None = None,
    categories: tuple[str, ...] = (),
    published: datetime = DAY,
) -> Item:
    made = make_item(source, key, title, summary, published=published)
    return replace(made, content_text=content, author=author, categories=list(categories))


ITEMS = [
    item(
        "Wire",
        "1",
        "CAR-T therapy puts lupus into remission",
        "Patients with severe lupus stopped all medication.",
        author="Ann Reporter",
        categories=("Health",),
    ),
    item(
        "Wire",
        "2",
        "Quarterly results beat forecasts",
        "The company reported revenue growth.",
        content="A note mentions lupus once.",
    ),
    item(
        "Wire",
        "3",
        "Mouse study of lupus antibodies",
        "Researchers tested antibodies in mice.",
        categories=("Science",),
    ),
    item(
        "Other",
        "4",
        "Gene therapy approval expected",
        "Regulators review the gene therapy filing.",
        author="Bo Writer",
    ),
    item("Wire", "5", "Old lupus trial news", "An old story about lupus.", published=OLD),
]


def titles(results: list[SearchResult]) -> list[str]:
    return [result.best.title for result in results]


def search(store: SQLStore, query: str, **options: object) -> list[str]:
    return titles(store.search(parse_query(query), groups=GROUPS, **options))  # type: ignore[arg-type]


@pytest.fixture
def store(store_url: str) -> Iterator[SQLStore]:
    opened = open_store(store_url)
    opened.sync_sources([("Wire", "https://wire.example/f"), ("Other", "https://other.example/f")])
    hit = {"lupus": [TermHit("lupus", "title")]}
    opened.record_poll(
        outcome(
            "Wire", [record(i, hit if i.key == "1" else {}) for i in ITEMS if i.source == "Wire"]
        ),
        POLICY,
    )
    opened.record_poll(outcome("Other", [record(ITEMS[3])]), POLICY)
    yield opened
    opened.close()


def test_ranked_by_where_the_words_are(store: SQLStore) -> None:
    found = search(store, "lupus")
    # Title and summary hits before a passing mention in the body.
    assert set(found[:3]) == {
        "CAR-T therapy puts lupus into remission",
        "Mouse study of lupus antibodies",
        "Old lupus trial news",
    }
    assert found[3] == "Quarterly results beat forecasts"
    assert len(found) == 4


def test_the_query_language(store: SQLStore) -> None:
    assert search(store, '"gene therapy"') == ["Gene therapy approval expected"]
    assert search(store, "lupus AND remission") == ["CAR-T therapy puts lupus into remission"]
    assert set(search(store, "remission OR antibodies")) == {
        "CAR-T therapy puts lupus into remission",
        "Mouse study of lupus antibodies",
    }
    assert "Mouse study of lupus antibodies" not in search(store, "lupus NOT mouse")
    assert len(search(store, "lupus NOT (mouse OR old)")) == 2
    assert set(search(store, "title:lupus NOT title:old")) == {
        "CAR-T therapy puts lupus into remission",
        "Mouse study of lupus antibodies",
    }
    assert search(store, "title:note") == []  # only in the content
    assert search(store, "content:note") == ["Quarterly results beat forecasts"]
    assert search(store, "author:reporter") == ["CAR-T therapy puts lupus into remission"]
    assert search(store, "source:other") == ["Gene therapy approval expected"]
    assert search(store, "category:science") == ["Mouse study of lupus antibodies"]
    assert search(store, "CAR-T") == ["CAR-T therapy puts lupus into remission"]
    assert set(search(store, "@therapy")) == {
        "CAR-T therapy puts lupus into remission",
        "Gene therapy approval expected",
    }
    assert search(store, "remissions") == ["CAR-T therapy puts lupus into remission"]  # stems


def test_topic_and_since_narrow_the_search(store: SQLStore) -> None:
    assert search(store, "lupus", topic="lupus") == ["CAR-T therapy puts lupus into remission"]
    assert "Old lupus trial news" not in search(store, "lupus", since=DAY.timestamp() - 86400)
    assert len(search(store, "lupus", limit=2)) == 2


def test_snippets_mark_the_words_found(store: SQLStore) -> None:
    [result] = store.search(parse_query("medication"))
    assert (" medication", True) in [
        (f" {text}", match) for text, match in snippet_parts(result.best.snippet)
    ]
    assert MARK_START in result.best.snippet
    assert result.best.source == "Wire" and result.story_id == result.best.story_id


def test_edits_and_retention_keep_the_index_in_step(store: SQLStore) -> None:
    rat = "Rat study of lupus antibodies"
    edited = replace(ITEMS[2], title=rat, title_text=rat, content_hash="h2")
    store.record_poll(outcome("Wire", [record(edited)]), POLICY)
    assert search(store, "mouse") == []
    assert search(store, "rat") == ["Rat study of lupus antibodies"]
    store.purge(DAY.timestamp() - 86400)
    assert search(store, "old") == []
    assert len(search(store, "lupus")) == 3
    if store.engine == "sqlite":  # the index holds exactly the rows' text, nothing stale
        with store.transaction() as cur:
            cur.execute("INSERT INTO items_fts (items_fts, rank) VALUES ('integrity-check', 1)")


def test_copies_of_one_story_are_one_result(store: SQLStore) -> None:
    copy = item(
        "Other",
        "6",
        "CAR-T therapy puts lupus into remission",
        "Patients with severe lupus stopped all medication.",
    )
    store.record_poll(outcome("Other", [record(copy)]), POLICY)
    [result] = store.search(parse_query("medication"))
    assert {hit.source for hit in result.hits} == {"Wire", "Other"}


ENGINE_SYNTAX = [
    "NEAR(lupus", "lupus*", "^lupus", "title_text", "x' OR '1'='1", "a;DROP TABLE items",
    "{title_text}", "lupus:*", "'lupus' & !mouse", "\\x", "@@", "%s", "?",
]  # fmt: skip


def test_engine_syntax_in_a_query_is_only_text(store: SQLStore) -> None:
    for query in ENGINE_SYNTAX:
        try:
            tree = parse_query(query)
        except QuerySyntaxError:
            continue  # the language itself refuses it, before any engine sees it
        try:
            store.search(tree, groups=GROUPS)
        except SearchQueryError as error:
            assert "letters or digits" in str(error) or "group" in str(error), query
    assert store.counts()["items"] == 5


CANNOT_RUN = [
    ("NOT lupus", "needs a term to find"),
    ("lupus OR NOT mouse", "needs a term to find"),
    ("@nosuch", "unknown group @nosuch"),
    ('"--"', "no letters or digits"),
]


def test_what_the_index_cannot_run_is_said(store: SQLStore) -> None:
    for query, message in CANNOT_RUN:
        with pytest.raises(SearchQueryError, match=message):
            store.search(parse_query(query), groups=GROUPS)


def test_the_migration_indexes_items_stored_before_it(store_url: str) -> None:
    store = open_store(store_url, migrate=False)
    with store.transaction() as cur:  # the store as version 5 made it
        cur.execute(VERSION_TABLE)
        for version, script in load_migrations(store.engine):
            if version <= 5:
                for statement in split_statements(script):
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", (version,)
                )
    store.sync_sources([("Wire", "https://wire.example/f")])
    store.record_poll(outcome("Wire", [record(ITEMS[0])]), POLICY)
    assert store.migrate() >= 6
    assert search(store, "remission") == ["CAR-T therapy puts lupus into remission"]
    store.close()
