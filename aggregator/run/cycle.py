"""One poll cycle: fetch → parse → normalize → dedupe fingerprint → match → store.

The cycle orchestrates I/O: it asks the store which sources to poll, fetches them
concurrently, hands each fetched document to `aggregator.run.workers` (the pure
processing in `aggregator.core.process`, in worker processes when the cycle is large)
and gives the outcomes to the store. A source that fails in any stage is recorded as
failed on that source; the others carry on.

Outcomes are written in batches (`aggregator.run.writes`), each source's poll still all
or nothing. At most `fetch.concurrency` sources are being fetched and processed, and
as many more processed and waiting to be written, which bounds the memory a cycle
holds however many sources it polls, while fetching and processing go on during a
write (holding the fetch slot until the write made workers idle through every write).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aggregator import clock, metrics
from aggregator.config import Config, SourceConfig
from aggregator.core.dedupe import stored_fingerprint
from aggregator.core.match import TopicMatcher, compile_topics
from aggregator.core.process import (
    ProcessedFeed,
    match_document,
    paragraph_counts,
    topic_matches,
)
from aggregator.models import (
    FetchRequest,
    FetchResult,
    FetchStatus,
    LateFingerprint,
    MergePolicy,
    PollOutcome,
    SourceState,
    StoredItem,
    TermHit,
    TopicMatch,
)
from aggregator.run.workers import DocumentJob, DocumentProcessor, WorkerDied
from aggregator.run.writes import BatchWriter, in_store_thread
from aggregator.sources.fetch import Fetcher
from aggregator.sources.hublinks import HubLinks, find_hub
from aggregator.sources.parse import FeedParseError
from aggregator.sources.polling import backoff_interval, mean_gap_seconds, next_interval
from aggregator.store import SQLStore, StoreError

log = logging.getLogger("aggregator.poll")

# A cycle over at least this many sources processes documents in worker processes;
# fewer (a scheduler tick, `aggregator poll --source X`) are not worth starting them.
PARALLEL_MIN_SOURCES = 8


@dataclass(slots=True)
class SourceReport:
    """What one source's poll did; one line of `aggregator poll`."""

    source: str
    status: str  # new | updated | unchanged | error | gone
    new: int = 0
    updated: int = 0
    merged: int = 0
    entries: int = 0
    bytes: int = 0
    elapsed: float = 0.0
    http_status: int | None = None
    error: str | None = None
    problem: str | None = None
    redirected_to: str | None = None


@dataclass(slots=True)
class _Polled:
    """A source fetched and processed, waiting to be written."""

    state: SourceState
    outcome: PollOutcome
    result: FetchResult
    processed: ProcessedFeed | None


@dataclass(slots=True)
class CycleReport:
    sources: list[SourceReport] = field(default_factory=list)
    elapsed: float = 0.0

    def total(self, attribute: str) -> int:
        return sum(getattr(report, attribute) for report in self.sources)

    def count(self, status: str) -> int:
        return sum(1 for report in self.sources if report.status == status)


