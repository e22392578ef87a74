"""What every table family of the store builds on: the cursor it writes through, the
engine hooks, transient-failure retries and the `IN (...)` list helpers.

`StoreEngine` declares the hooks the engine subclasses (`sqlite.py`, `postgres.py`)
fill in; the table families (`sources`, `ingest`, `stories`, `topics`, `retention`,
`migrate`) only write portable SQL against it.
"""

from __future__ import annotations

import functools
import logging
import random
from collections.abc import Callable, Iterable, Iterator, Sequence, Sized
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from aggregator import clock
from aggregator.core.dedupe import Fingerprint

log = logging.getLogger("aggregator.store")

CHUNK = 500  # ids per `IN (...)` list: far below both engines' parameter limits
# Retrying transient failures: exponential backoff with jitter, given up after this long
# (a write already waits out SQLite's busy timeout inside each attempt).
RETRY_SECONDS = 5.0
RETRY_FIRST_DELAY = 0.05
RETRY_MAX_DELAY = 1.0


class Cursor(Protocol):
    """The DB-API subset the store uses; SQL written with `?` placeholders."""

    rowcount: int

    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class StoreError(Exception):
    """The store cannot be reached or used; the message says why."""


class TransientStoreError(StoreError):
    """A failure that may pass on its own: a locked database, a lost connection, a
    deadlock or serialization failure. The transaction was rolled back."""


Method = TypeVar("Method", bound=Callable[..., Any])


def retried(method: Method) -> Method:
    """Run a store method again, after a growing pause, when it fails transiently.

    Safe because each decorated method does its work in transactions that commit whole
    or roll back whole, and running one again after an uncertain commit (the connection
    died during COMMIT) is harmless: every write is keyed, and a claim may re-claim
    what its owner already holds. After RETRY_SECONDS the failure is raised as a plain
    `StoreError` for the caller to report.
    """

    @functools.wraps(method)
    def wrapper(self: StoreEngine, *args: Any, **kwargs: Any) -> Any:
        started = clock.monotonic()
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                return method(self, *args, **kwargs)
            except TransientStoreError as error:
                pause = delay * random.uniform(0.5, 1.5)
                if clock.monotonic() - started + pause > RETRY_SECONDS:
                    raise StoreError(
                        f"{error} (still failing after "
                        f"{clock.monotonic() - started:.1f}s of retries)"
                    ) from error
                log.warning("%s failed, retrying in %.2fs: %s", method.__name__, pause, error)
                clock.sleep(pause)
                delay = min(delay * 2, RETRY_MAX_DELAY)

    return wrapper  # type: ignore[return-value]


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def marks(values: Sized) -> str:
    """`?, ?, ?` for an `IN (...)` list of `values`."""
    return ", ".join(["?"] * len(values))


#: What story assignment of an item reads by: its fingerprint and canonical link.
MergeInput = tuple[Fingerprint, str | None]


def merge_keys(joining: Iterable[MergeInput]) -> list[str]:
    """What story assignment of these items reads by: their bands and links."""
    keys: set[str] = set()
    for fingerprint, canonical_link in joining:
        keys.update(fingerprint.bands)
        if canonical_link:
            keys.add("link:" + canonical_link)
    return sorted(keys)


class StoreEngine:
    """The hooks an engine provides, and the checks that need no table family."""

    engine = "sql"

    def transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A transaction that commits on success and rolls back on any exception.

        Engines raise `TransientStoreError` for failures worth retrying and
        `StoreError` when the database cannot be used at all.
        """
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def _table_exists(self, cur: Cursor, name: str) -> bool:
        raise NotImplementedError

    def _lock_migrations(self, cur: Cursor) -> None:
        """Keep two processes from migrating at once (PostgreSQL; SQLite locks the file)."""

    def _lock_bands(self, cur: Cursor, joining: Sequence[MergeInput]) -> None:
        """Serialize concurrent story assignment of `joining` items sharing a band or
        link with another writer's (PostgreSQL, by `merge_keys`; SQLite has one writer
        at a time)."""

    def _claim_sql_suffix(self) -> str:
        """Row locks for a claim that skip rows another worker is claiming."""
        return ""

    def _lock_stories(self, cur: Cursor, story_ids: Sequence[str]) -> None:
        """Lock the rows of stories about to be recomputed, in sorted order, until commit
        (PostgreSQL; SQLite has one writer at a time)."""

    @retried
    def counts(self) -> dict[str, int]:
        with self.transaction(write=False) as cur:
            result = {}
            for table in ("sources", "items", "stories", "matches"):
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                result[table] = int(cur.fetchone()[0])
            return result

    def ping(self) -> None:
        with self.transaction(write=False) as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
