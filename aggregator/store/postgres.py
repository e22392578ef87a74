"""The PostgreSQL store: many worker and web processes on one or many machines.

Connections come from a `psycopg_pool.ConnectionPool`, checked before use so a
restarted server costs one failed check rather than one failed poll per pooled
connection. The shared SQL in `SQLStore` uses `?` placeholders, rewritten to psycopg's
`%s` (the SQL itself contains no literal `?` or `%`; values always travel as
parameters). What PostgreSQL adds over SQLite is concurrency:

* claims lock the rows they take and skip rows another worker is claiming
  (`FOR UPDATE SKIP LOCKED`);
* story assignment takes transaction-scoped advisory locks on the LSH bands (and
  canonical links) of the items it stores, so two workers storing two copies of one
  story at the same moment take turns and the second sees the first's story;
* migrations run under an advisory lock, so processes starting together queue.

Connection failures, deadlocks and serialization failures are `TransientStoreError`s,
retried with backoff by `retried` (see `aggregator.store.engine`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolClosed

from aggregator.config import redact_url
from aggregator.store.base import SQLStore
from aggregator.store.engine import (
    Cursor,
    MergeInput,
    StoreError,
    TransientStoreError,
    chunks,
    marks,
    merge_keys,
)

POOL_MIN = 1
POOL_MAX = 10  # per process; the poll threads share them, each holding one per transaction
POOL_TIMEOUT = 3.0  # seconds to wait for a connection before failing (then retried)

# Advisory lock namespaces: the first key of pg_advisory_xact_lock(int4, int4).
MIGRATION_LOCK = 0x61670001
MERGE_LOCK = 0x61670002  # shared by every merge; exclusive for one too big to lock finely
BAND_LOCK = 0x61670003
# Advisory locks are per database, not per schema: each namespace is mixed with the
# schema's hash, so deployments (or test runs) in separate schemas of one database
# never wait on, or deadlock with, each other's locks.
SCOPED = "hashtext(current_schema()) # ?"
# The most band locks one transaction takes. The lock table is shared and sized
# max_locks_per_transaction (64) x max_connections (100) = 6,400 by default, so 25
# worker processes (one writing transaction each) fit; a poll with more new items
# than this covers (~7; a source's first poll, say) takes MERGE_LOCK exclusively.
MAX_BAND_LOCKS = 256


def band_lock_key(band: str) -> int:
    """A band's advisory lock key: a signed 32-bit hash (collisions only over-serialize)."""
    return int.from_bytes(hashlib.blake2b(band.encode(), digest_size=4).digest(), "big",
                          signed=True)


class _QmarkCursor:
    """A psycopg cursor that takes the store's `?` placeholders."""

    def __init__(self, cursor: psycopg.Cursor[Any]):
        self._cursor = cursor

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    def execute(self, sql: str, params: Sequence[Any] = ()) -> _QmarkCursor:
        self._cursor.execute(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
        return self

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> _QmarkCursor:
        self._cursor.executemany(sql.replace("?", "%s"), params)  # type: ignore[arg-type]
        return self

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class PostgresStore(SQLStore):
    engine = "postgresql"
    # One source poll per transaction: its band locks then cover only that poll's new
    # items (usually a few, well under MAX_BAND_LOCKS), so workers storing different
    # stories at the same moment never wait for each other, where a batch of many
    # sources would take the merge lock exclusively. A commit costs one WAL flush.
    write_batch = 1

    def __init__(self, url: str, *, pool_max: int = POOL_MAX, timeout: float = POOL_TIMEOUT):
        self.url = url
        # Opened without waiting: an unreachable server makes the first transaction
        # fail (and be retried), not the constructor.
        self.pool = ConnectionPool(
            url, min_size=POOL_MIN, max_size=pool_max, timeout=timeout, open=False,
            check=ConnectionPool.check_connection, name="aggregator",
            # No server-side prepared statements: after five runs psycopg would prepare
            # a statement and PostgreSQL may switch it to a generic plan, which for the
            # band lookup on tables without statistics scanned every band (0.25 s per
            # lookup seen in bench_workers). Unprepared statements are planned with
            # their values every time, and also pass through PgBouncer's transaction mode.
            kwargs={"prepare_threshold": None},
        )
        self.pool.open(wait=False)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Cursor]:
        try:
            with self.pool.connection() as connection:
                connection.read_only = not write
                with connection.cursor() as cursor:
                    yield _QmarkCursor(cursor)
        except PoolClosed:
            raise StoreError("the PostgreSQL store is closed") from None
        except psycopg.OperationalError as error:
            # Connection refused or lost, pool timeout, deadlock, serialization failure,
            # admin shutdown: the transaction is gone, so retrying it is safe.
            detail = (str(error).strip() or type(error).__name__).splitlines()[0]
            raise TransientStoreError(
                f"PostgreSQL at {redact_url(self.url)}: {detail}"
            ) from error
        except (psycopg.errors.InsufficientPrivilege,
                psycopg.errors.ReadOnlySqlTransaction) as error:
            # A role that may only read, or a read-only replica: retrying cannot help.
            detail = (str(error).strip() or type(error).__name__).splitlines()[0]
            raise StoreError(f"PostgreSQL at {redact_url(self.url)}: {detail}") from error

    def close(self) -> None:
        self.pool.close()

    def _table_exists(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT to_regclass(?) IS NOT NULL", (name,))
        return bool(cur.fetchone()[0])

    def _lock_migrations(self, cur: Cursor) -> None:
        cur.execute(f"SELECT pg_advisory_xact_lock({SCOPED}, 0)", (MIGRATION_LOCK,))

    def _lock_bands(self, cur: Cursor, joining: Sequence[MergeInput]) -> None:
        """Lock each band in ascending key order (so two polls never deadlock), under
        a shared merge lock; a poll with too many bands takes the merge lock alone."""
        bands = merge_keys(joining)
        if not bands:
            return
        keys = sorted({band_lock_key(band) for band in bands})
        if len(keys) > MAX_BAND_LOCKS:
            cur.execute(f"SELECT pg_advisory_xact_lock({SCOPED}, 0)", (MERGE_LOCK,))
            return
        cur.execute(f"SELECT pg_advisory_xact_lock_shared({SCOPED}, 0)", (MERGE_LOCK,))
        # One round trip; a scan of unnest() takes the keys in the array's (sorted) order.
        cur.execute(f"SELECT pg_advisory_xact_lock({SCOPED}, k) FROM unnest(?::int4[]) AS k",
                    (BAND_LOCK, keys))

    def _claim_sql_suffix(self) -> str:
        return " FOR UPDATE SKIP LOCKED"

    def _lock_stories(self, cur: Cursor, story_ids: Sequence[str]) -> None:
        for chunk in chunks(story_ids):  # sorted, and locked in that order
            cur.execute(f"SELECT story_id FROM stories WHERE story_id IN ({marks(chunk)}) "
                        "ORDER BY story_id FOR UPDATE", tuple(chunk))
            cur.fetchall()
