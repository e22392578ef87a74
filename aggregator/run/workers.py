"""Parsing and processing documents off the event loop: in a thread, or in worker processes.

Parsing, sanitizing, fingerprinting and matching are CPU-bound Python. In the polling
process they hold the GIL, so a large cycle (a cold start over a thousand feeds)
would use one core while the others idle. A pool of worker processes spreads the
documents over the cores. Workers are spawned (fresh interpreters importing only the
processing modules), never forked from the polling process with its threads, sockets
and database handles; starting them costs about a second, once per process. A worker
exits on its own when the polling process is gone, even after a SIGKILL, so a crashed
or killed service never leaves orphans behind.

Small cycles (a scheduler tick that finds a few sources due) stay in a thread: the
pool starts lazily, the first time a cycle is large enough to gain from it, serves the
later cycles, and stops once idle for POOL_IDLE_SECONDS (started again when needed).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import logging
import multiprocessing
import multiprocessing.connection
import os
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, cast

from aggregator.core.match import TopicMatcher, compile_topics
from aggregator.core.match.matcher import TopicRules
from aggregator.core.process import ProcessedFeed, process_feed
from aggregator.sources.parse import parse_feed

if TYPE_CHECKING:  # a worker process never imports the config models (pydantic)
    from aggregator.config import Config

log = logging.getLogger("aggregator.run.workers")

MAX_DEFAULT_WORKERS = 4
# What a worker compiles a topic from: the fields of the TopicRules protocol.
RULE_FIELDS = tuple(TopicRules.__annotations__)


@dataclass(frozen=True, slots=True)
class MatchRules:
    """What a worker needs to build the topic matcher; `digest` names the version.

    Topics travel as plain dicts of their rule fields, not as the config's pydantic
    models, so a worker never imports pydantic (about 11 MB of resident memory each).
    """

    digest: str
    topics: tuple[dict[str, Any], ...]
    terms: Mapping[str, list[str]]
    synonyms: Mapping[str, list[str]]

    @classmethod
    def of(cls, config: Config) -> MatchRules:
        topics = tuple({name: getattr(topic, name) for name in RULE_FIELDS}
                       for topic in config.topics)
        # what a worker compiles
        payload = json.dumps([topics, config.terms, config.synonyms], sort_keys=True)
        digest = hashlib.sha256(payload.encode()).hexdigest()[:16]
        return cls(digest, topics, dict(config.terms), dict(config.synonyms))

    def compile(self) -> TopicMatcher:
        topics = [cast(TopicRules, SimpleNamespace(**topic)) for topic in self.topics]
        return compile_topics(topics, self.terms, self.synonyms)


@dataclass(frozen=True, slots=True)
class DocumentJob:
    """One fetched document to process, with what is known of its entries already
    (see aggregator.core.process: `known` from the store, `seen` from earlier polls)."""

    source: str
    tags: tuple[str, ...]
    body: bytes
    url: str
    content_type: str | None
    seen_at: datetime
    known: Mapping[str, str]
    seen: Mapping[bytes, str]
    fingerprint_all: bool = False  # dedupe scope "all"


class WorkerDied(Exception):
    """A worker process ended while processing (killed, out of memory, a crash in C)."""


def default_workers() -> int:
    """One worker per CPU this process may use, at most MAX_DEFAULT_WORKERS; none on one CPU
    (a worker would only compete with the polling process)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 0 if (cpus or 1) < 2 else min(cpus or 1, MAX_DEFAULT_WORKERS)


class DocumentProcessor:
    """Processes documents for one pipeline; the process pool is shared by all of them."""

    def __init__(self, config: Config, matcher: TopicMatcher):
        self.rules = MatchRules.of(config)
        self.matcher = matcher
        configured = config.fetch.workers
        self.workers = default_workers() if configured is None else configured

    async def process(self, job: DocumentJob, *, parallel: bool) -> ProcessedFeed:
        """Process `job` in a worker process when `parallel` (and workers are configured),
        else in a thread. Raises what processing raises (FeedParseError, ...)."""
        if not (parallel and self.workers):
            return await asyncio.to_thread(run_job_with, self.matcher, job)
        with _leased_pool(self.workers) as pool:
            try:
                return await asyncio.get_running_loop().run_in_executor(pool, run_job,
                                                                        self.rules, job)
            except BrokenProcessPool:
                _discard_pool(pool)
                raise WorkerDied("a worker process died while processing the document") from None


