"""The schema: creating a fresh store from `schema.sql`, upgrading an older one through
`migrations/`, and the version table that says which it is."""

from __future__ import annotations

import re
from importlib import resources

from aggregator import clock
from aggregator.store.engine import Cursor, StoreEngine, StoreError, retried

#: The version table, created before anything else (under the migration lock).
VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
)
#: `/*engine: clause*/` in schema.sql: the clause on that engine, nothing elsewhere.
_ENGINE_CLAUSE = re.compile(r"/\*(\w+): ([^*]*)\*/")
_TRIGGER = re.compile(r"CREATE\s+TRIGGER\b", re.IGNORECASE)
_TRIGGER_END = re.compile(r"\bEND$", re.IGNORECASE)


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


def load_schema(engine: str) -> str:
    """The current schema for `engine` (schema.sql with its engine clauses resolved)."""
    script = (resources.files("aggregator.store") / "schema.sql").read_text("utf-8")
    return _ENGINE_CLAUSE.sub(lambda m: m[2] if m[1] == engine else "", script)


def split_statements(script: str) -> list[str]:
    """Split a migration into statements (our migrations hold no ';' inside strings).

    A `CREATE TRIGGER ... BEGIN ...; END` is one statement: its body's ';'s do not end it.
    """
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        stmt = pending.strip()
        if _TRIGGER.match(stmt) and not _TRIGGER_END.search(stmt):
            continue  # inside a trigger's body
        if stmt:
            statements.append(stmt)
        pending = ""
    return statements


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

    def check_schema(self) -> int:
        """The schema version, if it is the current one; else a StoreError saying how to
        bring it up to date (for a store opened without migrating)."""
        latest = load_migrations(self.engine)[-1][0]
        current = self.schema_version()
        if current == 0:
            raise StoreError("the store has no tables yet; `aggregator poll` or "
                             "`aggregator migrate` creates them")
        if current < latest:
            raise StoreError(f"the store's schema is version {current}, this version needs "
                             f"{latest}; run `aggregator migrate` as a user who may write it")
        return current

    @retried
    def migrate(self) -> int:
        """Bring the schema up to date in one transaction; return the version.

        An empty database is created from schema.sql at once, recorded as every
        migration applied; an older one applies each migration not applied yet.
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
            if current == 0:
                for statement in split_statements(load_schema(self.engine)):
                    cur.execute(statement)
                now = clock.now()
                cur.executemany(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    [(version, now) for version, _ in migrations],
                )
                return migrations[-1][0]
            for version, script in migrations:
                if version <= current:
                    continue
                for statement in split_statements(script):
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO schema_version (version, applied_at) VALUES (?, ?)",
                    (version, clock.now()),
                )
                current = version
            return current
