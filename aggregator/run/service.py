"""The running service: config, store, pipeline, feed cache and the poll scheduler.

APScheduler (3.x, asyncio) ticks every few seconds; each tick asks the store to lease
the sources that are due to this process and polls them. Leasing through the store
is what lets one process or many share the work: on SQLite it is a plain update in a
write transaction, on PostgreSQL a `FOR UPDATE SKIP LOCKED` claim with an expiry, so
a dead worker's sources are taken over once its leases lapse. The store is the only
coordinator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from aggregator import clock, metrics
from aggregator.config import Config, ConfigError, load_config
from aggregator.models import WebhookStatus
from aggregator.publish.cache import FeedService
from aggregator.run.cycle import CycleReport, Pipeline
from aggregator.run.hubping import HubPinger
from aggregator.run.webhooks import Notifier
from aggregator.run.websub import Subscriber
from aggregator.store import SQLStore, StoreError, open_store

log = logging.getLogger("aggregator.run.service")

TICK_SECONDS = 5.0
# Sources claimed at a time: a backlog is shared out in batches, so every worker
# takes part instead of the first one to tick claiming everything due.
CLAIM_BATCH_PER_FETCH_SLOT = 2
RENEW_CHECK_SECONDS = 60.0  # how often WebSub leases are checked for renewal


@dataclass(slots=True)
class CycleStatus:
    last_started: float | None = None
    last_finished: float | None = None
    last_error: str | None = None


class Service:
    """Owns everything a running process needs; the web app and CLI hold one."""

    def __init__(self, config: Config, config_path: Path | None = None, *, role: str = "all"):
        self.config = config
        self.config_path = config_path
        self.role = role
        self.worker_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lease_seconds = config.fetch.lease
        self.store: SQLStore = open_store(config.storage_url())
        self.pipeline = Pipeline(config, self.store)
        self.feeds = FeedService(config, self.store)
        self.websub = Subscriber(config, self.store, self.pipeline)
        self.pinger = HubPinger(config, self.store, lambda: self.feeds.forget_versions(),
                                delay=self.feeds.version_ttl if role == "worker" else 0.0)
        self.notifier = Notifier(config, self.store)
        self.scheduler: AsyncIOScheduler | None = None
        self.cycle = CycleStatus()
        self._tick_task: asyncio.Task | None = None
        self._stopping = False
        self.store_error: str | None = None

    # -- lifecycle ----------------------------------------------------------------

    def prepare(self) -> None:
        self.pipeline.prepare()
        self.pinger.start()

    def start_scheduler(self) -> None:
        """Start polling (roles all and worker)."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        scheduler.add_job(
            self.tick, "interval", seconds=TICK_SECONDS, id="poll-due", max_instances=1,
            coalesce=True, next_run_time=_now_datetime(), misfire_grace_time=None,
        )
        scheduler.add_job(
            self.websub.renew_due, "interval", seconds=RENEW_CHECK_SECONDS, id="websub-renew",
            max_instances=1, coalesce=True,
        )
        scheduler.add_job(
            self.purge, "interval", hours=6, id="retention", max_instances=1, coalesce=True,
        )
        scheduler.start()
        self.scheduler = scheduler
        self.notifier.start()
        log.info("scheduler started as worker %s", self.worker_id)

    @property
    def scheduler_running(self) -> bool:
        return self.scheduler is not None and self.scheduler.running and not self._stopping

    def begin_shutdown(self) -> None:
        """Take no new polls from now on; /readyz turns 503. Safe in a signal handler."""
        self._stopping = True

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking new polls, let the current one finish within `grace`, release leases.

        `grace` defaults to `[server] shutdown_grace`. A poll cancelled here loses
        nothing: each source's results are committed in one transaction, and an
        uncommitted source is simply polled again next time.
        """
        self.begin_shutdown()
        grace = self.config.server.shutdown_grace if grace is None else grace
        if self.scheduler is not None and self.scheduler.running:
            # pause, not shutdown: APScheduler's asyncio executor cancels running jobs
            # on shutdown, which would cut the in-flight poll off without any grace.
            self.scheduler.pause()
        task = self._tick_task
        if task is not None and not task.done():
            log.info("waiting up to %.0fs for the poll in progress", grace)
            try:
                await asyncio.wait_for(asyncio.shield(task), timeout=grace)
            except TimeoutError:
                log.warning("poll still running after %.0fs: cancelling it; sources not "
                            "yet committed are polled again on the next start", grace)
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.notifier.stop()
        try:
            self.store.release_leases(self.worker_id)
        except StoreError as error:
            log.warning("could not release leases: %s", error)
        self.store.close()

    # -- polling ------------------------------------------------------------------

    async def tick(self) -> None:
        """Poll whatever is due now (runs from the scheduler)."""
        if self._stopping:
            return
        self._tick_task = asyncio.current_task()
        try:
            await self.poll_due()
            self.store_error = None
            self.notifier.wake()  # after the polls committed: their new stories notify
        except StoreError as error:
            self.store_error = str(error)
            self.cycle.last_error = str(error)
            log.error("store unavailable, will retry: %s", error)
        except Exception as error:
            self.cycle.last_error = f"{type(error).__name__}: {error}"
            log.exception("poll cycle failed")
        except asyncio.CancelledError:
            # Only `stop` cancels a tick, and it has said so; ending quietly here keeps
            # APScheduler from logging the cancellation as a job failure.
            pass
        finally:
            self._tick_task = None

    async def poll_due(self) -> CycleReport | None:
        """Lease due sources a batch at a time and poll them until none is due.

        Returns the last batch's report (None when nothing was due). While a batch
        runs its leases are renewed, so a slow batch is never taken over by another
        worker; each source's lease ends when its poll is committed.
        """
        self.cycle.last_started = clock.now()
        batch = self.config.fetch.concurrency * CLAIM_BATCH_PER_FETCH_SLOT
        report = None
        while not self._stopping:
            claimed = await asyncio.to_thread(
                self.store.claim_due_sources, self.worker_id, clock.now(), self.lease_seconds,
                self.pipeline.enabled_sources(), batch,
            )
            if not claimed:
                break
            renewal = asyncio.create_task(self._renew_leases())
            try:
                report = await self.pipeline.run_cycle(claimed)
            finally:
                renewal.cancel()
            self.pinger.changed()
            self.cycle.last_finished = clock.now()
            self.cycle.last_error = None
        self.cycle.last_finished = clock.now()
        return report

    async def _renew_leases(self) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            try:
                await asyncio.to_thread(self.store.renew_leases, self.worker_id,
                                        clock.now() + self.lease_seconds)
            except StoreError as error:
                log.warning("could not renew leases: %s", error)

    async def purge(self) -> None:
        cutoff = clock.now() - self.config.storage.retention_days * 86400
        removed = await asyncio.to_thread(self.store.purge, cutoff)
        if removed:
            log.info("retention: removed %d items older than %d days", removed,
                     self.config.storage.retention_days)

    # -- config reload ------------------------------------------------------------

    def reload(self) -> list[str]:
        """Re-read the config file; on problems keep the running config and return them."""
        if self.config_path is None:
            return ["no config file to reload"]
        try:
            new = load_config(self.config_path)
        except ConfigError as error:
            log.error("config reload rejected, keeping the running config:\n%s", error.report())
            return error.problems
        if new.storage_url() != self.config.storage_url():
            log.warning("storage URL changes need a restart; keeping the current store")
            new = new.model_copy(update={"storage": self.config.storage})
        self.config = new
        self.pipeline = Pipeline(new, self.store)
        changed = self.pipeline.prepare()
        self.feeds = FeedService(new, self.store)
        self.websub.attach(new, self.pipeline)
        self.pinger.config = new
        self.notifier.config = new
        log.info(
            "config reloaded: %d sources, %d topics; re-matched %s",
            len(new.sources), len(new.topics),
            ", ".join(f"{slug} ({n} changes)" for slug, n in changed.items()) or "nothing",
        )
        return []

    # -- readiness ----------------------------------------------------------------

    def readiness(self) -> dict[str, object]:
        """What /readyz reports: store reachable, scheduler running, last cycle recent."""
        checks: dict[str, object] = {}
        try:
            self.store.ping()
            checks["store"] = "ok"
        except Exception as error:  # any driver error means not ready
            checks["store"] = f"unreachable: {error}"
        if self.role in ("all", "worker"):
            checks["scheduler"] = "running" if self.scheduler_running else "stopped"
            finished = self.cycle.last_finished
            limit = max(TICK_SECONDS * 6, 60.0)
            recent = finished is not None and clock.now() - finished < limit
            checks["last_cycle"] = (
                "never" if finished is None else f"{clock.now() - finished:.0f}s ago"
            )
            checks["cycle_recent"] = recent
        ready = checks["store"] == "ok" and (
            self.role == "web" or (checks["scheduler"] == "running" and checks["cycle_recent"])
        )
        checks["ready"] = ready
        if webhooks := self.webhook_status():
            checks["webhooks"] = webhooks
        return checks

    async def take_push(self, sub_id: str, body: bytes, signature: str | None,
                        content_type: str | None) -> int:
        """A hub's POST on /websub/<sub_id>: process it, ping our own hub; the status.
        The feeds this process serves show the pushed stories at once: waiting out their
        version cache (a second) would be most of the latency push saves."""
        status, report = await self.websub.receive(sub_id, body, signature, content_type)
        if report is not None:
            self.feeds.forget_versions()
            self.pinger.changed()
        return status

    def webhook_status(self) -> dict[str, dict[str, object]]:
        """Per topic with a webhook: deliveries pending, delivered and given up, the
        last delivery and the last error (informational: they never make /readyz fail,
        a receiver being down is not this service's fault)."""
        if not any(topic.webhook for topic in self.config.topics):
            return {}
        try:
            stored = self.store.webhook_status()
        except StoreError as error:
            return {"error": {"store": str(error)}}
        status = {}
        for topic in self.config.topics:
            if topic.webhook:
                one = stored.get(topic.slug, WebhookStatus())
                status[topic.slug] = {
                    "pending": one.pending, "delivered": one.delivered, "failed": one.failed,
                    "last_delivered": one.last_delivered, "last_error": one.last_error,
                }
        return status

    def refresh_topic_gauges(self) -> None:
        for topic in self.config.topics:
            metrics.PUBLISHED.labels(topic.slug).set(self.store.topic_story_count(topic.slug))


def _now_datetime():
    return clock.utcnow()