def rules_hash(config: Config, slug: str) -> str:
    """A digest of everything that decides a topic's matches, to detect edits."""
    topic = config.topic(slug)
    payload = {
        "topic": topic.model_dump(
            exclude={"title", "description", "max_entries", "webhook", "webhook_secret"}
        ),
        "terms": config.terms,
        "synonyms": config.synonyms,
        "tags": {s.name: s.tags for s in config.sources},
        "dedupe_scope": config.dedupe.scope,  # "all" must fingerprint what "topics" did not
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def merge_policy(config: Config) -> MergePolicy:
    return MergePolicy(
        threshold=config.dedupe.threshold,
        window_seconds=config.dedupe.window_days * 86400,
        source_preference=tuple(config.dedupe.source_preference),
    )


class Pipeline:
    """Runs poll cycles for one config against one store."""

    def __init__(self, config: Config, store: SQLStore):
        self.config = config
        self.store = store
        self.matcher = compile_topics(config.topics, config.terms, config.synonyms)
        self.policy = merge_policy(config)
        self.processor = DocumentProcessor(config, self.matcher)
        self._sources = {source.name: source for source in config.sources}
        # Per source, the entries of its last stored document: digest -> item key.
        self._entry_keys: dict[str, dict[bytes, str]] = {}
        # Told of each processed document that names a WebSub hub (the subscriber).
        self.on_hub: Callable[[str, HubLinks], None] | None = None
        # Sources with an active push subscription: polled at the fallback pace.
        self.pushed: set[str] = set()

    def prepare(self) -> dict[str, int]:
        """Register sources and re-match history for topics whose rules changed.

        Returns topic slug -> number of changed matches, for topics re-matched.
        """
        self.store.sync_sources(
            [(s.name, self.config.source_location(s)) for s in self.config.sources]
        )
        self.store.cap_schedules(
            [(s.name, self.config.poll_bounds(s)[1]) for s in self.config.sources]
        )
        if self.store.needs_redecide():  # an upgrade changed how stories are recognised
            stories = self.store.redecide(self.policy)
            log.info("stories decided again with this version's rules: %d stories", stories)
        return rematch_changed_topics(self.config, self.store, self.matcher)

    def pending(self) -> list[str]:
        """What `prepare` would change in the store, found by reading only: sources to
        register (or whose URL changed) and topics to drop or to match. Commands that
        only read open the store for writing when, and only when, this is not empty."""
        config = self.config
        stored = {state.name: state.url
                  for state in self.store.source_states([s.name for s in config.sources])}
        changes = [f"source {source.name!r} to register" for source in config.sources
                   if stored.get(source.name) != config.source_location(source)]
        versions = self.store.topic_versions()
        slugs = {topic.slug for topic in config.topics}
        changes += [f"topic {slug!r} to drop" for slug in sorted(versions) if slug not in slugs]
        changes += [f"topic {slug!r} to match" for slug in sorted(slugs)
                    if versions.get(slug, (0, None))[1] != rules_hash(config, slug)]
        if self.store.needs_redecide():
            changes.append("stories to decide again with this version's rules")
        return changes

    async def process_pushed(self, name: str, body: bytes, content_type: str | None,
                             url: str) -> SourceReport:
        """Process and store a document a WebSub hub pushed for source `name`, exactly as a
        poll's document (same parsing, dedupe, topics and write); its report."""
        states = await in_store_thread("read", self.store.source_states, [name])
        source = self._sources.get(name)
        if not states or source is None:
            return SourceReport(name, "error", error="unknown source")
        state = states[0]
        result = FetchResult(
            name, url, FetchStatus.OK, final_url=url, http_status=200, body=body,
            content_type=content_type, etag=state.etag, last_modified=state.last_modified,
            bytes_read=len(body),
        )
        polled = await self._process_result(source, state, result, clock.utcnow(),
                                            parallel=False)
        async with BatchWriter(self.store, self.policy) as writer:
            return await self._write(writer, source, polled, pushed=True)

    def enabled_sources(self) -> list[str]:
        return [s.name for s in self.config.sources if s.enabled]

    async def run_cycle(
        self,
        names: Sequence[str] | None = None,
        *,
        on_source: Callable[[SourceReport], None] | None = None,
    ) -> CycleReport:
        """Poll `names` (default: every enabled source) now, whether due or not."""
        started = time.perf_counter()
        wanted = list(names) if names is not None else self.enabled_sources()
        states = {
            state.name: state
            for state in await in_store_thread("read", self.store.source_states, wanted)
        }
        report = CycleReport()
        parallel = len(wanted) >= PARALLEL_MIN_SOURCES
        unwritten = asyncio.Semaphore(self.config.fetch.concurrency)
        async with Fetcher(self.config.fetch) as fetcher, \
                BatchWriter(self.store, self.policy) as writer:

            async def poll(name: str) -> None:
                state = states.get(name)
                if state is None or not state.enabled:
                    source_report = SourceReport(
                        name, "error",
                        error=f"disabled: {state.disabled_reason}" if state else "unknown source",
                    )
                else:
                    source = self._sources[name]
                    async with fetcher.slot(state.current_url):
                        polled = await self._fetch_and_process(fetcher, source, state,
                                                               parallel=parallel)
                        # A place in the write queue before the slot goes: documents
                        # fetched and not yet stored stay under twice `fetch.concurrency`,
                        # and the next fetches and processing overlap this write.
                        await unwritten.acquire()
                    try:
                        source_report = await self._write(writer, source, polled)
                    finally:
                        unwritten.release()
                report.sources.append(source_report)
                if on_source:
                    on_source(source_report)

            polls = [asyncio.create_task(poll(name)) for name in wanted]
            try:
                await asyncio.gather(*polls)
            finally:  # one failed (the store is gone): stop the others, as a TaskGroup would
                for task in polls:
                    task.cancel()
                await asyncio.gather(*polls, return_exceptions=True)
        order = {name: index for index, name in enumerate(wanted)}
        report.sources.sort(key=lambda r: order.get(r.source, 0))
        report.elapsed = time.perf_counter() - started
        metrics.CYCLE_SECONDS.observe(report.elapsed)
        return report

    async def _fetch_and_process(
        self, fetcher: Fetcher, source: SourceConfig, state: SourceState, *, parallel: bool,
    ) -> _Polled:
        """Fetch and process one source, in a fetch slot the caller holds; never raises
        for the source's faults (they end up in the outcome)."""
        attempted = clock.utcnow()
        result = await fetcher.fetch_in_slot(
            FetchRequest(source.name, state.current_url, state.etag, state.last_modified)
        )
        return await self._process_result(source, state, result, attempted, parallel=parallel)

    async def _process_result(
        self, source: SourceConfig, state: SourceState, result: FetchResult,
        attempted: datetime, *, parallel: bool,
    ) -> _Polled:
        """Process one fetched (or pushed) document; never raises for the source's faults."""
        outcome = self._outcome_base(source, state, result, attempted)
        processed: ProcessedFeed | None = None
        if result.status is FetchStatus.OK and result.body is not None:
            try:
                processed = await self._process(source, result, attempted, parallel)
            except FeedParseError as error:
                outcome.status, outcome.error = "error", str(error)
            except WorkerDied as error:
                outcome.status, outcome.error = "error", f"processing failed: {error}"
            except StoreError:
                raise
            except Exception as error:  # a bug or hostile input must not stop the cycle
                log.exception("processing %s failed", source.name)
                outcome.status = "error"
                outcome.error = f"processing failed: {type(error).__name__}: {error}"
            result.body = None  # the document is processed; do not hold it until written
        if processed is not None:
            outcome.items = processed.items
            outcome.problem = processed.problem
            hub = find_hub(result.headers, processed.hubs, processed.self_url,
                           result.final_url or result.url)
            if hub is not None and self.on_hub is not None:
                self.on_hub(source.name, hub)
        self._schedule(outcome, source, state, result, processed)
        return _Polled(state, outcome, result, processed)

    async def _write(self, writer: BatchWriter, source: SourceConfig,
                     polled: _Polled, *, pushed: bool = False) -> SourceReport:
        """Store one processed poll; its report. A pushed document may hold only the new
        entries, so its keys join those of the last poll's document instead of replacing
        them (`_process` reads the stored hashes of exactly these keys); before any poll
        it records none, so the next poll reads every stored hash."""
        state, outcome = polled.state, polled.outcome
        result, processed = polled.result, polled.processed
        stored = await writer.write(outcome)
        earlier = self._entry_keys.get(source.name)
        if processed is not None and not (pushed and earlier is None):
            self._entry_keys[source.name] = {**(earlier if pushed else {}), **processed.keys}
        report = SourceReport(
            source=source.name,
            status=_report_status(outcome, stored.new, stored.updated),
            new=stored.new,
            updated=stored.updated,
            merged=stored.merged,
            entries=processed.entries if processed else 0,
            bytes=result.bytes_read,
            elapsed=result.elapsed,
            http_status=result.http_status,
            error=outcome.error,
            problem=outcome.problem,
            redirected_to=outcome.new_url,
        )
        _log_poll(report)
        _count_poll(report, state, outcome)
        return report

    async def _process(
        self, source: SourceConfig, result: FetchResult, attempted: datetime, parallel: bool
    ) -> ProcessedFeed:
        assert result.body is not None
        seen = self._entry_keys.get(source.name, {})
        # After this process's first poll of a source, only the keys of its last document
        # can be stored and changed (an edited entry keeps its key); a new key is new.
        known = await in_store_thread("read", self.store.item_hashes, source.name,
                                      set(seen.values()) if seen else None)
        job = DocumentJob(
            source=source.name, tags=tuple(source.tags), body=result.body,
            url=result.final_url or result.url, content_type=result.content_type,
            seen_at=attempted, known=known, seen=seen,
            fingerprint_all=self.config.dedupe.scope == "all",
        )
        return await self.processor.process(job, parallel=parallel)

    def _outcome_base(
        self, source: SourceConfig, state: SourceState, result: FetchResult, attempted: datetime
    ) -> PollOutcome:
        outcome = PollOutcome(
            source=source.name,
            attempted_at=attempted.timestamp(),
            status=result.status.value,
            elapsed=result.elapsed,
            next_poll=0.0,
            http_status=result.http_status,
            error=result.error,
            etag=result.etag,
            last_modified=result.last_modified,
        )
        if result.permanent_redirect and result.permanent_redirect != state.current_url:
            outcome.new_url = result.permanent_redirect
            log.warning(
                "source %s moved permanently: %s -> %s",
                source.name, state.current_url, result.permanent_redirect,
                extra={"event": "source_moved", "source": source.name,
                       "from_url": state.current_url, "to_url": result.permanent_redirect},
            )
        if result.status is FetchStatus.GONE:
            outcome.disable_reason = result.error
        return outcome

    def _schedule(
        self,
        outcome: PollOutcome,
        source: SourceConfig,
        state: SourceState,
        result: FetchResult,
        processed: ProcessedFeed | None,
    ) -> None:
        """Set the outcome's next poll time (see aggregator.sources.polling for the rules)."""
        fetch = self.config.fetch
        base, ceiling = self.config.poll_bounds(source)
        if outcome.status in ("ok", "not_modified"):
            interval = next_interval(
                base=base,
                maximum=ceiling,
                previous=state.poll_interval,
                changed=bool(processed and processed.items),
                mean_gap=mean_gap_seconds(processed.published, outcome.attempted_at)
                if processed else None,
                publisher_floor=result.retry_after,
                ttl_minutes=processed.ttl_minutes if processed else None,
            )
        else:
            interval = backoff_interval(
                base=base,
                failures=state.consecutive_failures + 1,
                cap=fetch.backoff_max,
                publisher_floor=result.retry_after,
            )
        if source.name in self.pushed and outcome.status in ("ok", "not_modified"):
            interval = max(interval, self.config.websub.fallback_interval)
        outcome.poll_interval = interval
        outcome.next_poll = outcome.attempted_at + interval


def rematch_changed_topics(
    config: Config, store: SQLStore, matcher: TopicMatcher
) -> dict[str, int]:
    """Apply new or edited topics to stored items within the retention window.

    Items come oldest first, a page at a time, each matched once. In each page, those
    stored outside the dedupe scope that the topics now take in are fingerprinted and
    merged into the stories they duplicate (`join_stories`) before the page's matches
    are recorded, so a topic's feed shows such an item once, as a copy.
    """
    store.drop_topics_except([topic.slug for topic in config.topics])
    versions = store.topic_versions()
    stale = [
        topic.slug for topic in config.topics
        if versions.get(topic.slug, (0, None))[1] != rules_hash(config, topic.slug)
    ]
    if not stale:
        return {}
    since = clock.now() - config.storage.retention_days * 86400
    tags = {source.name: source.tags for source in config.sources}
    policy = merge_policy(config)
    found: dict[str, dict[str, tuple[str, list[TermHit]]]] = {slug: {} for slug in stale}
    # a first pass learns each source's boilerplate from what the store holds
    counts = paragraph_counts(item for batch in store.items_since(since) for item in batch)
    for batch in store.items_since(since):
        late: list[LateFingerprint] = []
        page: list[tuple[StoredItem, list[TopicMatch]]] = []
        for stored in batch:
            document = match_document(
                stored, tags.get(stored.source, []), counts.repeated(stored.source)
            )
            results, in_scope = topic_matches(matcher, document)
            if not stored.fingerprinted and (in_scope or config.dedupe.scope == "all"):
                late.append(LateFingerprint(stored.item_id, stored.canonical_link,
                                            stored.published, stored_fingerprint(stored)))
            page.append((stored, results))
        moved = store.join_stories(late, policy) if late else {}
        for stored, results in page:
            story_id = moved.get(stored.item_id, stored.story_id)
            for match in results:
                if match.matched and match.topic in found:
                    found[match.topic][stored.item_id] = (story_id, match.hits)
    return {
        slug: store.replace_topic_matches(slug, found[slug], since, rules_hash(config, slug))
        for slug in stale
    }


def _report_status(outcome: PollOutcome, new: int, updated: int) -> str:
    if outcome.status in ("error", "gone"):
        return outcome.status
    if new:
        return "new"
    if updated:
        return "updated"
    return "unchanged"


def _count_poll(report: SourceReport, state: SourceState, outcome: PollOutcome) -> None:
    metrics.POLLS.labels(report.source, report.status).inc()
    metrics.FETCH_SECONDS.observe(report.elapsed)
    metrics.FETCH_BYTES.inc(report.bytes)
    metrics.ITEMS_STORED.labels("new").inc(report.new)
    metrics.ITEMS_STORED.labels("updated").inc(report.updated)
    metrics.DUPLICATES_MERGED.inc(report.merged)
    failed = report.status in ("error", "gone")
    failures = state.consecutive_failures + 1 if failed else 0
    metrics.CONSECUTIVE_FAILURES.labels(report.source).set(failures)
    if not failed:
        metrics.LAST_SUCCESS.labels(report.source).set(outcome.attempted_at)


def _log_poll(report: SourceReport) -> None:
    level = logging.WARNING if report.status in ("error", "gone") else logging.INFO
    log.log(
        level,
        "poll %s: %s",
        report.source,
        report.status,
        extra={
            "event": "poll",
            "source": report.source,
            "status": report.status,
            "duration_ms": round(report.elapsed * 1000, 1),
            "bytes": report.bytes,
            "new": report.new,
            "updated": report.updated,
            "merged": report.merged,
            "http_status": report.http_status,
            "error": report.error,
        },
    )
