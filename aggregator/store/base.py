"""The store: one interface, plain portable SQL, two engines.

`SQLStore` holds every query. Its SQL uses `?` placeholders and only constructs both
SQLite (>= 3.35) and PostgreSQL understand (`ON CONFLICT`, `RETURNING`), so the
engine subclasses only supply connections, transactions and the few places where
PostgreSQL offers better concurrency (row locks that skip locked rows, advisory
locks around story merging).

Everything one poll of one source changes (new and edited items, their story
assignment and topic matches, the source's validators and health) is written in one
transaction by `record_polls` (on SQLite together with other sources' polls), so a
crash mid-cycle either keeps a source's whole poll or none of it: nothing is lost
(the validators are not advanced either, so the next poll fetches the same items
again) and nothing is stored twice (unique keys).

Several processes may write at once (workers on PostgreSQL, or on one SQLite file).
Every insert is keyed (`ON CONFLICT`), so a repeated or concurrent write of the same
item is a no-op or an update; story assignment of new items runs under locks on their
LSH bands (`_lock_bands`), so two copies of one story stored at the same moment by two
workers still end up in one story. Transient failures (a locked file, a lost
connection, a deadlock) are retried with backoff by `retried` and otherwise surface as
`StoreError`, which the service reports in /readyz instead of crashing.
"""

from __future__ import annotations

import functools
import json
import logging
import random
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence, Sized
from contextlib import AbstractContextManager
from importlib import resources
from typing import Any, NamedTuple, Protocol, TypeVar

from aggregator.core.dedupe import Fingerprint, MergeProbe, compare
from aggregator.models import (
    UNFINGERPRINTED,
    IngestReport,
    Item,
    ItemRecord,
    LateFingerprint,
    MergePolicy,
    PollOutcome,
    SourceState,
    StoredItem,
    StoredStory,
    StoryCopy,
    TermHit,
    utc_datetime,
)

log = logging.getLogger("aggregator.store")

SEVEN_DAYS = 7 * 86400.0
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
    def wrapper(self: SQLStore, *args: Any, **kwargs: Any) -> Any:
        started = time.monotonic()
        delay = RETRY_FIRST_DELAY
        while True:
            try:
                return method(self, *args, **kwargs)
            except TransientStoreError as error:
                pause = delay * random.uniform(0.5, 1.5)
                if time.monotonic() - started + pause > RETRY_SECONDS:
                    raise StoreError(f"{error} (still failing after "
                                     f"{time.monotonic() - started:.1f}s of retries)") from error
                log.warning("%s failed, retrying in %.2fs: %s", method.__name__, pause, error)
                time.sleep(pause)
                delay = min(delay * 2, RETRY_MAX_DELAY)

    return wrapper  # type: ignore[return-value]


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


def chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def marks(values: Sized) -> str:
    """`?, ?, ?` for an `IN (...)` list of `values`."""
    return ", ".join(["?"] * len(values))


class StoredVersion(NamedTuple):
    """What ingesting needs to know about an item already stored."""

    content_hash: str
    story_id: str
    updated: float | None
    fingerprinted: bool  # False: outside the dedupe scope when stored (see ItemRecord)


#: What story assignment of an item reads by: its fingerprint and canonical link.
MergeInput = tuple[Fingerprint, str | None]


ITEM_COLUMNS = (
    "item_id, source, story_id, link, canonical_link, title, summary_html, content_html, "
    "title_text, summary_text, content_text, author, categories, published, updated, "
    "first_seen, changed_at, fingerprint"
)
SOURCE_COLUMNS = (
    "name, url, current_url, enabled, disabled_reason, etag, last_modified, last_attempt, "
    "last_success, last_status, last_http_status, consecutive_failures, last_error, "
    "last_problem, redirected_from, next_poll, poll_interval, fetch_count, fetch_seconds_total"
)


def _stored_item(row: Sequence[Any]) -> StoredItem:
    values = list(row)
    values[12] = json.loads(values[12])
    return StoredItem(*values)


def _source_state(row: Sequence[Any], items_7d: int = 0) -> SourceState:
    (name, url, current_url, enabled, disabled_reason, etag, last_modified, last_attempt,
     last_success, last_status, last_http_status, failures, last_error, last_problem,
     redirected_from, next_poll, poll_interval, fetch_count, fetch_seconds) = row
    return SourceState(
        name=name, url=url, current_url=current_url, enabled=bool(enabled),
        disabled_reason=disabled_reason, etag=etag, last_modified=last_modified,
        last_attempt=last_attempt, last_success=last_success, last_status=last_status,
        last_http_status=last_http_status, consecutive_failures=failures,
        last_error=last_error, last_problem=last_problem, redirected_from=redirected_from,
        next_poll=next_poll, poll_interval=poll_interval, fetch_count=fetch_count,
        mean_fetch_seconds=(fetch_seconds / fetch_count) if fetch_count else None,
        items_last_7_days=items_7d,
    )


