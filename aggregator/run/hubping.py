"""WebSub publisher side: ping `[server] hub` when a topic's feed changes.

The topic feeds advertise the hub (rel="hub" in Atom and RSS, `hubs` in JSON Feed, an
HTTP Link header); the hub learns of a change from a POST of hub.mode=publish with the
feed URLs (hub.url, once per format), the convention hubs share (the Recommendation
leaves it to the hub), and fetches the feeds to push them. A change is a new topic
version in the store; pings go out in the background and a failed one is only logged,
so a slow or dead hub never holds up a poll. The hub fetches the feeds at once, so
before a ping the feeds this process serves forget their cached topic versions, and a
worker whose feeds another process serves waits out that process's version cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx

from aggregator import metrics
from aggregator.config import Config
from aggregator.publish.page import feed_url
from aggregator.publish.render import FORMATS
from aggregator.store import SQLStore

log = logging.getLogger("aggregator.websub")

PING_TIMEOUT = 10.0


class HubPinger:
    """Remembers the topic versions it last saw; pings the hub for the topics changed."""

    def __init__(
        self, config: Config, store: SQLStore, before_ping: Callable[[], None], delay: float = 0.0
    ) -> None:
        self.config = config
        self.store = store
        self.before_ping = before_ping  # makes this process's feeds current
        self.delay = delay  # seconds another process's feeds may lag the store
        self._versions: dict[str, int] | None = None  # None: not read yet
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Learn the topic versions as they are now (changes are counted from here)."""
        self._versions = {
            slug: version for slug, (version, _) in self.store.topic_versions().items()
        }

    def changed(self) -> None:
        """Something may have changed topics: look and ping, in the background."""
        if self.config.server.hub:
            task = asyncio.get_running_loop().create_task(self.ping_changed())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def ping_changed(self) -> list[str]:
        """Ping the hub for each topic whose version moved since the last look (the first
        look only learns the versions); the slugs pinged."""
        hub = self.config.server.hub
        try:
            versions = {
                slug: version
                for slug, (version, _) in (
                    await asyncio.to_thread(self.store.topic_versions)
                ).items()
            }
        except Exception as error:  # a store hiccup costs one ping, never the poll
            log.warning("websub: could not read topic versions: %s", error)
            return []
        earlier, self._versions = self._versions, versions
        if hub is None or earlier is None:
            return []
        slugs = sorted(slug for slug, version in versions.items() if earlier.get(slug) != version)
        if not slugs:
            return []
        await asyncio.sleep(self.delay)
        self.before_ping()
        base = self.config.server.public_base()
        form = {
            "hub.mode": "publish",
            "hub.url": [feed_url(base, slug, fmt) for slug in slugs for fmt in FORMATS],
        }
        try:
            async with httpx.AsyncClient(timeout=PING_TIMEOUT) as client:
                response = await client.post(hub, data=form)
            if not response.is_success:
                log.warning(
                    "websub: hub %s answered %d to a publish ping", hub, response.status_code
                )
            metrics.HUB_PINGS.labels("ok" if response.is_success else "failed").inc()
        except httpx.HTTPError as error:
            log.warning("websub: could not ping hub %s: %s", hub, error)
            metrics.HUB_PINGS.labels("failed").inc()
        return slugs