# -- inside a worker -------------------------------------------------------------------

_matchers: dict[str, TopicMatcher] = {}


def run_job(rules: MatchRules, job: DocumentJob) -> ProcessedFeed:
    """Entry point in a worker process: compile the rules once per version, process."""
    matcher = _matchers.get(rules.digest)
    if matcher is None:
        _matchers.clear()  # a reloaded config replaces the old rules
        matcher = _matchers[rules.digest] = rules.compile()
    return run_job_with(matcher, job)


def run_job_with(matcher: TopicMatcher, job: DocumentJob) -> ProcessedFeed:
    """Parse and process one document (raises FeedParseError for what is not a feed)."""
    feed = parse_feed(job.body, job.url, job.content_type)
    return process_feed(job.source, job.tags, feed, job.seen_at, matcher, job.known, job.seen,
                        job.fingerprint_all)


def exit_with_parent() -> None:
    """Run in each worker as it starts: exit as soon as the process that started it is
    gone. A pool's workers otherwise wait forever on their task queue once the polling
    process is killed (SIGKILL runs no cleanup), each holding its memory."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# -- the shared pool -------------------------------------------------------------------

# A pool no job has used for this long is shut down (and started again by the next large
# cycle, in about a second). Between large cycles a service processes the few sources
# each tick finds due in a thread, and idle workers held ~50 MB each for nothing.
POOL_IDLE_SECONDS = 300.0

_pool: ProcessPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_pool_busy = 0  # jobs running in the pool now
_pool_last_used = 0.0  # time.monotonic() when the pool last started or finished a job


def _shared_pool(size: int) -> ProcessPoolExecutor:
    with _pool_lock:
        return _pool_locked(size)


def _pool_locked(size: int) -> ProcessPoolExecutor:
    global _pool, _pool_size, _pool_last_used
    if _pool is None or _pool_size != size:
        if _pool is not None:
            _pool.shutdown(wait=False, cancel_futures=True)
        context = multiprocessing.get_context("spawn")
        _pool = ProcessPoolExecutor(max_workers=size, mp_context=context,
                                    initializer=exit_with_parent)
        _pool_size = size
        _pool_last_used = time.monotonic()
        threading.Thread(target=_retire_when_idle, args=(_pool,), name="pool-retire",
                         daemon=True).start()
        log.info("started %d document worker processes", size)
    return _pool


@contextlib.contextmanager
def _leased_pool(size: int) -> Iterator[ProcessPoolExecutor]:
    """The shared pool, counted busy while the caller's job runs (`_retire_when_idle`)."""
    global _pool_busy, _pool_last_used
    with _pool_lock:
        pool = _pool_locked(size)
        _pool_busy += 1
    try:
        yield pool
    finally:
        with _pool_lock:
            _pool_busy -= 1
            _pool_last_used = time.monotonic()


def _retire_when_idle(pool: ProcessPoolExecutor) -> None:
    """Shut `pool` down once no job has used it for POOL_IDLE_SECONDS (its own thread;
    ends when the pool is replaced or shut down otherwise)."""
    global _pool
    while True:
        time.sleep(POOL_IDLE_SECONDS / 4)
        with _pool_lock:
            if _pool is not pool:
                return
            if _pool_busy or time.monotonic() - _pool_last_used < POOL_IDLE_SECONDS:
                continue
            _pool = None
        log.info("stopped the document worker processes, idle for %.0f s", POOL_IDLE_SECONDS)
        pool.shutdown(wait=True)
        return


def _discard_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


@atexit.register
def shutdown_pool() -> None:
    """Stop the worker processes (at exit; tests call it to start from scratch)."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
