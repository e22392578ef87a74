"""The webhook_deliveries and webhook_cursor tables: the queue of topic notifications.

New stories are found after the fact, from committed matches (`new_topic_stories`),
so a poll never waits on a notification and a story is queued only once its poll
committed. The queue is durable: a restart resumes pending deliveries, and the key
(topic, story) keeps a story from being queued twice, by one process or several.
"""

from __future__ import annotations

from collections.abc import Mapping

from aggregator import clock
from aggregator.models import StoredStory, WebhookDelivery, WebhookStatus
from aggregator.store.engine import marks, retried
from aggregator.store.topics import CURATED_STORIES, HIDE, Topics

#: How far back each look for new stories reaches before the cursor: a poll that
#: matched at an earlier time but committed after the last look is still seen.
OVERLAP_SECONDS = 120.0
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


class Webhooks(Topics):
    """Queueing, claiming and recording webhook deliveries."""

    @retried
    def new_topic_stories(self, topic: str, limit: int = 100) -> tuple[list[StoredStory], float]:
        """The topic's stories not yet queued whose every match came after its cursor,
        oldest first, and the cursor to pass to `queue_deliveries` with them.

        A topic seen for the first time starts at now: configuring a webhook does not
        send the stories the topic already had.
        """
        now = clock.now()
        with self.transaction() as cur:
            cur.execute(
                "INSERT INTO webhook_cursor (topic, matched_after) VALUES (?, ?) "
                "ON CONFLICT (topic) DO NOTHING",
                (topic, now),
            )
            cur.execute("SELECT matched_after FROM webhook_cursor WHERE topic = ?", (topic,))
            after = float(cur.fetchone()[0])
            cur.execute(
                "SELECT s.story_id, s.published, s.updated, s.primary_item_id, "
                "MAX(m.matched_at) FROM matches m JOIN stories s ON s.story_id = m.story_id "
                "WHERE m.topic = ? AND m.story_id NOT IN (SELECT story_id FROM "
                "webhook_deliveries WHERE topic = ?) "
                f"AND m.story_id NOT IN ({CURATED_STORIES}) "
                "GROUP BY s.story_id, s.published, s.updated, s.primary_item_id "
                "HAVING MIN(m.matched_at) > ? ORDER BY MAX(m.matched_at), s.story_id LIMIT ?",
                (topic, topic, topic, HIDE, after - OVERLAP_SECONDS, limit),
            )
            rows = cur.fetchall()
            cursor = max([after, *(row[4] for row in rows)])
            return self._load_stories(cur, topic, [row[:4] for row in rows]), cursor

    @retried
    def queue_deliveries(self, topic: str, payloads: Mapping[str, str], cursor: float) -> int:
        """Queue one delivery per story (story id -> JSON body) and move the topic's
        cursor; return how many were queued (a story queued before is skipped)."""
        now = clock.now()
        queued = 0
        with self.transaction() as cur:
            for story_id, payload in payloads.items():
                cur.execute(
                    "INSERT INTO webhook_deliveries (topic, story_id, payload, status, attempts, "
                    "next_attempt, queued_at) VALUES (?, ?, ?, ?, 0, ?, ?) "
                    "ON CONFLICT (topic, story_id) DO NOTHING RETURNING story_id",
                    (topic, story_id, payload, PENDING, now, now),
                )
                queued += len(cur.fetchall())
            cur.execute(
                "UPDATE webhook_cursor SET matched_after = ? WHERE topic = ? AND matched_after < ?",
                (cursor, topic, cursor),
            )
        return queued

    @retried
    def claim_deliveries(
        self, topics: list[str], lease: float, limit: int = 20
    ) -> list[WebhookDelivery]:
        """Pending deliveries of `topics` that are due, held for `lease` seconds (another
        process skips them meanwhile; one that dies leaves them due again)."""
        if not topics:
            return []
        now = clock.now()
        with self.transaction() as cur:
            cur.execute(
                f"SELECT topic, story_id FROM webhook_deliveries WHERE status = ? AND topic IN "
                f"({marks(topics)}) AND next_attempt <= ? ORDER BY next_attempt, queued_at LIMIT ?",
                (PENDING, *topics, now, limit),
            )
            claimed = []
            for topic, story_id in cur.fetchall():
                cur.execute(
                    "UPDATE webhook_deliveries SET next_attempt = ? WHERE topic = ? AND "
                    "story_id = ? AND status = ? AND next_attempt <= ? "
                    "RETURNING topic, story_id, payload, attempts",
                    (now + lease, topic, story_id, PENDING, now),
                )
                claimed += [WebhookDelivery(*row) for row in cur.fetchall()]
            return claimed

    @retried
    def record_delivery(
        self, delivery: WebhookDelivery, error: str | None, retry_at: float | None
    ) -> None:
        """Record an attempt: delivered (no `error`), due again at `retry_at`, or given
        up (an error and no retry time)."""
        now = clock.now()
        status = DELIVERED if error is None else PENDING if retry_at is not None else FAILED
        with self.transaction() as cur:
            cur.execute(
                "UPDATE webhook_deliveries SET status = ?, attempts = attempts + 1, "
                "next_attempt = ?, last_error = ?, delivered_at = ? "
                "WHERE topic = ? AND story_id = ?",
                (
                    status,
                    retry_at if retry_at is not None else now,
                    error,
                    now if error is None else None,
                    delivery.topic,
                    delivery.story_id,
                ),
            )

    @retried
    def next_delivery_due(self, topics: list[str]) -> float | None:
        """When the earliest pending delivery of `topics` is due (None: none pending)."""
        if not topics:
            return None
        with self.transaction(write=False) as cur:
            cur.execute(
                "SELECT MIN(next_attempt) FROM webhook_deliveries WHERE status = ? "
                f"AND topic IN ({marks(topics)})",
                (PENDING, *topics),
            )
            row = cur.fetchone()
            return None if row is None or row[0] is None else float(row[0])

    @retried
    def webhook_status(self) -> dict[str, WebhookStatus]:
        """Per topic: deliveries by status, the last success and the last error."""
        with self.transaction(write=False) as cur:
            cur.execute(
                "SELECT topic, status, COUNT(*), MAX(delivered_at) "
                "FROM webhook_deliveries GROUP BY topic, status"
            )
            counts: dict[str, dict[str, float]] = {}
            for topic, status, count, delivered in cur.fetchall():
                counts.setdefault(topic, {})[status] = count
                if delivered is not None:
                    counts[topic]["last"] = float(delivered)
            cur.execute(
                "SELECT topic, last_error FROM webhook_deliveries w WHERE last_error "
                "IS NOT NULL AND next_attempt = (SELECT MAX(next_attempt) FROM "
                "webhook_deliveries x WHERE x.topic = w.topic AND x.last_error IS "
                "NOT NULL)"
            )
            errors = dict(cur.fetchall())
        return {
            topic: WebhookStatus(
                pending=int(by.get(PENDING, 0)),
                delivered=int(by.get(DELIVERED, 0)),
                failed=int(by.get(FAILED, 0)),
                last_delivered=by.get("last"),
                last_error=errors.get(topic),
            )
            for topic, by in counts.items()
        }
