"""The topic_curation table: stories a curator hid from a topic or pinned in it.

The action is recorded on a copy (the story's primary when it was taken) and a story
is hidden or pinned when one of its copies is, so merging and splitting stories (which
move copies, not actions) carry it along. Every change bumps the topic's version, so
its feeds are rendered again without the hidden story or with the pinned one first.
"""

from __future__ import annotations

from aggregator import clock
from aggregator.models import CuratedStory
from aggregator.store.engine import Cursor, marks, retried
from aggregator.store.topics import ACTIONS, Topics


class NotInTopic(ValueError):
    """The story is not among the topic's stories: there is nothing to hide or pin."""


class Curation(Topics):
    """Hiding and pinning stories per topic."""

    def _story_items(self, cur: Cursor, item_id: str) -> list[str]:
        cur.execute(
            "SELECT item_id FROM items WHERE story_id = "
            "(SELECT story_id FROM items WHERE item_id = ?)",
            (item_id,),
        )
        return [row[0] for row in cur.fetchall()]

    @retried
    def curate(self, topic: str, item_id: str, action: str) -> None:
        """Hide the story of `item_id` from `topic`, or pin it there (replacing what the
        curator decided about it there before). Raises NotInTopic when the topic does
        not have the story, KeyError when no such item is stored."""
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r}")
        with self.transaction() as cur:
            copies = self._story_items(cur, item_id)
            if not copies:
                raise KeyError(item_id)
            cur.execute(
                "SELECT 1 FROM matches m JOIN items i ON i.story_id = m.story_id "
                "WHERE m.topic = ? AND i.item_id = ? LIMIT 1",
                (topic, item_id),
            )
            if cur.fetchone() is None:
                raise NotInTopic(f"the story of {item_id} is not in topic {topic!r}")
            cur.execute(
                f"DELETE FROM topic_curation WHERE topic = ? AND item_id IN ({marks(copies)})",
                (topic, *copies),
            )
            cur.execute(
                "INSERT INTO topic_curation (topic, item_id, action, decided_at) "
                "VALUES (?, ?, ?, ?)",
                (topic, item_id, action, clock.now()),
            )
            self._bump_topics(cur, [topic], clock.now())

    @retried
    def uncurate(self, topic: str, item_id: str, action: str) -> int:
        """Undo `action` (unhide, unpin) on the story of `item_id` in `topic`; return how
        many recorded actions were removed (0: there was none)."""
        with self.transaction() as cur:
            cur.execute(
                "DELETE FROM topic_curation WHERE topic = ? AND action = ? AND item_id "
                "IN (SELECT item_id FROM items WHERE story_id = "
                "(SELECT story_id FROM items WHERE item_id = ?)) RETURNING item_id",
                (topic, action, item_id),
            )
            removed = len(cur.fetchall())
            if removed:
                self._bump_topics(cur, [topic], clock.now())
            return removed

    @retried
    def curated_stories(
        self,
        topic: str | None = None,
        story_id: str | None = None,
    ) -> list[CuratedStory]:
        """The curator's standing actions, in a topic or on a story (or all), newest
        first, each with the story's title as shown now."""
        where, params = [], []
        if topic is not None:
            where.append("c.topic = ?")
            params.append(topic)
        if story_id is not None:
            where.append("i.story_id = ?")
            params.append(story_id)
        with self.transaction(write=False) as cur:
            cur.execute(
                "SELECT c.topic, i.story_id, c.item_id, p.title, c.action, c.decided_at "
                "FROM topic_curation c JOIN items i ON i.item_id = c.item_id "
                "JOIN stories s ON s.story_id = i.story_id "
                "JOIN items p ON p.item_id = s.primary_item_id"
                + (" WHERE " + " AND ".join(where) if where else "")
                + " ORDER BY c.decided_at DESC, c.item_id",
                params,
            )
            return [CuratedStory(*row) for row in cur.fetchall()]
