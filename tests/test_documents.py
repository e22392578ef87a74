"""Processing one document: which items are fingerprinted (the dedupe scope)."""

from __future__ import annotations

from datetime import UTC, datetime

from aggregator.config import TopicConfig
from aggregator.core.match import compile_topics
from aggregator.core.process import process_feed
from aggregator.sources.parse import parse_feed
from tests.harness import Entry, rss

TERMS = {"car_t": ["CAR-T"], "lupus": ["lupus"]}
TOPICS = [TopicConfig(slug="car-t-lupus", title="CAR-T in lupus",
                      require=["@car_t", "@lupus"]),
          TopicConfig(slug="wire-b", title="Wire B's oncology", include=["oncology"],
                      sources=["Wire B"])]
DOCUMENT = rss([
    Entry("on", "Nuvexa doses first lupus patient with CAR-T NVX-201"),
    Entry("near", "Nuvexa expands lupus program", summary="A teaser: no cell therapy named."),
    Entry("off", "Granite Foods opens a bakery in Ohio", summary="Bread, buns and rolls."),
    Entry("elsewhere", "Tessaly expands its oncology pipeline", summary="Two new programs."),
])


def process(fingerprint_all: bool) -> dict[str, tuple[bool, list[str]]]:
    """item key -> (fingerprinted, topics matched)."""
    feed = parse_feed(DOCUMENT, "https://wire.example/feed", "application/rss+xml")
    processed = process_feed(
        "Wire", [], feed, datetime(2026, 11, 25, tzinfo=UTC), compile_topics(TOPICS, TERMS),
        fingerprint_all=fingerprint_all,
    )
    return {record.item.key: (record.fingerprint is not None, sorted(record.matches))
            for record in processed.items}


def test_only_items_some_topic_touches_are_fingerprinted() -> None:
    assert process(fingerprint_all=False) == {
        "guid:on": (True, ["car-t-lupus"]),
        # One rule fails ("lupus" without CAR-T), but the topic's terms occur in it: it
        # may be a copy of a story the topic publishes, so it is fingerprinted.
        "guid:near": (True, []),
        "guid:off": (False, []),  # never published, never compared
        # A topic that draws only from Wire B: a copy here of one of its stories still
        # belongs in that story's "also on" list.
        "guid:elsewhere": (True, []),
    }


def test_scope_all_fingerprints_every_item() -> None:
    assert process(fingerprint_all=True) == {
        "guid:on": (True, ["car-t-lupus"]),
        "guid:near": (True, []),
        "guid:off": (True, []),
        "guid:elsewhere": (True, []),
    }
