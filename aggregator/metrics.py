"""Prometheus metrics, in one registry per process, exposed at /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

POLLS = Counter(
    "aggregator_polls_total", "Source polls by outcome", ["source", "outcome"], registry=REGISTRY
)
FETCH_SECONDS = Histogram(
    "aggregator_fetch_seconds", "Time to fetch one source", registry=REGISTRY,
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
FETCH_BYTES = Counter("aggregator_fetch_bytes_total", "Bytes fetched", registry=REGISTRY)
ITEMS_STORED = Counter(
    "aggregator_items_stored_total", "Items stored, new or updated", ["kind"], registry=REGISTRY
)
DUPLICATES_MERGED = Counter(
    "aggregator_duplicates_merged_total", "New items merged into an existing story",
    registry=REGISTRY,
)
CYCLE_SECONDS = Histogram(
    "aggregator_cycle_seconds", "Duration of a poll cycle", registry=REGISTRY,
    buckets=(0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300),
)
CONSECUTIVE_FAILURES = Gauge(
    "aggregator_source_consecutive_failures", "Consecutive failed polls", ["source"],
    registry=REGISTRY,
)
LAST_SUCCESS = Gauge(
    "aggregator_source_last_success_timestamp_seconds", "Time of the last successful poll",
    ["source"], registry=REGISTRY,
)
PUBLISHED = Gauge(
    "aggregator_topic_stories", "Stories published per topic", ["topic"], registry=REGISTRY
)
FEED_REQUESTS = Counter(
    "aggregator_feed_requests_total", "Feed requests by format and response status",
    ["format", "status"], registry=REGISTRY,
)
FEED_RENDERS = Counter(
    "aggregator_feed_renders_total",
    "Feed documents rendered (once per topic version, page and format; never per poll)",
    ["format"], registry=REGISTRY,
)
WEBSUB_PUSHES = Counter(
    "aggregator_websub_pushes_total",
    "Content pushed by WebSub hubs, by result (processed, refused: bad or no signature, "
    "gone: no such subscription)",
    ["result"], registry=REGISTRY,
)
HUB_PINGS = Counter(
    "aggregator_websub_hub_pings_total", "Publish pings to [server] hub, by result (ok, failed)",
    ["result"], registry=REGISTRY,
)
