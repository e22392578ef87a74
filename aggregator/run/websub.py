"""WebSub subscriber (W3C WebSub Recommendation, sections 5-7): push instead of poll.

A source whose feed names a hub (see aggregator.sources.hublinks) is subscribed there:
a POST of hub.mode=subscribe with the topic, a callback on this service's public base
URL (/websub/<sub_id>), a secret of its own and the lease we ask for. The hub then
verifies our intent with a GET on the callback, answered with its challenge only while
that subscription of that topic is pending (or being renewed). Content the hub pushes
is accepted only with a valid X-Hub-Signature (an HMAC of the body with the
subscription's secret) and goes through `Pipeline.process_pushed`, the same
processing and write as a polled document. A lease is renewed once less than
RENEW_FRACTION of it is left; polling goes on meanwhile at `[websub]
fallback_interval` at most (see `Pipeline._schedule`), in case the hub falls silent.

State lives in the store (aggregator.store.websub), so the process that polls, the one
that answers the callbacks and a restarted one all agree.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

import httpx

from aggregator import clock, metrics
from aggregator.config import Config
from aggregator.models import Subscription
from aggregator.run.cycle import Pipeline, SourceReport
from aggregator.sources.hublinks import HubLinks
from aggregator.store import SQLStore

log = logging.getLogger("aggregator.websub")

CALLBACK_PATH = "/websub/"
# The hash functions WebSub 7.1 allows in X-Hub-Signature: <method>=<hex digest>.
SIGNATURES: dict[str, Callable[..., Any]] = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}
RENEW_FRACTION = 0.2  # renew when less than a fifth of the granted lease is left
RETRY_SECONDS = 3600.0  # a refused or never-verified subscription is asked again after this
HUB_TIMEOUT = 10.0
ACCEPTING = ("active", "renewing")  # states in which pushes are taken
VERIFYING = ("pending", "renewing")  # states in which a subscribe intent is confirmed


def signature_valid(secret: str, body: bytes, header: str | None) -> bool:
    """Whether `header` (X-Hub-Signature: method=hexdigest) signs `body` with `secret`."""
    method, _, digest = (header or "").partition("=")
    algorithm = SIGNATURES.get(method.strip().lower())
    if algorithm is None or not digest:
        return False
    expected = hmac.new(secret.encode(), body, algorithm).hexdigest()
    return hmac.compare_digest(expected, digest.strip().lower())


class Subscriber:
    """Subscribes sources at their hubs, answers the hubs, takes their pushes."""

    def __init__(self, config: Config, store: SQLStore, pipeline: Pipeline) -> None:
        self.store = store
        self._tasks: set[asyncio.Task[None]] = set()
        self.attach(config, pipeline)

    def attach(self, config: Config, pipeline: Pipeline) -> None:
        """Serve `pipeline` (a new one after a config reload): learn of its hubs, tell it
        which sources are pushed."""
        self.config = config
        self.pipeline = pipeline
        pipeline.on_hub = self.hub_seen
        self.refresh_pushed()

    def refresh_pushed(self) -> None:
        """Tell the pipeline which sources have a live subscription (store read)."""
        now = clock.now()
        self.pipeline.pushed = {
            sub.source
            for sub in self.store.subscriptions()
            if sub.state in ACCEPTING and (sub.expires_at or 0) > now
        }

    def callback_url(self, sub_id: str) -> str:
        return self.config.server.public_base() + CALLBACK_PATH + sub_id

    # -- subscribing -------------------------------------------------------------------

    def hub_seen(self, source: str, links: HubLinks) -> None:
        """A processed document of `source` names a hub: subscribe unless already done
        (in the background; a poll never waits for a hub)."""
        if self.config.websub.subscribe:
            self._background(self._subscribe_if_new(source, links))

    async def _subscribe_if_new(self, source: str, links: HubLinks) -> None:
        subs = await asyncio.to_thread(self.store.subscriptions)
        current = next((sub for sub in subs if sub.source == source), None)
        same = current is not None and (current.hub, current.topic) == (links.hub, links.topic)
        if (
            same
            and current is not None
            and (current.state in ACCEPTING or clock.now() - current.updated_at < RETRY_SECONDS)
        ):
            return
        await self.subscribe(source, links)

    async def subscribe(
        self, source: str, links: HubLinks, renewing: Subscription | None = None
    ) -> Subscription:
        """Ask `links.hub` for `links.topic` (a renewal keeps the callback and secret);
        the subscription stays pending until the hub verifies it."""
        now = clock.now()
        if renewing is not None:
            sub = replace(
                renewing,
                state="renewing"
                if renewing.state in ACCEPTING and (renewing.expires_at or 0) > now
                else "pending",
                updated_at=now,
                error=None,
            )
        else:
            sub = Subscription(
                uuid.uuid4().hex,
                source,
                links.topic,
                links.hub,
                secrets.token_hex(20),
                "pending",
                now,
            )
        await asyncio.to_thread(self.store.save_subscription, sub)
        form = {
            "hub.mode": "subscribe",
            "hub.topic": sub.topic,
            "hub.callback": self.callback_url(sub.sub_id),
            "hub.secret": sub.secret,
            "hub.lease_seconds": str(int(self.config.websub.lease)),
        }
        try:
            async with httpx.AsyncClient(timeout=HUB_TIMEOUT) as client:
                response = await client.post(sub.hub, data=form)
            error = None if response.is_success else f"hub answered {response.status_code}"
        except httpx.HTTPError as problem:
            error = f"hub unreachable: {type(problem).__name__}: {problem}"
        if error is not None:
            sub = replace(sub, state="denied", error=error)
            await asyncio.to_thread(self.store.save_subscription, sub)
            log.warning("websub: subscribing %s at %s failed: %s", source, sub.hub, error)
        else:
            log.info("websub: asked %s for %s (%s)", sub.hub, sub.topic, source)
        return sub

    async def renew_due(self) -> int:
        """Renew the leases that end soon or have ended; how many were asked again. The
        subscriptions of sources gone from the config (or disabled), or all of them with
        `[websub] subscribe = false`, are left to lapse."""
        subs = await asyncio.to_thread(self.store.subscriptions)
        now = clock.now()
        wanted = self._wanted_sources() if self.config.websub.subscribe else set()
        due = [
            sub
            for sub in subs
            if sub.source in wanted
            and sub.state in ACCEPTING
            and sub.expires_at is not None
            and sub.expires_at - now < RENEW_FRACTION * (sub.lease_seconds or 0)
        ]
        for sub in due:
            await self.subscribe(sub.source, HubLinks(sub.hub, sub.topic), renewing=sub)
        await asyncio.to_thread(self.refresh_pushed)
        return len(due)

    # -- the callback ------------------------------------------------------------------

    def verify(self, sub_id: str, params: dict[str, str]) -> tuple[int, str]:
        """Answer a hub's GET on the callback (WebSub 5.3): (status, body)."""
        sub = self.store.subscription(sub_id)
        mode, topic = params.get("hub.mode"), params.get("hub.topic")
        if sub is None or topic != sub.topic:
            return 404, "no such subscription"
        if mode == "denied":
            self.store.save_subscription(
                replace(
                    sub,
                    state="denied",
                    updated_at=clock.now(),
                    error=f"hub denied: {params.get('hub.reason') or 'no reason given'}",
                )
            )
            log.warning("websub: %s denied %s", sub.hub, sub.topic)
            return 200, ""
        challenge = params.get("hub.challenge")
        if mode != "subscribe" or sub.state not in VERIFYING or not challenge:
            return 404, "no such pending subscription"
        try:
            lease = float(params.get("hub.lease_seconds") or self.config.websub.lease)
        except ValueError:
            return 400, "hub.lease_seconds is not a number"
        now = clock.now()
        self.store.save_subscription(
            replace(
                sub, state="active", lease_seconds=lease, expires_at=now + lease, updated_at=now
            )
        )
        self.pipeline.pushed.add(sub.source)
        log.info("websub: %s verified for %s, lease %.0f s", sub.hub, sub.source, lease)
        return 200, challenge

    async def receive(
        self, sub_id: str, body: bytes, signature: str | None, content_type: str | None
    ) -> tuple[int, SourceReport | None]:
        """Take content a hub pushed (WebSub 7): (status, report when processed).
        Unsigned or wrongly signed content is refused and ignored."""
        sub = await asyncio.to_thread(self.store.subscription, sub_id)
        if sub is None or sub.state not in ACCEPTING or sub.source not in self._wanted_sources():
            metrics.WEBSUB_PUSHES.labels("gone").inc()
            return 410, None  # the hub may drop a subscription nobody holds
        if not signature_valid(sub.secret, body, signature):
            log.warning(
                "websub: refused a push for %s: %s X-Hub-Signature",
                sub.source,
                "bad" if signature else "no",
            )
            metrics.WEBSUB_PUSHES.labels("refused").inc()
            return 403, None
        report = await self.pipeline.process_pushed(sub.source, body, content_type, sub.topic)
        metrics.WEBSUB_PUSHES.labels("processed").inc()
        log.info("websub: push for %s: %s, %d new", sub.source, report.status, report.new)
        return 200, report

    def _wanted_sources(self) -> set[str]:
        return {source.name for source in self.config.sources if source.enabled}

    def _background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(_finished)
        task.add_done_callback(self._tasks.discard)


def _finished(task: asyncio.Task[None]) -> None:
    """Log what a background subscription task raised (nothing awaits it)."""
    if not task.cancelled() and task.exception() is not None:
        log.error("websub: subscribing failed", exc_info=task.exception())
