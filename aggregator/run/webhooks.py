"""Webhook notifications: each new story of a topic with a `webhook` is POSTed there as
JSON, signed with HMAC-SHA256 of the body in `X-Aggregator-Signature: sha256=<hex>`.

A background task of the service, never part of a poll: after each poll cycle it is
woken, reads the stories the committed polls brought into webhook topics, queues them in
the store (`aggregator.store.webhooks`, durable, one row per topic and story) and sends
what is due. A failed delivery (a connection error, a non-2xx answer) is tried again
after 5 s, 10 s, 20 s ... up to an hour apart, and given up after `MAX_ATTEMPTS`; the
counts and the last error show in /readyz and on the page.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Mapping

import httpx

from aggregator import clock
from aggregator.config import Config, TopicConfig
from aggregator.models import StoredStory, WebhookDelivery, utc_datetime
from aggregator.publish.page import feed_url
from aggregator.sources.fetch import user_agent
from aggregator.store import SQLStore, StoreError

log = logging.getLogger("aggregator.run.webhooks")

SIGNATURE_HEADER = "X-Aggregator-Signature"
DELIVERY_HEADER = "X-Aggregator-Delivery"
MAX_ATTEMPTS = 8
BACKOFF_FIRST = 5.0
BACKOFF_MAX = 3600.0
#: Longest wait between two looks for new stories and due deliveries.
IDLE_SECONDS = 30.0
TIMEOUT = 10.0


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_secret(topic: TopicConfig, environ: Mapping[str, str]) -> str | None:
    """The topic's secret: from the config, else $AGGREGATOR_WEBHOOK_SECRET_<SLUG>
    (upper case, '-' as '_'), else $AGGREGATOR_WEBHOOK_SECRET."""
    own = "AGGREGATOR_WEBHOOK_SECRET_" + topic.slug.upper().replace("-", "_")
    return topic.webhook_secret or environ.get(own) or environ.get("AGGREGATOR_WEBHOOK_SECRET")


def retry_delay(attempts: int, first: float = BACKOFF_FIRST) -> float:
    """Seconds before the next try after `attempts` failed ones (doubling, capped)."""
    return min(first * 2 ** (attempts - 1), BACKOFF_MAX)


def story_payload(topic: TopicConfig, story: StoredStory, base_url: str) -> str:
    """The JSON body announcing `story` in `topic`."""
    primary = story.primary
    return json.dumps(
        {
            "topic": {
                "slug": topic.slug,
                "title": topic.title,
                "feed": feed_url(base_url, topic.slug, "json"),
            },
            "story_id": story.story_id,
            "entry_id": primary.item_id,
            "title": primary.title,
            "link": primary.link,
            "source": primary.source,
            "published": utc_datetime(story.published).isoformat().replace("+00:00", "Z"),
            "also_on": [
                {"source": c.source, "link": c.link, "title": c.title} for c in story.copies
            ],
            "matched": list(dict.fromkeys(hit.term for hit in story.hits)),
        },
        ensure_ascii=False,
    )


class Notifier:
    """Queues and delivers the webhook notifications of one service process."""

    def __init__(
        self, config: Config, store: SQLStore, environ: Mapping[str, str] | None = None
    ) -> None:
        self.config = config  # the service replaces it on reload
        self.store = store
        self.environ = os.environ if environ is None else environ
        self.backoff_first = BACKOFF_FIRST
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def webhook_topics(self) -> list[TopicConfig]:
        return [topic for topic in self.config.topics if topic.webhook]

    def start(self) -> None:
        """Run in the background of the current event loop until `stop`."""
        self._task = asyncio.create_task(self._run(), name="webhooks")

    def wake(self) -> None:
        """Look for new stories now (a poll cycle committed)."""
        self._wake.set()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            while True:
                wait = IDLE_SECONDS
                try:
                    wait = await self.run_once(client)
                except StoreError as error:
                    log.warning("webhooks: store unavailable, will retry: %s", error)
                except Exception:
                    log.exception("webhooks: delivery round failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), wait)
                self._wake.clear()

    async def run_once(self, client: httpx.AsyncClient) -> float:
        """Queue the new stories, send every delivery due; return the seconds until
        the next one is due (at most IDLE_SECONDS)."""
        topics = self.webhook_topics()
        slugs = [topic.slug for topic in topics]
        for topic in topics:
            await asyncio.to_thread(self._queue_new, topic)
        lease = 2 * TIMEOUT + 5
        while deliveries := await asyncio.to_thread(self.store.claim_deliveries, slugs, lease):
            await asyncio.gather(*(self._deliver(client, each) for each in deliveries))
        due = await asyncio.to_thread(self.store.next_delivery_due, slugs)
        return IDLE_SECONDS if due is None else min(IDLE_SECONDS, max(0.05, due - clock.now()))

    def _queue_new(self, topic: TopicConfig) -> None:
        base = self.config.server.public_base()
        while True:
            stories, cursor = self.store.new_topic_stories(topic.slug)
            payloads = {story.story_id: story_payload(topic, story, base) for story in stories}
            self.store.queue_deliveries(topic.slug, payloads, cursor)
            if not stories:
                return

    async def _deliver(self, client: httpx.AsyncClient, delivery: WebhookDelivery) -> None:
        topic = next((t for t in self.webhook_topics() if t.slug == delivery.topic), None)
        if topic is None or topic.webhook is None:
            return  # the webhook was removed since it was queued: it stays pending
        error = None
        secret = webhook_secret(topic, self.environ)
        if secret is None:
            error = f"no secret: set webhook_secret or AGGREGATOR_WEBHOOK_SECRET for {topic.slug}"
        else:
            body = delivery.payload.encode()
            headers = {
                "Content-Type": "application/json",
                "User-Agent": user_agent(self.config.fetch.contact),
                SIGNATURE_HEADER: sign(secret, body),
                DELIVERY_HEADER: f"{delivery.topic}/{delivery.story_id}",
            }
            try:
                answer = await client.post(topic.webhook, content=body, headers=headers)
                if not answer.is_success:
                    error = f"HTTP {answer.status_code} from {topic.webhook}"
            except httpx.HTTPError as failure:
                error = f"{type(failure).__name__}: {failure or 'no answer'} ({topic.webhook})"
        attempts = delivery.attempts + 1
        retry_at = None
        if error is not None:
            log.warning("webhook %s, attempt %d: %s", delivery.topic, attempts, error)
            if attempts < MAX_ATTEMPTS:
                retry_at = clock.now() + retry_delay(attempts, self.backoff_first)
        await asyncio.to_thread(self.store.record_delivery, delivery, error, retry_at)
