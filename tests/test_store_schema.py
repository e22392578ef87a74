"""schema.sql is the current schema: a store created from it equals one migrated step by
step from 0001 (tables, columns with types, nullability and defaults, indexes with their
columns and uniqueness), on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.store import SQLStore, open_store
from aggregator.store.engine import Cursor
from aggregator.store.migrate import VERSION_TABLE, load_migrations, split_statements

#: A table: its columns in order, its indexes (a primary key or an index SQLite made for a
#: UNIQUE constraint is named by what it is: its generated name depends on the table's
#: name when it was made, which a migration that rebuilds a table changes), and whether
#: SQLite stores it WITHOUT ROWID.
Table = dict[str, Any]


def sqlite_tables(cur: Cursor) -> dict[str, Table]:
    cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name")
    tables = {}
    for name, sql in cur.fetchall():
        cur.execute(f"PRAGMA table_info('{name}')")
        columns = [
            (column, kind.upper(), bool(notnull), default, pk)
            for _cid, column, kind, notnull, default, pk in cur.fetchall()
        ]
        cur.execute(f"PRAGMA index_list('{name}')")
        indexes = set()
        for _seq, index, unique, origin, partial in cur.fetchall():
            cur.execute(f"PRAGMA index_info('{index}')")
            indexed = tuple(row[2] for row in sorted(cur.fetchall()))
            label = index if origin == "c" else f"({origin})"
            indexes.add((label, indexed, bool(unique), bool(partial)))
        without_rowid = sql.rstrip().upper().endswith("WITHOUT ROWID")
        tables[name] = {"columns": columns, "indexes": indexes, "without_rowid": without_rowid}
    return tables


def postgres_tables(cur: Cursor) -> dict[str, Table]:
    cur.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    )
    tables = {}
    for (name,) in cur.fetchall():
        cur.execute(
            "SELECT column_name, data_type, is_nullable, column_default "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = ? ORDER BY ordinal_position",
            (name,),
        )
        columns = [tuple(row) for row in cur.fetchall()]
        cur.execute(
            "SELECT c.relname, x.indisprimary, x.indisunique, x.indpred IS NOT NULL, "
            "ARRAY(SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n) "
            "JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = k.attnum "
            "ORDER BY k.n) FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid "
            "WHERE x.indrelid = (current_schema() || '.' || ?)::regclass",
            (name,),
        )
        indexes = {
            ("(pk)" if primary else index, tuple(indexed), unique, partial)
            for index, primary, unique, partial, indexed in cur.fetchall()
        }
        tables[name] = {"columns": columns, "indexes": indexes, "without_rowid": False}
    return tables


def describe(store: SQLStore) -> dict[str, Table]:
    with store.transaction(write=False) as cur:
        return sqlite_tables(cur) if store.engine == "sqlite" else postgres_tables(cur)


def migrated_from_the_first(url: str) -> SQLStore:
    """A store made by 0001, then upgraded through every later migration."""
    store = open_store(url, migrate=False)
    version, script = load_migrations(store.engine)[0]
    with store.transaction() as cur:
        cur.execute(VERSION_TABLE)
        for statement in split_statements(script):
            cur.execute(statement)
        cur.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, 0)", (version,))
    assert store.schema_version() == 1
    store.migrate()
    return store


@pytest.fixture(params=["sqlite", "postgresql"])
def two_urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty stores of one engine: SQLite files, or PostgreSQL schemas."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/fresh.db", f"sqlite:///{tmp_path}/migrated.db"
        return
    from tests.conftest import postgres_schema

    server = request.getfixturevalue("postgres_server")
    with postgres_schema(server) as fresh, postgres_schema(server) as migrated:
        yield fresh, migrated


def test_a_migrated_store_equals_one_created_from_schema_sql(two_urls: tuple[str, str]) -> None:
    fresh, migrated = open_store(two_urls[0]), migrated_from_the_first(two_urls[1])
    try:
        latest = load_migrations(fresh.engine)[-1][0]
        assert fresh.schema_version() == migrated.schema_version() == latest
        with fresh.transaction(write=False) as cur:  # created at once, every version recorded
            cur.execute("SELECT version FROM schema_version ORDER BY version")
            assert [row[0] for row in cur.fetchall()] == list(range(1, latest + 1))
        created = describe(fresh)
        assert {
            "sources",
            "items",
            "stories",
            "story_bands",
            "matches",
            "topic_state",
            "schema_version",
        } <= created.keys()
        assert created == describe(migrated)
    finally:
        fresh.close()
        migrated.close()


def test_the_comparison_sees_a_column_only_a_migration_adds(two_urls: tuple[str, str]) -> None:
    """What the first test relies on: one column or index more on one side is a difference."""
    fresh, migrated = open_store(two_urls[0]), migrated_from_the_first(two_urls[1])
    try:
        before = describe(migrated)
        with migrated.transaction() as cur:
            cur.execute("ALTER TABLE items ADD COLUMN language TEXT")
        assert describe(migrated) != describe(fresh)
        with migrated.transaction() as cur:
            cur.execute("ALTER TABLE items DROP COLUMN language")
            cur.execute("CREATE UNIQUE INDEX items_language ON items (title)")
        assert describe(migrated) != before
    finally:
        fresh.close()
        migrated.close()
