"""The stories and story_bands tables: which story an item is in, the band index its
copies are found by, and reading a story's copies.

Deciding is not done here: the store reads the candidate copies (or a story's copies)
and applies what `aggregator.core.dedupe.decide` returns.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from aggregator import clock
from aggregator.core.dedupe import SCHEME, Fingerprint, lead_of
from aggregator.core.dedupe import fingerprint as dedupe_fingerprint
from aggregator.core.dedupe.core import is_name_key
from aggregator.core.dedupe.decide import decide_story, story_row
from aggregator.core.dedupe.event import EVENT_HOURS, TermStats
from aggregator.core.dedupe.text import RELEASE_HEAD_CHARS, is_release
from aggregator.models import (
    UNFINGERPRINTED,
    Candidate,
    LateFingerprint,
    MergePolicy,
    StoredItem,
    StoryMember,
    StoryRow,
)
from aggregator.store.engine import Cursor, chunks, marks, retried
from aggregator.store.rows import ITEM_COLUMNS, stored_item
from aggregator.store.topics import Topics

CANDIDATE_COLUMNS = (
    "i.item_id, i.story_id, i.canonical_link, i.published, i.first_seen, i.fingerprint"
)
#: Copies sharing a MinHash band read per new item at most (the most recent).
MAX_CANDIDATES = 300
#: Items sharing names read per new item at most (those sharing the most names): each
#: is decoded and weighed, so this bounds a decision's cost.
MAX_EVENT_CANDIDATES = 20
#: Copies of one candidate story checked against the new item at most.
MAX_MEMBERS = 100
#: How far back the document frequencies are seeded from when a process starts.
STATS_DAYS = 30.0
STATS_ITEMS = 20_000


def _candidates(cur: Cursor, sql: str, params: Sequence[object]) -> list[Candidate]:
    cur.execute(sql, params)
    return [Candidate(*row) for row in cur.fetchall()]


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
            found += _candidates(
                cur,
                f"SELECT {CANDIDATE_COLUMNS} FROM items i WHERE i.canonical_link = ? "
                "AND i.published >= ? AND i.published <= ? AND i.fingerprint <> ? "
                "ORDER BY i.first_seen LIMIT 1",
                (canonical_link, *window, UNFINGERPRINTED),
            )
        copy_keys = [band for band in fingerprint.bands if not is_name_key(band)]
        if copy_keys:
            found += _candidates(
                cur,
                f"SELECT DISTINCT {CANDIDATE_COLUMNS} FROM story_bands b "
                f"JOIN items i ON i.item_id = b.item_id WHERE b.band IN ({marks(copy_keys)}) "
                "AND b.published >= ? AND b.published <= ? "
                "ORDER BY i.published DESC, i.item_id LIMIT ?",
                (*copy_keys, *window, MAX_CANDIDATES),
            )
        name_keys = [band for band in fingerprint.bands if is_name_key(band)]
        if name_keys:
            # Reports of one event come within EVENT_HOURS and share several names: the
            # items sharing the most are read, a few; a name every item carries (a
            # city, a regulator) brings many that share only it.
            hours = (published - EVENT_HOURS * 3600, published + EVENT_HOURS * 3600)
            found += _candidates(
                cur,
                f"SELECT {CANDIDATE_COLUMNS} FROM items i JOIN (SELECT b.item_id, "
                f"COUNT(*) AS shared FROM story_bands b WHERE b.band IN ({marks(name_keys)}) "
                "AND b.published >= ? AND b.published <= ? GROUP BY b.item_id "
                "ORDER BY shared DESC, b.item_id LIMIT ?) n ON n.item_id = i.item_id",
                (*name_keys, *hours, MAX_EVENT_CANDIDATES),
            )
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
        """The story an item joins: an existing one it copies or reports the same news
        as, else its own. Reads what `decide_story` needs and lets it decide."""
        candidates = self._story_candidates(cur, canonical_link, fingerprint, published, policy)
        verdict = decide_story(
            item_id, canonical_link, fingerprint, published, candidates, policy,
            members=self._story_members(cur, {c.story_id for c in candidates}),
            stats=self._event_stats(cur),
            apart=self._apart_from(cur, item_id),
        )
        return verdict.story_id or item_id

    def _story_members(self, cur: Cursor, story_ids: set[str]) -> dict[str, list[Candidate]]:
        """The fingerprinted copies of each story, as candidates (a bounded number)."""
        members: dict[str, list[Candidate]] = {}
        for chunk in chunks(sorted(story_ids)):
            cur.execute(
                f"SELECT {CANDIDATE_COLUMNS} FROM items i WHERE i.story_id IN ({marks(chunk)}) "
                "AND i.fingerprint <> ? ORDER BY i.published, i.item_id",
                (*chunk, UNFINGERPRINTED),
            )
            for row in cur.fetchall():
                copies = members.setdefault(row[1], [])
                if len(copies) < MAX_MEMBERS:
                    copies.append(Candidate(*row))
        return members

    def _event_stats(self, cur: Cursor) -> TermStats:
        """This process's document frequencies, seeded once from the recent stored
        items, then kept up to date as items are stored (`_count_terms`)."""
        stats = getattr(self, "_term_stats", None)
        if stats is None:
            stats = TermStats()
            cur.execute(
                "SELECT fingerprint FROM items WHERE fingerprint <> ? AND published >= ? "
                "ORDER BY published DESC LIMIT ?",
                (UNFINGERPRINTED, clock.now() - STATS_DAYS * 86400, STATS_ITEMS),
            )
            for (stored,) in cur.fetchall():
                with contextlib.suppress(ValueError):
                    stats.add(Fingerprint.from_json(stored).event)
            self._term_stats = stats
        return stats

    def _count_terms(self, cur: Cursor, fingerprint: Fingerprint) -> None:
        self._event_stats(cur).add(fingerprint.event)

    def _apart_from(self, cur: Cursor, item_id: str) -> frozenset[str]:
        """The items a curator split from `item_id` (`aggregator split`)."""
        cur.execute(
            "SELECT other_id FROM story_decisions WHERE item_id = ? AND same = 0 "
            "UNION SELECT item_id FROM story_decisions WHERE other_id = ? AND same = 0",
            (item_id, item_id),
        )
        return frozenset(row[0] for row in cur.fetchall())

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
        self._count_terms(cur, late.fingerprint)
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
        every committed copy. The row keeps its id (concurrent writers find it by it);
        what readers see as the story's identity is its primary copy (feed entry ids).
        """
        cur.execute(
            # Only the opening says whether a copy is a release (`is_release` reads its
            # first 260 characters): a story's every copy is read on each refresh.
            "SELECT item_id, source, published, first_seen, updated, "
            "substr(CASE WHEN content_text <> '' THEN content_text ELSE summary_text END, 1, "
            f"{RELEASE_HEAD_CHARS}) FROM items WHERE story_id = ?",
            (story_id,),
        )
        copies = [StoryMember(*row[:5], release=is_release(row[5])) for row in cur.fetchall()]
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

    # -- a curator's decisions ---------------------------------------------------------

    def _record_decision(self, cur: Cursor, item_id: str, other_id: str, same: bool) -> None:
        first, second = sorted((item_id, other_id))
        cur.execute(
            "INSERT INTO story_decisions (item_id, other_id, same, decided_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (item_id, other_id) DO UPDATE SET "
            "same = excluded.same, decided_at = excluded.decided_at",
            (first, second, int(same), clock.now()),
        )

    def _story_of(self, cur: Cursor, item_id: str) -> str:
        cur.execute("SELECT story_id FROM items WHERE item_id = ?", (item_id,))
        row = cur.fetchone()
        if row is None:
            raise KeyError(item_id)
        return str(row[0])

    def _move_to_story(self, cur: Cursor, where: str, params: Sequence[object],
                       story_id: str) -> None:
        """Put the items `where` selects (and their matches) in story `story_id`."""
        cur.execute(f"UPDATE matches SET story_id = ? WHERE item_id IN "
                    f"(SELECT item_id FROM items WHERE {where})", (story_id, *params))
        cur.execute(f"UPDATE items SET story_id = ? WHERE {where}", (story_id, *params))

    def _settle(self, cur: Cursor, story_ids: Sequence[str], policy: MergePolicy) -> list[str]:
        """Write the rows of stories whose copies changed, drop emptied ones, and bump
        the topics that show them; return the ids of those that still have copies."""
        topics = self._topics_of_stories(cur, story_ids)
        settled = []
        for story_id in sorted(set(story_ids)):
            cur.execute("SELECT 1 FROM items WHERE story_id = ? LIMIT 1", (story_id,))
            if cur.fetchone() is None:
                cur.execute("DELETE FROM stories WHERE story_id = ?", (story_id,))
                continue
            cur.execute("INSERT INTO stories (story_id, primary_item_id, published, updated) "
                        "VALUES (?, ?, 0, 0) ON CONFLICT (story_id) DO NOTHING",
                        (story_id, story_id))
            self._refresh_story(cur, story_id, policy)
            settled.append(story_id)
        self._bump_topics(cur, topics | self._topics_of_stories(cur, settled), clock.now())
        return settled

    @retried
    def merge_stories(self, item_id: str, other_id: str, policy: MergePolicy) -> str:
        """A curator's decision that the stories of two items are one; return its id.
        Recorded, so later decisions (`redecide`) keep them together."""
        with self.transaction() as cur:
            story, other_story = self._story_of(cur, item_id), self._story_of(cur, other_id)
            self._record_decision(cur, item_id, other_id, same=True)
            self._lock_stories(cur, sorted({story, other_story}))
            if other_story != story:
                self._move_to_story(cur, "story_id = ?", (other_story,), story)
            return self._settle(cur, [story, other_story], policy)[0]

    @retried
    def split_item(self, item_id: str, policy: MergePolicy) -> str:
        """A curator's decision that an item is a story of its own, apart from every
        other copy of the story it was in; return the story the others stay in (the
        item's own id when it was alone). Later items and `redecide` respect it."""
        with self.transaction() as cur:
            story = self._story_of(cur, item_id)
            cur.execute("SELECT item_id FROM items WHERE story_id = ? AND item_id <> ?",
                        (story, item_id))
            others = sorted(row[0] for row in cur.fetchall())
            if not others:
                return item_id
            self._lock_stories(cur, [story])
            for other in others:
                self._record_decision(cur, item_id, other, same=False)
            rest = others[0] if story == item_id else story
            self._move_to_story(cur, "story_id = ? AND item_id <> ?", (story, item_id), rest)
            self._move_to_story(cur, "item_id = ?", (item_id,), item_id)
            settled = self._settle(cur, [story, rest, item_id], policy)
            return next(s for s in settled if s != item_id)

    @retried
    def story_decisions(self, item_id: str) -> dict[str, bool]:
        """The curator's decisions about `item_id`: other item -> same story or not."""
        with self.transaction(write=False) as cur:
            cur.execute("SELECT other_id, same FROM story_decisions WHERE item_id = ? "
                        "UNION ALL SELECT item_id, same FROM story_decisions WHERE other_id = ?",
                        (item_id, item_id))
            return {other: bool(same) for other, same in cur.fetchall()}

    @retried
    def term_stats(self) -> TermStats:
        """The document frequencies the story decision weighs words with (`explain`)."""
        with self.transaction(write=False) as cur:
            return self._event_stats(cur)

    # -- deciding again ----------------------------------------------------------------

    @retried
    def needs_redecide(self) -> bool:
        """True when the newest fingerprinted item was decided with another scheme than
        this version's (an upgrade changed how stories are recognised)."""
        with self.transaction(write=False) as cur:
            cur.execute("SELECT fingerprint FROM items WHERE fingerprint <> ? "
                        "ORDER BY published DESC LIMIT 1", (UNFINGERPRINTED,))
            row = cur.fetchone()
        if row is None:
            return False
        try:
            return Fingerprint.from_json(row[0]).scheme != SCHEME
        except ValueError:
            return True

    @retried
    def redecide(self, policy: MergePolicy) -> int:
        """Decide every fingerprinted item's story again, oldest first, as if it arrived
        now: fingerprints recomputed from the stored text, the document frequencies
        learned again on the way, and then the curator's decisions applied on top. One
        transaction: items, matches and decisions are all kept, only stories change.
        Returns the number of stories after."""
        with self.transaction() as cur:
            self._lock_migrations(cur)  # one process re-decides; others wait, then see it done
            cur.execute(f"SELECT {ITEM_COLUMNS} FROM items WHERE fingerprint <> ? "
                        "ORDER BY published, item_id", (UNFINGERPRINTED,))
            items = [stored_item(row) for row in cur.fetchall()]
            cur.execute("DELETE FROM story_bands")
            for item in items:
                self._move_to_story(cur, "item_id = ?", (item.item_id,), item.item_id)
            cur.execute("DELETE FROM stories WHERE story_id NOT IN (SELECT story_id FROM items)")
            self._term_stats = TermStats()
            for item in items:
                self._redecide_item(cur, item, policy)
            cur.execute("SELECT item_id, other_id FROM story_decisions WHERE same = 1")
            for item_id, other_id in cur.fetchall():
                with contextlib.suppress(KeyError):  # one of them purged since
                    story, other = self._story_of(cur, item_id), self._story_of(cur, other_id)
                    if story != other:
                        self._move_to_story(cur, "story_id = ?", (other,), story)
            cur.execute("SELECT DISTINCT story_id FROM items")
            stories = [row[0] for row in cur.fetchall()]
            return len(self._settle(cur, stories, policy))

    def _redecide_item(self, cur: Cursor, item: StoredItem, policy: MergePolicy) -> None:
        fingerprint = dedupe_fingerprint(item.title_text,
                                         lead_of(item.summary_text, item.content_text))
        cur.execute("UPDATE items SET fingerprint = ? WHERE item_id = ?",
                    (fingerprint.to_json(), item.item_id))
        story_id = self._assign_story(cur, item.item_id, item.canonical_link, fingerprint,
                                      item.published, policy)
        if story_id != item.item_id:
            self._move_to_story(cur, "item_id = ?", (item.item_id,), story_id)
        self._insert_bands(cur, item.item_id, item.published, fingerprint)
        self._count_terms(cur, fingerprint)