def _hits_json(hits: Iterable[TermHit]) -> str:
    from aggregator.models import hits_to_json  # (kept local: this file is being split)

    return hits_to_json(hits)


def _hits_from_json(text: str) -> list[TermHit]:
    from aggregator.models import hits_from_json

    return hits_from_json(text)


class SQLStore:
    """The storage interface; subclasses provide `transaction()` and engine specifics."""

    engine = "sql"
    # Most source polls one `record_polls` transaction takes (aggregator.run.writes batches
    # them): on SQLite a commit is a WAL write, and every writer queues on one file lock
    # anyway, so a cycle commits once per hundred sources.
    write_batch = 100

    # -- engine hooks ---------------------------------------------------------------

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

    # -- schema ---------------------------------------------------------------------

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
        current = self._schema_version()
        if current >= max(version for version, _ in load_migrations(self.engine)):
            return current
        with self.transaction() as cur:
            self._lock_migrations(cur)
            cur.execute(
                "CREATE TABLE IF NOT EXISTS schema_version "
                "(version INTEGER PRIMARY KEY, applied_at DOUBLE PRECISION NOT NULL)"
            )
            current = self._current_version(cur)
            for version, script in load_migrations(self.engine):
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

    # -- sources --------------------------------------------------------------------

    @retried
    def sync_sources(self, sources: Sequence[tuple[str, str]]) -> None:
        """Register configured (name, url) pairs; a changed URL resets validators."""
        with self.transaction() as cur:
            for name, url in sources:
                cur.execute(
                    "INSERT INTO sources (name, url, current_url) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET url = excluded.url, "
                    "current_url = excluded.url, etag = NULL, last_modified = NULL, "
                    "enabled = 1, disabled_reason = NULL, redirected_from = NULL, next_poll = 0 "
                    "WHERE sources.url <> excluded.url",
                    (name, url, url),
                )

    @retried
    def source_states(self, names: Sequence[str] | None = None) -> list[SourceState]:
        """The state of the sources `names` (default: all), by name.

        Named sources are looked up by key: a worker polling a hundred of a hundred
        thousand configured sources reads a hundred rows, not the whole table.
        """
        week_ago = time.time() - SEVEN_DAYS
        rows: list[Any] = []
        counts: dict[str, int] = {}
        with self.transaction(write=False) as cur:
            if names is None:
                cur.execute(f"SELECT {SOURCE_COLUMNS} FROM sources")
                rows = cur.fetchall()
                cur.execute(
                    "SELECT source, COUNT(*) FROM items WHERE first_seen >= ? GROUP BY source",
                    (week_ago,),
                )
                counts = dict(cur.fetchall())
            for chunk in chunks(sorted(set(names or ()))):
                cur.execute(
                    f"SELECT {SOURCE_COLUMNS} FROM sources WHERE name IN ({marks(chunk)})",
                    tuple(chunk),
                )
                rows += cur.fetchall()
                cur.execute(
                    "SELECT source, COUNT(*) FROM items WHERE first_seen >= ? "
                    f"AND source IN ({marks(chunk)}) GROUP BY source",
                    (week_ago, *chunk),
                )
                counts.update(cur.fetchall())
        return sorted((_source_state(row, counts.get(row[0], 0)) for row in rows),
                      key=lambda state: state.name)

    def source_state(self, name: str) -> SourceState | None:
        states = self.source_states([name])
        return states[0] if states else None

    @retried
    def claim_due_sources(
        self, owner: str, now: float, lease_seconds: float, names: Sequence[str], limit: int
    ) -> list[str]:
        """Lease up to `limit` due sources among `names` to `owner` until now+lease.

        A source is due when enabled, its next poll time has come and nobody else holds
        a live lease on it. On PostgreSQL the row locks skip rows another worker is
        claiming at this moment, so two workers never claim the same source. Names go
        in chunks, so the most overdue come first within each chunk of the config.
        """
        claimed: list[str] = []
        with self.transaction() as cur:
            for chunk in chunks(names):
                if len(claimed) >= limit:
                    break
                cur.execute(
                    f"SELECT name FROM sources WHERE name IN ({marks(chunk)}) AND enabled = 1 "
                    "AND next_poll <= ? AND (lease_expires IS NULL OR lease_expires < ? "
                    "OR lease_owner = ?) ORDER BY next_poll, name LIMIT ?"
                    + self._claim_sql_suffix(),
                    (*chunk, now, now, owner, limit - len(claimed)),
                )
                due = [row[0] for row in cur.fetchall()]
                if due:
                    cur.execute(
                        "UPDATE sources SET lease_owner = ?, lease_expires = ? "
                        f"WHERE name IN ({marks(due)})",
                        (owner, now + lease_seconds, *due),
                    )
                    claimed += due
        return claimed

    @retried
    def renew_leases(self, owner: str, until: float) -> int:
        """Extend every lease `owner` still holds to `until`; return how many.

        A live worker renews while a long cycle runs so it never loses sources it is
        still polling; a dead one stops renewing and its leases lapse.
        """
        with self.transaction() as cur:
            cur.execute(
                "UPDATE sources SET lease_expires = ? WHERE lease_owner = ?", (until, owner)
            )
            return cur.rowcount

    @retried
    def release_leases(self, owner: str) -> None:
        with self.transaction() as cur:
            cur.execute(
                "UPDATE sources SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = ?",
                (owner,),
            )

    @retried
    def next_due_time(self, names: Sequence[str]) -> float | None:
        if not names:
            return None
        found: list[float] = []
        with self.transaction(write=False) as cur:
            for chunk in chunks(names):
                cur.execute(
                    "SELECT MIN(next_poll) FROM sources WHERE enabled = 1 "
                    f"AND name IN ({marks(chunk)})",
                    tuple(chunk),
                )
                row = cur.fetchone()
                if row and row[0] is not None:
                    found.append(row[0])
        return min(found, default=None)

    # -- ingest ---------------------------------------------------------------------

    def record_poll(self, outcome: PollOutcome, policy: MergePolicy) -> IngestReport:
        """Write one poll of one source in one transaction; see the module docstring."""
        return self.record_polls([outcome], policy)[0]

    @retried
    def record_polls(
        self, outcomes: Sequence[PollOutcome], policy: MergePolicy
    ) -> list[IngestReport]:
        """Write several sources' polls in one transaction: a large cycle commits once
        per batch instead of once per source, and each poll is still all or nothing.

        Locks are taken in one order by every writer, so concurrent batches queue
        rather than deadlock: first the bands of the items not stored yet (all at once,
        sorted; a copy of a story another worker is storing right now is then seen
        once it commits), then the rows other writers share, stories and topic
        versions, each sorted, and last the polled sources' own rows.
        """
        records = [record for outcome in outcomes for record in outcome.items]
        with self.transaction() as cur:
            stored = self._stored_versions(cur, [r.item.item_id for r in records])
            self._lock_bands(cur, [
                (r.fingerprint, r.item.canonical_link) for r in records
                if r.fingerprint is not None and not _fingerprinted(stored.get(r.item.item_id))
            ])
            reports = [IngestReport() for _ in outcomes]
            touched: set[str] = set()  # existing stories that gained or changed a copy
            topics: set[str] = set()  # topics whose feeds change
            for outcome, report in zip(outcomes, reports, strict=True):
                for record in outcome.items:
                    topics |= self._ingest_item(cur, record, stored.get(record.item.item_id),
                                                outcome.attempted_at, policy, report, touched)
            if touched:
                topics |= self._topics_of_stories(cur, touched)
                self._lock_stories(cur, sorted(touched))
                for story_id in sorted(touched):
                    self._refresh_story(cur, story_id, policy)
            self._bump_topics(cur, topics, max((o.attempted_at for o in outcomes), default=0.0))
            for outcome, report in sorted(zip(outcomes, reports, strict=True),
                                          key=lambda pair: pair[0].source):
                self._write_source(cur, outcome, report)
            return reports

    @retried
    def item_hashes(self, source: str, keys: Collection[str] | None = None) -> dict[str, str]:
        """Item key -> content hash of the items stored for `source` (only those with
        `keys`, when given): the entries a new poll of it need not fingerprint, match or
        write again."""
        with self.transaction(write=False) as cur:
            if keys is None:
                cur.execute("SELECT item_key, content_hash FROM items WHERE source = ?",
                            (source,))
                return dict(cur.fetchall())
            found: dict[str, str] = {}
            for chunk in chunks(sorted(keys)):
                cur.execute("SELECT item_key, content_hash FROM items WHERE source = ? "
                            f"AND item_key IN ({marks(chunk)})", (source, *chunk))
                found.update(cur.fetchall())
            return found

    def _stored_versions(self, cur: Cursor, item_ids: Sequence[str]) -> dict[str, StoredVersion]:
        found: dict[str, StoredVersion] = {}
        for chunk in chunks(item_ids):
            cur.execute(
                "SELECT item_id, content_hash, story_id, updated, fingerprint <> ? FROM items "
                f"WHERE item_id IN ({marks(chunk)})",
                (UNFINGERPRINTED, *chunk),
            )
            for item_id, content_hash, story_id, updated, fingerprinted in cur.fetchall():
                found[item_id] = StoredVersion(content_hash, story_id, updated,
                                               bool(fingerprinted))
        return found

    def _ingest_item(
        self,
        cur: Cursor,
        record: ItemRecord,
        existing: StoredVersion | None,
        now: float,
        policy: MergePolicy,
        report: IngestReport,
        touched: set[str],
    ) -> set[str]:
        """Store one item (new, edited or unchanged); return the topics whose matches
        of it changed, and add an existing story it joined or edited to `touched`."""
        item = record.item
        story_id: str | None = None
        if existing is None:
            story_id = self._insert_item(cur, record, now, policy)
            if story_id is None:
                # Another poll of this source (a worker whose lease had lapsed) stored
                # the item after we looked: it is theirs, in the story they chose.
                existing = self._stored_versions(cur, [item.item_id])[item.item_id]
            else:
                report.new += 1
                report.merged += story_id != item.item_id
        if existing is not None:
            if existing.content_hash == item.content_hash:
                report.unchanged += 1
                return set()
            self._update_item(cur, item, existing, now)
            report.updated += 1
            story_id = existing.story_id
            if record.fingerprint is not None and not existing.fingerprinted:
                # An edit brought it into the dedupe scope: it may be a copy after all.
                joined = self._join_story(cur, LateFingerprint(
                    item.item_id, item.canonical_link, item.published.timestamp(),
                    record.fingerprint), policy)
                story_id = joined or story_id  # it is there: this transaction updated it
        assert story_id is not None
        if story_id != item.item_id or existing is not None:
            touched.add(story_id)  # a story it founded just now was written complete
        return self._write_matches(
            cur, item.item_id, story_id, record.matches, now, new=existing is None
        )

    def _insert_item(
        self, cur: Cursor, record: ItemRecord, now: float, policy: MergePolicy
    ) -> str | None:
        """Store a new item in the story it belongs to; return that story's id, or
        None when a concurrent writer stored the item first (nothing is written then)."""
        item = record.item
        published = item.published.timestamp()
        story_id = item.item_id
        if record.fingerprint is not None:
            story_id = self._assign_story(cur, item.item_id, item.canonical_link,
                                          record.fingerprint, published, policy)
        cur.execute(
            "INSERT INTO items (item_id, source, item_key, story_id, link, canonical_link, "
            "title, summary_html, content_html, title_text, summary_text, content_text, "
            "author, categories, published, updated, first_seen, changed_at, content_hash, "
            "fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (source, item_key) DO NOTHING RETURNING item_id",
            (item.item_id, item.source, item.key, story_id, *_item_text(item), published,
             item.updated.timestamp() if item.updated else None, now, now,
             item.content_hash, record.fingerprint_json),
        )
        if cur.fetchone() is None:
            return None
        if record.fingerprint is not None:
            self._insert_bands(cur, item.item_id, published, record.fingerprint)
        if story_id == item.item_id:  # what `_refresh_story` would make of it
            updated = max(published, item.updated.timestamp() if item.updated else 0.0)
            cur.execute(
                "INSERT INTO stories (story_id, primary_item_id, published, updated) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (story_id) DO NOTHING",
                (story_id, item.item_id, published, updated),
            )
        return story_id

    def _update_item(self, cur: Cursor, item: Item, existing: StoredVersion, now: float) -> None:
        """Edit a stored item in place.

        Its `updated` date is the entry's own when the publisher moved it forward, else
        the time the edit was seen, so re-reading the same feed gives the same dates.
        """
        updated = item.updated.timestamp() if item.updated else None
        if updated is None or (existing.updated is not None and updated <= existing.updated):
            updated = now
        cur.execute(
            "UPDATE items SET link = ?, canonical_link = ?, title = ?, summary_html = ?, "
            "content_html = ?, title_text = ?, summary_text = ?, content_text = ?, "
            "author = ?, categories = ?, updated = ?, changed_at = ?, content_hash = ? "
            "WHERE item_id = ?",
            (*_item_text(item), updated, now, item.content_hash, item.item_id),
        )

    def _insert_bands(
        self, cur: Cursor, item_id: str, published: float, fingerprint: Fingerprint
    ) -> None:
        bands = sorted(set(fingerprint.bands))
        if bands:  # one statement for all of them: a round trip per band adds up on a server
            cur.execute(
                "INSERT INTO story_bands (band, published, item_id) VALUES "
                + ", ".join(["(?, ?, ?)"] * len(bands))
                + " ON CONFLICT DO NOTHING",
                [value for band in bands for value in (band, published, item_id)],
            )

    def _assign_story(
        self,
        cur: Cursor,
        item_id: str,
        canonical_link: str | None,
        fingerprint: Fingerprint,
        published: float,
        policy: MergePolicy,
    ) -> str:
        """The story an item joins: an existing one it duplicates, else its own. Only
        fingerprinted items are candidates (an item outside the dedupe scope is in a
        story of its own until it is fingerprinted)."""
        if canonical_link:
            cur.execute(
                "SELECT story_id FROM items WHERE canonical_link = ? AND published >= ? "
                "AND published <= ? AND fingerprint <> ? ORDER BY first_seen LIMIT 1",
                (canonical_link, published - policy.window_seconds,
                 published + policy.window_seconds, UNFINGERPRINTED),
            )
            row = cur.fetchone()
            if row is not None:
                return row[0]
        best = self.find_duplicate(cur, fingerprint, published, policy, exclude_item=item_id)
        return best[0] if best else item_id

    def _join_story(
        self, cur: Cursor, late: LateFingerprint, policy: MergePolicy
    ) -> str | None:
        """Fingerprint a stored item that was outside the dedupe scope and move it into
        the story it duplicates, if any; return its story id (None: it was purged).

        Such an item is alone in a story of its own (`_assign_story` never offers it to
        another item), so moving it leaves that story empty: it is deleted, and the
        item's matches follow it. The caller refreshes the story it joined. An item
        another process fingerprinted first (two workers re-matching after the same
        config change, or a re-match and a poll's edit of the item) is left where that
        one put it: the update only applies to a row still unfingerprinted, which on
        PostgreSQL waits for the other transaction's row lock and then sees its result.
        """
        story_id = self._assign_story(cur, late.item_id, late.canonical_link, late.fingerprint,
                                      late.published, policy)
        cur.execute(
            "UPDATE items SET fingerprint = ?, story_id = ? WHERE item_id = ? "
            "AND fingerprint = ? RETURNING item_id",
            (late.fingerprint.to_json(), story_id, late.item_id, UNFINGERPRINTED),
        )
        if cur.fetchone() is None:  # purged, or joined by another process: keep its join
            cur.execute("SELECT story_id FROM items WHERE item_id = ?", (late.item_id,))
            row = cur.fetchone()
            return row[0] if row else None
        self._insert_bands(cur, late.item_id, late.published, late.fingerprint)
        if story_id != late.item_id:
            cur.execute("UPDATE matches SET story_id = ? WHERE item_id = ?",
                        (story_id, late.item_id))
            cur.execute("DELETE FROM stories WHERE story_id = ? AND NOT EXISTS "
                        "(SELECT 1 FROM items WHERE story_id = ?)",
                        (late.item_id, late.item_id))
        return story_id

    @retried
    def join_stories(
        self, late: Sequence[LateFingerprint], policy: MergePolicy
    ) -> dict[str, str]:
        """Fingerprint stored items that an edited topic brought into the dedupe scope,
        oldest first, merging each into the story it duplicates; return the story each
        item that joined another story is now in (by item id)."""
        with self.transaction() as cur:
            self._lock_bands(cur, [(x.fingerprint, x.canonical_link) for x in late])
            joined: dict[str, str] = {}  # item id -> the other story it joined
            for each in sorted(late, key=lambda x: (x.published, x.item_id)):
                story_id = self._join_story(cur, each, policy)
                if story_id is not None and story_id != each.item_id:
                    joined[each.item_id] = story_id
            stories = sorted(set(joined.values()))
            topics = self._topics_of_stories(cur, stories)
            self._lock_stories(cur, stories)
            for story_id in stories:
                self._refresh_story(cur, story_id, policy)
            self._bump_topics(cur, topics, time.time())  # their feeds gained a copy
            return joined

    def find_duplicate(
        self,
        cur: Cursor,
        fingerprint: Fingerprint,
        published: float,
        policy: MergePolicy,
        exclude_item: str | None = None,
    ) -> tuple[str, str, float] | None:
        """(story_id, item_id, similarity) of the best stored copy, or None."""
        bands = list(fingerprint.bands)
        if not bands:
            return None
        cur.execute(
            f"SELECT DISTINCT b.item_id, i.story_id, i.fingerprint FROM story_bands b "
            f"JOIN items i ON i.item_id = b.item_id WHERE b.band IN ({marks(bands)}) "
            "AND b.published >= ? AND b.published <= ?",
            (*bands, published - policy.window_seconds, published + policy.window_seconds),
        )
        best: tuple[str, str, float] | None = None
        probe = MergeProbe(fingerprint, policy.threshold)
        for item_id, story_id, stored in cur.fetchall():
            if item_id == exclude_item or not probe.may_merge(stored):
                continue
            verdict = compare(fingerprint, Fingerprint.from_json(stored), policy.threshold)
            if verdict.same and (best is None or verdict.similarity > best[2]):
                best = (story_id, item_id, verdict.similarity)
        return best

    def _refresh_story(self, cur: Cursor, story_id: str, policy: MergePolicy) -> None:
        """Recompute a story's primary copy (preferred source, then earliest) and dates.

        The story's `updated` is the latest of its copies' own dates (an entry's updated
        date, or the time an edit was seen), so it moves only when a copy arrives or
        changes, never merely because time passed. The caller has locked the story row
        (`_lock_stories`), so two workers adding copies to one story at once recompute it
        one after the other, each from every committed copy.
        """
        cur.execute(
            "SELECT item_id, source, published, first_seen, updated FROM items "
            "WHERE story_id = ?",
            (story_id,),
        )
        rows = cur.fetchall()
        if not rows:
            return
        rank = {name: index for index, name in enumerate(policy.source_preference)}
        primary = min(rows, key=lambda r: (rank.get(r[1], len(rank)), r[2], r[3], r[0]))
        published = min(row[2] for row in rows)
        updated = max(max(row[2], row[4] or 0.0) for row in rows)
        cur.execute(
            "UPDATE stories SET primary_item_id = ?, published = ?, updated = ? "
            "WHERE story_id = ?",
            (primary[0], published, updated, story_id),
        )

    def _write_matches(
        self, cur: Cursor, item_id: str, story_id: str, matches: dict[str, list[TermHit]],
        now: float, *, new: bool,
    ) -> set[str]:
        """Replace an item's matches (a `new` one has none yet); return the topics whose
        feeds change."""
        before: dict[str, str] = {}
        if not new:
            cur.execute("SELECT topic, hits FROM matches WHERE item_id = ?", (item_id,))
            before = dict(cur.fetchall())
        after = {topic: _hits_json(hits) for topic, hits in matches.items()}
        changed = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
        for topic in changed:
            if topic not in after:
                cur.execute("DELETE FROM matches WHERE topic = ? AND item_id = ?", (topic, item_id))
            else:
                cur.execute(
                    "INSERT INTO matches (topic, item_id, story_id, hits, matched_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, item_id) DO UPDATE SET "
                    "hits = excluded.hits, matched_at = excluded.matched_at",
                    (topic, item_id, story_id, after[topic], now),
                )
        return changed | set(after)

    def _topics_of_stories(self, cur: Cursor, story_ids: Iterable[str]) -> set[str]:
        topics: set[str] = set()
        for chunk in chunks(sorted(story_ids)):
            cur.execute(
                f"SELECT DISTINCT topic FROM matches WHERE story_id IN ({marks(chunk)})",
                tuple(chunk),
            )
            topics |= {row[0] for row in cur.fetchall()}
        return topics

    def _bump_topics(self, cur: Cursor, topics: Iterable[str], now: float) -> None:
        for topic in sorted(topics):
            cur.execute(
                "INSERT INTO topic_state (topic, version, changed_at) VALUES (?, 1, ?) "
                "ON CONFLICT (topic) DO UPDATE SET version = topic_state.version + 1, "
                "changed_at = excluded.changed_at",
                (topic, now),
            )

    def _write_source(self, cur: Cursor, outcome: PollOutcome, report: IngestReport) -> None:
        ok = outcome.status in ("ok", "not_modified")
        if ok:
            cur.execute(
                "UPDATE sources SET last_attempt = ?, last_success = ?, last_status = ?, "
                "last_http_status = ?, consecutive_failures = 0, last_error = NULL, "
                "last_problem = ?, etag = ?, last_modified = ?, next_poll = ?, "
                "poll_interval = ?, fetch_count = fetch_count + 1, "
                "fetch_seconds_total = fetch_seconds_total + ?, lease_owner = NULL, "
                "lease_expires = NULL WHERE name = ?",
                (outcome.attempted_at, outcome.attempted_at, _status_word(outcome, report),
                 outcome.http_status, outcome.problem, outcome.etag, outcome.last_modified,
                 outcome.next_poll, outcome.poll_interval, outcome.elapsed, outcome.source),
            )
        else:
            cur.execute(
                "UPDATE sources SET last_attempt = ?, last_status = ?, last_http_status = ?, "
                "consecutive_failures = consecutive_failures + 1, last_error = ?, "
                "next_poll = ?, poll_interval = ?, fetch_count = fetch_count + 1, "
                "fetch_seconds_total = fetch_seconds_total + ?, lease_owner = NULL, "
                "lease_expires = NULL WHERE name = ?",
                (outcome.attempted_at, outcome.status, outcome.http_status, outcome.error,
                 outcome.next_poll, outcome.poll_interval, outcome.elapsed, outcome.source),
            )
        if outcome.new_url:
            cur.execute(
                "UPDATE sources SET redirected_from = current_url, current_url = ?, "
                "etag = CASE WHEN ? THEN etag ELSE NULL END WHERE name = ? "
                "AND current_url <> ?",
                (outcome.new_url, ok, outcome.source, outcome.new_url),
            )
        if outcome.disable_reason:
            cur.execute(
                "UPDATE sources SET enabled = 0, disabled_reason = ? WHERE name = ?",
                (outcome.disable_reason, outcome.source),
            )

    # -- topics and matching history --------------------------------------------------

    @retried
    def topic_versions(self) -> dict[str, tuple[int, str | None]]:
        """topic -> (version, rules hash)."""
        with self.transaction(write=False) as cur:
            cur.execute("SELECT topic, version, rules_hash FROM topic_state")
            return {topic: (version, rules) for topic, version, rules in cur.fetchall()}

    @retried
    def topic_version(self, topic: str) -> int:
        with self.transaction(write=False) as cur:
            cur.execute("SELECT version FROM topic_state WHERE topic = ?", (topic,))
            row = cur.fetchone()
        return int(row[0]) if row else 0

    @retried
    def topic_changed_at(self, topic: str) -> float:
        """When the topic's entries last changed (0 if never): a time every process
        reads alike, so Last-Modified never goes back across restarts or replicas."""
        with self.transaction(write=False) as cur:
            cur.execute("SELECT changed_at FROM topic_state WHERE topic = ?", (topic,))
            row = cur.fetchone()
        return float(row[0]) if row and row[0] is not None else 0.0

    def items_since(self, since: float, batch: int = 500) -> Iterator[list[StoredItem]]:
        """Stored items published at or after `since`, oldest first, in batches (for
        re-matching). Pages are read by key, so rows a caller changes between pages
        are neither skipped nor read twice."""
        after = (since, "")
        while rows := self._items_after(*after, batch):
            yield rows
            after = (rows[-1].published, rows[-1].item_id)

    @retried
    def _items_after(self, published: float, item_id: str, batch: int) -> list[StoredItem]:
        with self.transaction(write=False) as cur:
            cur.execute(
                f"SELECT {ITEM_COLUMNS} FROM items "
                "WHERE published > ? OR (published = ? AND item_id > ?) "
                "ORDER BY published, item_id LIMIT ?",
                (published, published, item_id, batch),
            )
            return [_stored_item(row) for row in cur.fetchall()]

    @retried
    def replace_topic_matches(
        self,
        topic: str,
        matches: dict[str, tuple[str, list[TermHit]]],
        since: float,
        rules_hash: str,
    ) -> int:
        """Make `topic`'s stored matches among items published since `since` equal
        `matches` (item_id -> (story_id, hits)); record the rules hash; return changes."""
        now = time.time()
        with self.transaction() as cur:
            cur.execute(
                "SELECT m.item_id, m.hits FROM matches m JOIN items i ON i.item_id = m.item_id "
                "WHERE m.topic = ? AND i.published >= ?",
                (topic, since),
            )
            before = dict(cur.fetchall())
            changes = 0
            for item_id in before.keys() - matches.keys():
                cur.execute("DELETE FROM matches WHERE topic = ? AND item_id = ?", (topic, item_id))
                changes += 1
            for item_id, (story_id, hits) in matches.items():
                hits_json = _hits_json(hits)
                if before.get(item_id) == hits_json:
                    continue
                cur.execute(
                    "INSERT INTO matches (topic, item_id, story_id, hits, matched_at) "
                    "VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, item_id) DO UPDATE SET "
                    "hits = excluded.hits, matched_at = excluded.matched_at",
                    (topic, item_id, story_id, hits_json, now),
                )
                changes += 1
            cur.execute(
                "INSERT INTO topic_state (topic, version, changed_at, rules_hash) "
                "VALUES (?, 1, ?, ?) ON CONFLICT (topic) DO UPDATE SET "
                "version = topic_state.version + CASE WHEN ? > 0 THEN 1 ELSE 0 END, "
                "changed_at = excluded.changed_at, rules_hash = excluded.rules_hash",
                (topic, now, rules_hash, changes),
            )
        return changes

    @retried
    def drop_topics_except(self, keep: Sequence[str]) -> None:
        """Forget matches of topics no longer configured."""
        with self.transaction() as cur:
            cur.execute("SELECT topic FROM topic_state")
            for (topic,) in cur.fetchall():
                if topic not in keep:
                    cur.execute("DELETE FROM matches WHERE topic = ?", (topic,))
                    cur.execute("DELETE FROM topic_state WHERE topic = ?", (topic,))

    # -- reading stories ---------------------------------------------------------------

    @retried
    def topic_stories(self, topic: str, limit: int, offset: int = 0) -> list[StoredStory]:
        """A page of a topic's stories, newest first, each with copies and matched terms."""
        with self.transaction(write=False) as cur:
            cur.execute(
                "SELECT s.story_id, s.published, s.updated, s.primary_item_id FROM stories s "
                "WHERE s.story_id IN (SELECT story_id FROM matches WHERE topic = ?) "
                "ORDER BY s.published DESC, s.story_id DESC LIMIT ? OFFSET ?",
                (topic, limit, offset),
            )
            stories = cur.fetchall()
            if not stories:
                return []
            ids = [row[0] for row in stories]
            cur.execute(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE story_id IN ({marks(ids)}) "
                "ORDER BY published, first_seen, item_id",
                ids,
            )
            items_by_story: dict[str, list[StoredItem]] = {}
            for row in cur.fetchall():
                stored = _stored_item(row)
                items_by_story.setdefault(stored.story_id, []).append(stored)
            cur.execute(
                f"SELECT story_id, hits FROM matches WHERE topic = ? "
                f"AND story_id IN ({marks(ids)}) "
                "ORDER BY item_id",
                (topic, *ids),
            )
            hits_by_story: dict[str, list[TermHit]] = {}
            for story_id, hits in cur.fetchall():
                hits_by_story.setdefault(story_id, []).extend(_hits_from_json(hits))
        result = []
        for story_id, published, updated, primary_id in stories:
            items = items_by_story.get(story_id, [])
            primary = next((i for i in items if i.item_id == primary_id), items[0])
            copies = [
                StoryCopy(item_id=i.item_id, source=i.source, link=i.link, title=i.title,
                          published=utc_datetime(i.published))
                for i in items if i.item_id != primary.item_id
            ]
            unique_hits = list(dict.fromkeys(hits_by_story.get(story_id, [])))
            result.append(StoredStory(story_id, published, updated, primary, copies, unique_hits))
        return result

    @retried
    def topic_story_count(self, topic: str) -> int:
        with self.transaction(write=False) as cur:
            cur.execute("SELECT COUNT(DISTINCT story_id) FROM matches WHERE topic = ?", (topic,))
            return int(cur.fetchone()[0])

    @retried
    def find_items(self, ref: str) -> list[StoredItem]:
        """Items whose id, story id, link or canonical link is `ref`."""
        from aggregator.core.urls import canonicalize_url

        canonical = canonicalize_url(ref) or ref
        with self.transaction(write=False) as cur:
            cur.execute(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE item_id = ? OR story_id = ? "
                "OR link = ? OR canonical_link = ? ORDER BY published, item_id",
                (ref, ref, ref, canonical),
            )
            return [_stored_item(row) for row in cur.fetchall()]

    @retried
    def item_matches(self, item_id: str) -> dict[str, list[TermHit]]:
        with self.transaction(write=False) as cur:
            cur.execute("SELECT topic, hits FROM matches WHERE item_id = ?", (item_id,))
            return {topic: _hits_from_json(hits) for topic, hits in cur.fetchall()}

    @retried
    def story_items(self, story_id: str) -> list[StoredItem]:
        with self.transaction(write=False) as cur:
            cur.execute(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE story_id = ? ORDER BY published, item_id",
                (story_id,),
            )
            return [_stored_item(row) for row in cur.fetchall()]

    @retried
    def counts(self) -> dict[str, int]:
        with self.transaction(write=False) as cur:
            result = {}
            for table in ("sources", "items", "stories", "matches"):
                cur.execute(f"SELECT COUNT(*) FROM {table}")
                result[table] = int(cur.fetchone()[0])
            return result

    @retried
    def purge(self, before: float) -> int:
        """Delete items published before `before` (retention); return how many."""
        with self.transaction() as cur:
            cur.execute("SELECT item_id, published, fingerprint FROM items WHERE published < ?",
                        (before,))
            expired = cur.fetchall()
            # Band rows are found by their key, read back from each item's fingerprint:
            # an index on story_bands.item_id would cost every insert (34 per item) for
            # the sake of this rare delete.
            cur.executemany(
                "DELETE FROM story_bands WHERE band = ? AND published = ? AND item_id = ?",
                [(band, published, item_id) for item_id, published, stored in expired
                 if stored != UNFINGERPRINTED
                 for band in set(Fingerprint.from_json(stored).bands)],
            )
            ids = [row[0] for row in expired]
            for chunk in chunks(ids):
                for table in ("matches", "items"):
                    cur.execute(f"DELETE FROM {table} WHERE item_id IN ({marks(chunk)})",
                                tuple(chunk))
            cur.execute(
                "DELETE FROM stories WHERE story_id NOT IN (SELECT story_id FROM items)"
            )
        return len(ids)

    def ping(self) -> None:
        with self.transaction(write=False) as cur:
            cur.execute("SELECT 1")
            cur.fetchone()


def _item_text(item: Item) -> tuple[Any, ...]:
    """The columns an edit of an item may change, in the order the SQL lists them."""
    return (
        item.link, item.canonical_link, item.title, item.summary_html, item.content_html,
        item.title_text, item.summary_text, item.content_text, item.author,
        json.dumps(item.categories, ensure_ascii=False),
    )


def merge_keys(joining: Iterable[MergeInput]) -> list[str]:
    """What story assignment of these items reads by: their bands and links."""
    keys: set[str] = set()
    for fingerprint, canonical_link in joining:
        keys.update(fingerprint.bands)
        if canonical_link:
            keys.add("link:" + canonical_link)
    return sorted(keys)


def _fingerprinted(stored: StoredVersion | None) -> bool:
    return stored is not None and stored.fingerprinted


def _status_word(outcome: PollOutcome, report: IngestReport) -> str:
    if outcome.status == "not_modified":
        return "unchanged"
    if report.new:
        return "new"
    if report.updated:
        return "updated"
    return "unchanged"

