"""The embedded SQLite store: the default, needing no other service.

WAL mode lets the web layer read while a poll writes; writes take the file lock at
the start of the transaction (BEGIN IMMEDIATE) so two writers (threads, or worker
processes sharing the file) queue on the busy timeout instead of failing half-way.
A database still locked after the busy timeout is a `TransientStoreError`; with the
default 30 s timeout that wait outlasts `retried`'s budget, so it is reported at once
(the next cycle tries again), and only a shorter timeout gets backoff retries. A
connection is opened per thread because sqlite3 connections must not be shared across
threads.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aggregator.store.base import SQLStore
from aggregator.store.engine import Cursor, StoreError, TransientStoreError

BUSY_TIMEOUT_SECONDS = 30.0
# Page cache of a connection that writes. The band index takes inserts at random keys;
# with SQLite's default 2 MB most of them miss the cache once it outgrows it. Past
# 16 MB it buys little (the OS file cache holds the rest): storing the 61k bench items
# took 811 us per item with 16 MB and 780-800 with 64, for 48 MB less resident memory.
WRITE_CACHE_KIB = 16 * 1024
# A connection that only reads (the poll's read thread, web requests) reads a few pages
# per query, which the OS's file cache holds anyway: 64 MB more resident memory per
# reading thread bought nothing.
READ_CACHE_KIB = 8 * 1024


def _is_locked(error: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY / SQLITE_LOCKED: another connection holds the lock; it will pass."""
    message = str(error).lower()
    return "locked" in message or "busy" in message


class SQLiteStore(SQLStore):
    engine = "sqlite"

    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_SECONDS,
                 read_only: bool = False):
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        if read_only and not self.path.is_file():
            raise StoreError(f"SQLite database {self.path} does not exist; "
                             "`aggregator poll` or `aggregator migrate` creates it")
        if str(path) != ":memory:" and not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise StoreError(f"cannot create {self.path.parent}: {error}") from None
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            try:
                connection = self._connect_read_only() if self.read_only else sqlite3.connect(
                    self.path, isolation_level=None, check_same_thread=False,
                    timeout=self.busy_timeout,
                )
                connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
                if not self.read_only:  # WAL is a property of the file, set once by a writer
                    connection.execute("PRAGMA journal_mode = WAL")
                connection.execute("PRAGMA synchronous = NORMAL")
                connection.execute("PRAGMA foreign_keys = ON")
                connection.execute(f"PRAGMA cache_size = -{READ_CACHE_KIB}")
            except sqlite3.Error as error:
                raise StoreError(f"cannot open SQLite database {self.path}: {error}") from None
            self._local.connection = connection
            with self._lock:
                self._connections.append(connection)
        return connection

    def _connect_read_only(self) -> sqlite3.Connection:
        """A connection that cannot write, for commands that only read.

        `mode=ro` still needs the WAL index (-shm) beside the file, which SQLite cannot
        create in a folder this user may not write to. Then, if no -wal file holds
        uncommitted pages either, the file itself is the whole database and is read as
        immutable (a snapshot: no writer can be at work in a folder it cannot write).
        """
        uri = self.path.resolve().as_uri()
        options = {"isolation_level": None, "check_same_thread": False,
                   "timeout": self.busy_timeout, "uri": True}
        connection = sqlite3.connect(f"{uri}?mode=ro", **options)
        try:
            connection.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchall()
            return connection
        except sqlite3.OperationalError:
            connection.close()
            wal = self.path.with_name(self.path.name + "-wal")
            if os.access(self.path.parent, os.W_OK) or wal.exists():
                raise
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", **options)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Cursor]:
        connection = self._connection()
        if write and not getattr(self._local, "writes", False):
            connection.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            self._local.writes = True
        cursor = connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.OperationalError as error:
            cursor.close()
            if _is_locked(error):
                raise TransientStoreError(f"SQLite database {self.path}: {error}") from None
            raise StoreError(f"SQLite database {self.path} is unavailable: {error}") from None
        try:
            yield cursor
            connection.commit()
        except sqlite3.OperationalError as error:
            connection.rollback()
            if _is_locked(error):
                raise TransientStoreError(f"SQLite database {self.path}: {error}") from None
            # Read-only file or folder, disk full, I/O error: the caller reports it.
            raise StoreError(f"SQLite database {self.path}: {error}") from error
        except BaseException:
            connection.rollback()
            raise
        finally:
            cursor.close()

    def _table_exists(self, cur: Cursor, name: str) -> bool:
        cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
        return cur.fetchone() is not None

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()
        self._local = threading.local()
