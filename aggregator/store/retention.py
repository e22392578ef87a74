"""Retention: deleting items older than the configured days, with everything of theirs."""

from __future__ import annotations

from aggregator import clock
from aggregator.core.dedupe import Fingerprint
from aggregator.models import UNFINGERPRINTED
from aggregator.store.engine import chunks, marks, retried
from aggregator.store.topics import Topics


class Retention(Topics):
    """purge."""

    @retried
    def purge(self, before: float) -> int:
        """Delete items published before `before` (retention); return how many.

        The topics that had taken any of them get a new version in the same transaction:
        feeds are cached per topic version, so without it a purged story would be served
        from the cache until the topic next changed for another reason.
        """
        with self.transaction() as cur:
            cur.execute(
                "SELECT item_id, published, fingerprint FROM items WHERE published < ?", (before,)
            )
            expired = cur.fetchall()
            # Band rows are found by their key, read back from each item's fingerprint:
            # an index on story_bands.item_id would cost every insert (34 per item) for
            # the sake of this rare delete.
            cur.executemany(
                "DELETE FROM story_bands WHERE band = ? AND published = ? AND item_id = ?",
                [
                    (band, published, item_id)
                    for item_id, published, stored in expired
                    if stored != UNFINGERPRINTED
                    for band in set(Fingerprint.from_json(stored).bands)
                ],
            )
            ids = [row[0] for row in expired]
            touched: set[str] = set()
            for chunk in chunks(ids):
                cur.execute(
                    f"SELECT DISTINCT topic FROM matches WHERE item_id IN ({marks(chunk)})",
                    tuple(chunk),
                )
                touched |= {row[0] for row in cur.fetchall()}
                for table in ("matches", "topic_curation", "items"):
                    cur.execute(
                        f"DELETE FROM {table} WHERE item_id IN ({marks(chunk)})", tuple(chunk)
                    )
            cur.execute("DELETE FROM stories WHERE story_id NOT IN (SELECT story_id FROM items)")
            self._bump_topics(cur, touched, clock.now())
        return len(ids)
