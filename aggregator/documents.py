"""From a fetched document to the records the store takes (pure, no I/O).

parse → normalize → dedupe fingerprint → topic match, for one document. This is the
CPU-heavy half of a poll, so it lives apart from the pipeline's I/O and imports
nothing of it: `aggregator.workers` runs it in worker processes that never load
httpx or a database driver.

Entries whose identity and content hash the store already holds (`known`) are
dropped right after normalizing: fingerprinting and matching them again would only
tell the store what it knows. A feed where three of sixty entries are new costs three
fingerprints, not sixty.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aggregator.dedupe import fingerprint_item
from aggregator.match import MatchDocument, TopicMatcher
from aggregator.models import Item, TermHit
from aggregator.normalize import normalize_feed
from aggregator.parse import parse_feed
from aggregator.store.records import ItemRecord


@dataclass(slots=True)
class ProcessedFeed:
    """The new and changed items of one fetched document, ready to store."""

    items: list[ItemRecord]
    problem: str | None
    ttl_minutes: int | None
    entries: int = 0  # entries in the document, unchanged ones included
    published: list[float] = field(default_factory=list)  # the entries' own dates, for pacing


def match_document(item: Item, source_tags: Sequence[str]) -> MatchDocument:
    return MatchDocument(
        title=item.title_text,
        summary=item.summary_text,
        content=item.content_text,
        categories=list(item.categories),
        author=item.author,
        source=item.source,
        source_tags=list(source_tags),
    )


def matched_hits(matcher: TopicMatcher, document: MatchDocument) -> dict[str, list[TermHit]]:
    return {m.topic: m.hits for m in matcher.match(document) if m.matched}


def process_document(
    source: str,
    source_tags: Sequence[str],
    body: bytes,
    url: str,
    content_type: str | None,
    seen_at: datetime,
    matcher: TopicMatcher,
    known: Mapping[str, str] | None = None,
) -> ProcessedFeed:
    """Parse, normalize, fingerprint and match one document; `known` maps the item keys
    the store holds for this source to their content hashes."""
    feed = parse_feed(body, url, content_type)
    items = normalize_feed(source, feed, seen_at)
    known = known or {}
    records = [
        ItemRecord(
            item=item,
            fingerprint=fingerprint_item(item),
            matches=matched_hits(matcher, match_document(item, source_tags)),
        )
        for item in items
        if known.get(item.key) != item.content_hash
    ]
    dates = [entry.published or entry.updated for entry in feed.entries]
    return ProcessedFeed(
        items=records,
        problem=feed.problem,
        ttl_minutes=feed.ttl_minutes,
        entries=len(items),
        published=[when.timestamp() for when in dates if when is not None],
    )
