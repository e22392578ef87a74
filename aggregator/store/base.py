"""The store: one interface, plain portable SQL, two engines.

`SQLStore` is composed of one class per table family, each in its own module: `sources`
(sources and leases), `ingest` (record_polls and item rows), `stories` (stories, the
band index, late joins), `topics` (matches, topic versions, topic reads), `retention`
(purge), `search` (full-text search) and `migrate` (schema.sql and migrations/), over
`engine` (the hooks, retries, the Cursor protocol). What is decided on the rows read
(which story an item joins, a story's primary copy, which feeds change) is not in the
store but in `aggregator.core.dedupe.decide`. The SQL uses `?` placeholders and only
constructs both SQLite (>= 3.35) and PostgreSQL understand (`ON CONFLICT`, `RETURNING`),
so the engine subclasses only supply connections, transactions and the few places where
PostgreSQL offers better concurrency (row locks that skip locked rows, advisory locks
around story merging).

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

from aggregator.store.curation import Curation
from aggregator.store.ingest import Ingest
from aggregator.store.migrate import Migrator
from aggregator.store.retention import Retention
from aggregator.store.search import Search
from aggregator.store.webhooks import Webhooks
from aggregator.store.websub import WebSubscriptions

__all__ = ["SQLStore"]


class SQLStore(Ingest, Retention, Migrator, Curation, Webhooks, WebSubscriptions, Search):
    """The storage interface; subclasses provide `transaction()` and engine specifics."""

    engine = "sql"
    # Most source polls one `record_polls` transaction takes (aggregator.run.writes batches
    # them): on SQLite a commit is a WAL write, and every writer queues on one file lock
    # anyway, so a cycle commits once per hundred sources.
    write_batch = 100
