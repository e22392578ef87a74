"""The stories and story_bands tables: which story an item is in, the band index its
copies are found by, and reading a story's copies.

Deciding is not done here: the store reads the candidate copies (or a story's copies)
and applies what `aggregator.core.dedupe.decide` returns.
"""

from __future__ import annotations

from collections.abc import Sequence

from aggregator import clock
from aggregator.core.dedupe import Fingerprint
from aggregator.core.dedupe.decide import decide_story, story_row
from aggregator.models import (
    UNFINGERPRINTED,
    Candidate,
    LateFingerprint,
    MergePolicy,
    StoredItem,
    StoryMember,
    StoryRow,
)
from aggregator.store.engine import Cursor, marks, retried
from aggregator.store.rows import ITEM_COLUMNS, stored_item
from aggregator.store.topics import Topics

CANDIDATE_COLUMNS = (
    "i.item_id, i.story_id, i.canonical_link, i.published, i.first_seen, i.fingerprint"
)


class Stories(Topics):
    """Story rows, their band index and candidates, and late joins."""

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

    def _insert_story(self, cur: Cursor, story: StoryRow) -> None:
        cur.execute(
            "INSERT INTO stories (story_id, primary_item_id, published, updated) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (story_id) DO NOTHING",
            (story.story_id, story.primary_item_id, story.published, story.updated),
        )

    def _story_candidates(
        self,
        cur: Cursor,
        canonical_link: str | None,
        fingerprint: Fingerprint,
        published: float,
        policy: MergePolicy,
    ) -> list[Candidate]:
        """The fingerprinted copies within the dedupe window an item may duplicate: the
        earliest seen with its canonical link, then every one sharing a band with it.

        Only the earliest same-link copy is read: a site whose entries all link to one
        page would otherwise make every new item read them all.
        """
        window = (published - policy.window_seconds, published + policy.window_seconds)
        found: list[Candidate] = []
        if canonical_link:
            cur.execute(
                f"SELECT {CANDIDATE_COLUMNS} FROM items i WHERE i.canonical_link = ? "
                "AND i.published >= ? AND i.published <= ? AND i.fingerprint <> ? "
                "ORDER BY i.first_seen LIMIT 1",
                (canonical_link, *window, UNFINGERPRINTED),
            )
            found += [Candidate(*row) for row in cur.fetchall()]
        bands = list(fingerprint.bands)
        if bands:
            cur.execute(
                f"SELECT DISTINCT {CANDIDATE_COLUMNS} FROM story_bands b "
                f"JOIN items i ON i.item_id = b.item_id WHERE b.band IN ({marks(bands)}) "
                "AND b.published >= ? AND b.published <= ?",
                (*bands, *window),
            )
            found += [Candidate(*row) for row in cur.fetchall()]
        return found

    def _assign_story(
        self,
        cur: Cursor,
        item_id: str,
        canonical_link: str | None,
        fingerprint: Fingerprint,
        published: float,
        policy: MergePolicy,
    ) -> str:
        """The story an item joins: an existing one it duplicates, else its own."""
        candidates = self._story_candidates(cur, canonical_link, fingerprint, published, policy)
        verdict = decide_story(item_id, canonical_link, fingerprint, candidates, policy)
        return verdict.story_id or item_id

    def _join_story(self, cur: Cursor, late: LateFingerprint, policy: MergePolicy) -> str | None:
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
        story_id = self._assign_story(
            cur, late.item_id, late.canonical_link, late.fingerprint, late.published, policy
        )
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
            cur.execute(
                "UPDATE matches SET story_id = ? WHERE item_id = ?", (story_id, late.item_id)
            )
            cur.execute(
                "DELETE FROM stories WHERE story_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM items WHERE story_id = ?)",
                (late.item_id, late.item_id),
            )
        return story_id

    @retried
    def join_stories(self, late: Sequence[LateFingerprint], policy: MergePolicy) -> dict[str, str]:
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
            self._bump_topics(cur, topics, clock.now())  # their feeds gained a copy
            return joined

    def _refresh_story(self, cur: Cursor, story_id: str, policy: MergePolicy) -> None:
        """Recompute a story's row (primary copy and dates, see `story_row`) from its
        copies. The caller has locked the story row (`_lock_stories`), so two workers
        adding copies to one story at once recompute it one after the other, each from
        every committed copy.
        """
        cur.execute(
            "SELECT item_id, source, published, first_seen, updated FROM items WHERE story_id = ?",
            (story_id,),
        )
        copies = [StoryMember(*row) for row in cur.fetchall()]
        if not copies:
            return
        story = story_row(story_id, copies, policy.source_preference)
        cur.execute(
            "UPDATE stories SET primary_item_id = ?, published = ?, updated = ? WHERE story_id = ?",
            (story.primary_item_id, story.published, story.updated, story_id),
        )

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
            return [stored_item(row) for row in cur.fetchall()]

    @retried
    def story_items(self, story_id: str) -> list[StoredItem]:
        with self.transaction(write=False) as cur:
            cur.execute(
                f"SELECT {ITEM_COLUMNS} FROM items WHERE story_id = ? ORDER BY published, item_id",
                (story_id,),
            )
            return [stored_item(row) for row in cur.fetchall()]
