"""What full-text search costs and buys: the store time per new item with and without the
index (migration 0006), and the latency of searches over many stored items, on SQLite
and PostgreSQL.

Run from the repository root::

    python bench/bench_search.py                          # 20,000 items, SQLite
    python bench/bench_search.py --items 50000 --postgres postgresql://postgres@127.0.0.1/test

Items are synthetic newswire-shaped text (a seeded vocabulary with a Zipf-like spread:
a 10-word title, a 40-word summary, a 300-word body), stored through `record_polls` as a
poll would, 100 per poll, without fingerprints (outside the dedupe scope), so the time
measured is the item rows and the index. "without index" is the same store with the
index taken away (SQLite: its triggers dropped; PostgreSQL: the column dropped).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.core.match.query import parse_query  # noqa: E402
from aggregator.models import Item, ItemRecord, MergePolicy, PollOutcome  # noqa: E402
from aggregator.store import SQLStore, open_store  # noqa: E402

QUERIES = [
    "lupus",
    '"gene therapy"',
    "lupus AND trial NOT mouse",
    "title:approval OR remission",
    "w17 w230 w4",
    "w3",
]
WORDS = [f"w{n}" for n in range(5000)]
#: Topic-like words and how often an item's summary holds each (the rest is filler).
NAMED = {
    "lupus": 0.02,
    "trial": 0.1,
    "mouse": 0.01,
    "approval": 0.05,
    "remission": 0.01,
    "gene therapy": 0.02,
    "patients": 0.2,
}
POLL_SIZE = 100


def words(rng: random.Random, count: int) -> str:
    """`count` filler words, a few very common and most rare (Zipf-like), plus NAMED."""
    filler = [
        WORDS[min(int(rng.paretovariate(0.9)) - 1, len(WORDS) - 1)]
        if rng.random() < 0.7
        else rng.choice(WORDS)
        for _ in range(count)
    ]
    named = [word for word, share in NAMED.items() if rng.random() < share]
    return " ".join(filler + named)


def items(count: int, seed: int = 19) -> list[Item]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = []
    for number in range(count):
        title, summary, body = words(rng, 10), words(rng, 40), words(rng, 300)
        made.append(
            Item(
                item_id=f"bench-{number}",
                source="Bench",
                key=str(number),
                link=f"https://bench.example/{number}",
                canonical_link=None,
                title=title,
                summary_html=summary,
                content_html=body,
                title_text=title,
                summary_text=summary,
                content_text=body,
                author="Bench Writer",
                categories=["Health"],
                published=start + timedelta(minutes=number),
                updated=None,
                content_hash=str(number),
            )
        )
    return made


def store_all(store: SQLStore, made: list[Item]) -> float:
    """Seconds per item to store `made`, POLL_SIZE per poll."""
    store.sync_sources([("Bench", "https://bench.example/feed")])
    started = time.perf_counter()
    for first in range(0, len(made), POLL_SIZE):
        records = [ItemRecord(item, None, {}) for item in made[first : first + POLL_SIZE]]
        store.record_polls(
            [PollOutcome("Bench", time.time(), "ok", 0.1, time.time() + 60, items=records)],
            MergePolicy(),
        )
    return (time.perf_counter() - started) / len(made)


def drop_index(store: SQLStore) -> None:
    with store.transaction() as cur:
        if store.engine == "sqlite":
            for trigger in ("insert", "update", "delete"):
                cur.execute(f"DROP TRIGGER items_fts_{trigger}")
        else:
            cur.execute("ALTER TABLE items DROP COLUMN search_vector")


def analyze(store: SQLStore) -> None:
    """Table statistics, as autovacuum (PostgreSQL) or `PRAGMA optimize` keep them."""
    with store.transaction() as cur:
        cur.execute("ANALYZE")


def search_ms(store: SQLStore, query: str, repeat: int = 20) -> tuple[float, int]:
    """Median milliseconds of one search (20 best stories), and how many it found."""
    tree = parse_query(query)
    times, found = [], 0
    for _ in range(repeat):
        started = time.perf_counter()
        found = len(store.search(tree, limit=20))
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), found


@contextmanager
def stores(engine: str, postgres: str | None) -> Iterator[tuple[SQLStore, SQLStore]]:
    """A store with the index and one without, of `engine`."""
    if engine == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            pair = (
                open_store(f"sqlite:///{folder}/with.db"),
                open_store(f"sqlite:///{folder}/without.db"),
            )
            yield pair
            for store in pair:
                store.close()
        return
    from tests.conftest import postgres_schema

    assert postgres is not None
    with postgres_schema(postgres) as first, postgres_schema(postgres) as second:
        pair = (open_store(first), open_store(second))
        yield pair
        for store in pair:
            store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--postgres", metavar="URL", help="also bench PostgreSQL at URL")
    args = parser.parse_args()
    made = items(args.items)
    for engine in ["sqlite"] + (["postgresql"] if args.postgres else []):
        with stores(engine, args.postgres) as (indexed, plain):
            drop_index(plain)
            without = store_all(plain, made)
            with_index = store_all(indexed, made)
            print(
                f"{engine}, {args.items} items: store {without * 1e6:.0f} us/item without "
                f"the index, {with_index * 1e6:.0f} us/item with it "
                f"(+{(with_index - without) * 1e6:.0f} us)"
            )
            analyze(indexed)
            for query in QUERIES:
                ms, found = search_ms(indexed, query)
                print(f"  search {query!r}: {ms:.1f} ms median, {found} stories")


if __name__ == "__main__":
    main()
