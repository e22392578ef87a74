"""The schema: applying `migrations/` in order, and the version table that says which
were applied."""

from __future__ import annotations

import time
from importlib import resources

from aggregator.store.engine import Cursor, StoreEngine, retried

#: The version table, created before anything else (under the migration lock).
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)


def load_migrations(engine: str) -> list[tuple[int, str]]:
    """Every migration shipped with the package for `engine`, as (version, SQL), in order.

    `NNNN_what.sql` applies to every engine; `NNNN_what.<engine>.sql` to that engine only,
    for the few layouts one engine does better its own way (SQLite's WITHOUT ROWID).
    """
    folder = resources.files("aggregator.store") / "migrations"
    migrations = []
    for entry in folder.iterdir():
        only_for = entry.name.removesuffix(".sql").partition(".")[2]
        if entry.name.endswith(".sql") and only_for in ("", engine):
            migrations.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(migrations)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no ';' inside strings)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


class Migrator(StoreEngine):
    """schema_version and migrate."""

    @retried
    def schema_version(self) -> int:
        return self._schema_version()

    def _schema_version(self) -> int:
        with self.transaction(write=False) as cur:
            if not self._table_exists(cur, "schema_version"):
                return 0
            return self._current_version(cur)

    def _current_version(self, cur: Cursor) -> int:
        cur.execute("SELECT MAX(version) FROM schema_version")
        row = cur.fetchone()
        return int(row[0] or 0)

    @retried
    def migrate(self) -> int:
        """Apply every migration not applied yet, in one transaction; return the version.

        Every process calls this as it starts, so an up-to-date schema costs one read
        and no lock. Otherwise the migration lock is taken before anything else, even
        creating the version table, so processes starting together against an empty
        database queue up instead of racing to create the same tables.
        """
        migrations = load_migrations(self.engine)
        current = self._schema_version()
        if current >= migrations[-1][0]:
            return current
        with self.transaction() as cur:
            self._lock_migrations(cur)
            cur.execute(VERSION_TABLE)
            current = self._current_version(cur)
            for version, script in migrations:
                if version <= current:
                    continue
                for statement in split_statements(script):
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, time.time()),
                )
                current = version
            return current
