"""The matches and topic_state tables: which items each topic took, its feed version,
re-matching history, and reading a topic's stories."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from aggregator import clock
from aggregator.core.dedupe.decide import match_changes
from aggregator.core.dedupe.text import is_release
from aggregator.models import (
    StoredItem,
    StoredStory,
    StoryCopy,
    TermHit,
    hits_from_json,
    hits_to_json,
    utc_datetime,
)
from aggregator.store.engine import Cursor, StoreEngine, chunks, marks, retried
from aggregator.store.rows import ITEM_COLUMNS, stored_item

#: A curator's actions on a topic's stories (`aggregator.store.curation`).
HIDE = "hide"
PIN = "pin"
ACTIONS = (HIDE, PIN)
#: The stories of a topic (first parameter) with an action (second parameter).
CURATED_STORIES = (
    "SELECT DISTINCT ci.story_id FROM topic_curation c JOIN items ci ON ci.item_id = c.item_id "
    "WHERE c.topic = ? AND c.action = ?"
)


class Topics(StoreEngine):
    """Matches, topic versions and topic reads."""

    def _write_matches(
        self,
        cur: Cursor,
        item_id: str,
        story_id: str,
        matches: dict[str, list[TermHit]],
        now: float,
        *,
        new: bool,
    ) -> set[str]:
        """Replace an item's matches (a `new` one has none yet); return the topics whose
        feeds change."""
        before: dict[str, str] = {}
        if not new:
            cur.execute("SELECT topic, hits FROM matches WHERE item_id = ?", (item_id,))
            before = dict(cur.fetchall())
        changes = match_changes(before, {t: hits_to_json(h) for t, h in matches.items()})
        for topic in changes.delete:
            cur.execute("DELETE FROM matches WHERE topic = ? AND item_id = ?", (topic, item_id))
        for topic, hits in changes.upsert.items():
            cur.execute(
                "INSERT INTO matches (topic, item_id, story_id, hits, matched_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (topic, item_id) DO UPDATE SET "
                "hits = excluded.hits, matched_at = excluded.matched_at",
                (topic, item_id, story_id, hits, now),
            )
        return set(changes.bump)

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
            return [stored_item(row) for row in cur.fetchall()]

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
        now = clock.now()
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
            for item_id, (_, hits) in matches.items():
                hits_json = hits_to_json(hits)
                if before.get(item_id) == hits_json:
                    continue
                # The item's story as stored now: a late join in this re-match may
                # have moved it since the caller read it.
                cur.execute(
                    "INSERT INTO matches (topic, item_id, story_id, hits, matched_at) "
                    "SELECT ?, item_id, story_id, ?, ? FROM items WHERE item_id = ? "
                    "ON CONFLICT (topic, item_id) DO UPDATE SET "
                    "hits = excluded.hits, matched_at = excluded.matched_at",
                    (topic, hits_json, now, item_id),
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

    @retried
    def topic_stories(self, topic: str, limit: int, offset: int = 0) -> list[StoredStory]:
        """A page of a topic's stories, each with copies and matched terms: the ones the
        curator pinned first, then newest first; the ones hidden from it left out."""
        with self.transaction(write=False) as cur:
            cur.execute(
                "SELECT s.story_id, s.published, s.updated, s.primary_item_id FROM stories s "
                f"LEFT JOIN ({CURATED_STORIES}) p ON p.story_id = s.story_id "
                "WHERE s.story_id IN (SELECT story_id FROM matches WHERE topic = ?) "
                f"AND s.story_id NOT IN ({CURATED_STORIES}) "
                "ORDER BY CASE WHEN p.story_id IS NULL THEN 1 ELSE 0 END, "
                "s.published DESC, s.story_id DESC LIMIT ? OFFSET ?",
                (topic, PIN, topic, topic, HIDE, limit, offset),
            )
            return self._load_stories(cur, topic, cur.fetchall())

    def _load_stories(
        self, cur: Cursor, topic: str, stories: list[tuple[str, float, float, str]]
    ) -> list[StoredStory]:
        """The stories of `stories` rows (id, published, updated, primary item id), in
        that order, with their copies and their hits in `topic`."""
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
            stored = stored_item(row)
            items_by_story.setdefault(stored.story_id, []).append(stored)
        cur.execute(
            f"SELECT story_id, hits FROM matches WHERE topic = ? "
            f"AND story_id IN ({marks(ids)}) "
            "ORDER BY item_id",
            (topic, *ids),
        )
        hits_by_story: dict[str, list[TermHit]] = {}
        for story_id, hits in cur.fetchall():
            hits_by_story.setdefault(story_id, []).extend(hits_from_json(hits))
        result = []
        for story_id, published, updated, primary_id in stories:
            items = items_by_story.get(story_id, [])
            primary = next((i for i in items if i.item_id == primary_id), items[0])
            copies = [
                StoryCopy(
                    item_id=i.item_id,
                    source=i.source,
                    link=i.link,
                    title=i.title,
                    published=utc_datetime(i.published),
                    coverage=not is_release(i.content_text or i.summary_text),
                )
                for i in items
                if i.item_id != primary.item_id
            ]
            unique_hits = list(dict.fromkeys(hits_by_story.get(story_id, [])))
            result.append(StoredStory(story_id, published, updated, primary, copies, unique_hits))
        return result

    @retried
    def topic_story_count(self, topic: str) -> int:
        """How many stories the topic's feeds show (those hidden from it not counted)."""
        with self.transaction(write=False) as cur:
            cur.execute(
                "SELECT COUNT(DISTINCT story_id) FROM matches WHERE topic = ? "
                f"AND story_id NOT IN ({CURATED_STORIES})",
                (topic, topic, HIDE),
            )
            return int(cur.fetchone()[0])

    @retried
    def item_matches(self, item_id: str) -> dict[str, list[TermHit]]:
        with self.transaction(write=False) as cur:
            cur.execute("SELECT topic, hits FROM matches WHERE item_id = ?", (item_id,))
            return {topic: hits_from_json(hits) for topic, hits in cur.fetchall()}
