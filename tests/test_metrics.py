"""/metrics after a real poll cycle, scraped over HTTP and read with Prometheus's parser."""

from __future__ import annotations

import time
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import E2E, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.servicerun import ServiceProcess, running_service, wait_until

OK_SOURCES = {"Test Wire": "wire.rss", "Nuvexa Newsroom": "newsroom.atom",
              "Science Releases": "science.rdf"}
MISSING = "Gone Missing Daily"


def scrape(service: ServiceProcess) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample as (name, sorted labels) -> value."""
    status, body = service.get("/metrics")
    assert status == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def test_metrics_describe_the_cycle_that_ran(feed_server: FeedServer, tmp_path: Path) -> None:
    sources = serve_e2e_feeds(feed_server)
    sources[MISSING] = feed_server.url("/no-such-feed.rss")
    config = write_config(tmp_path / "config.toml", sources)
    started = time.time()
    with running_service(config) as service:
        wait_until(lambda: len(service.poll_events()) == 4, 20, "the first cycle")
        wait_until(lambda: service.get("/readyz")[0] == 200, 10, "readiness")
        polls = {e["source"]: e for e in service.poll_events()}
        samples = scrape(service)

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    for name in OK_SOURCES:
        assert value("aggregator_polls_total", source=name, outcome="new") == 1
        assert value("aggregator_source_consecutive_failures", source=name) == 0
        assert started <= value("aggregator_source_last_success_timestamp_seconds",
                                source=name) <= time.time()
    assert value("aggregator_polls_total", source=MISSING, outcome="error") == 1
    assert value("aggregator_source_consecutive_failures", source=MISSING) == 1
    assert ("aggregator_source_last_success_timestamp_seconds",
            (("source", MISSING),)) not in samples

    assert value("aggregator_fetch_seconds_count") == 4
    assert value("aggregator_fetch_seconds_bucket", le="+Inf") == 4
    assert value("aggregator_fetch_seconds_sum") > 0
    fixture_bytes = sum((E2E / f).stat().st_size for f in OK_SOURCES.values())
    assert value("aggregator_fetch_bytes_total") == fixture_bytes + polls[MISSING]["bytes"]
    assert value("aggregator_items_stored_total", kind="new") == 7
    assert value("aggregator_items_stored_total", kind="updated") == 0
    assert value("aggregator_duplicates_merged_total") == sum(e["merged"] for e in polls.values())
    assert value("aggregator_duplicates_merged_total") >= 1  # the Nuvexa release, twice
    assert value("aggregator_cycle_seconds_count") >= 1
    assert value("aggregator_topic_stories", topic="car-t-lupus") == 3
