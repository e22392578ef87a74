"""From a parsed document to the records the store takes (pure, no I/O).

normalize → topic match → dedupe fingerprint, for one parsed document. With parsing
(`aggregator.sources.parse`) this is the CPU-heavy half of a poll, so it lives apart
from the pipeline's I/O and imports nothing of it: `aggregator.run.workers` parses and
processes in worker processes that never load httpx or a database driver.

A wire's feed changes by a few entries between polls, so work is skipped for the
entries that did not change, at two levels:

* `seen`: digests of raw entries processed in an earlier poll (by this process),
  with the item key each gave. An entry whose digest is there is not normalized
  again: its key and content hash depend on the raw entry alone (and the source),
  so normalizing it again would only confirm what the store holds.
* `known`: the content hashes the store holds for this source's item keys. An entry
  normalized to a known hash is not fingerprinted, matched or written: that would
  only tell the store what it knows.

A feed where three of sixty entries are new costs three fingerprints, not sixty.

Dedupe scope: fingerprinting is most of an item's processing, and every fingerprint
costs the store an LSH lookup and a band row per band. An item no topic publishes
needs none of that, so under the default scope ("topics") only items some topic
matched, or whose text holds any topic's terms, are fingerprinted; the looser second
test keeps a copy worded so that one rule fails (a teaser without "lupus"), or found
on a source the topic does not draw from, in its story's "also on" list. Copies of the
stories of a topic with trusted sources and no terms merge only among themselves:
nothing in a copy elsewhere says it belongs (use scope "all" for such a topic). On the
bench corpus, where 3% of items are on topic, this takes a cold cycle's
fingerprinting and band writes from every item to a few percent. Scope "all"
fingerprints every item.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from aggregator.core.dedupe import fingerprint_item
from aggregator.core.match import MatchDocument, ParagraphCounts, TopicMatcher
from aggregator.core.normalize import normalize_entry
from aggregator.models import Item, ItemRecord, ParsedFeed, RawEntry, StoredItem, TopicMatch


@dataclass(slots=True)
class ProcessedFeed:
    """The new and changed items of one fetched document, ready to store."""

    items: list[ItemRecord]
    problem: str | None
    ttl_minutes: int | None
    entries: int = 0  # distinct items in the document, unchanged ones included
    published: list[float] = field(default_factory=list)  # the entries' own dates, for pacing
    keys: dict[bytes, str] = field(default_factory=dict)  # entry digest -> item key
    hubs: list[str] = field(default_factory=list)  # WebSub hubs the document names
    self_url: str | None = None  # the document's own URL (rel="self")


def entry_digest(entry: RawEntry) -> bytes:
    """A digest of everything normalizing reads from a raw entry."""
    return hashlib.blake2b(repr(entry).encode("utf-8", "surrogatepass"), digest_size=16).digest()


def match_document(
    item: Item | StoredItem, source_tags: Sequence[str], repeated: frozenset[str] = frozenset()
) -> MatchDocument:
    """What the matcher reads of an item, new or stored; `repeated` holds the paragraphs
    its source repeats across items (see `source_boilerplate`)."""
    return MatchDocument(
        title=item.title_text,
        summary=item.summary_text,
        content=item.content_text,
        categories=list(item.categories),
        author=item.author,
        source=item.source,
        source_tags=list(source_tags),
        summary_html=item.summary_html,
        content_html=item.content_html,
        repeated=repeated,
    )


def topic_matches(
    matcher: TopicMatcher, document: MatchDocument
) -> tuple[list[TopicMatch], bool]:
    """Every topic's verdict on an item, and whether the item is in the dedupe scope
    "topics": a topic matched it (a trusted source needs no terms), or some topic's terms
    occur in it, whatever its source (see the module docstring)."""
    results, mentioned = matcher.match_and_mentions(document)
    return results, mentioned or any(result.matched for result in results)


def paragraph_counts(items: Iterable[Item | StoredItem]) -> ParagraphCounts:
    """Each source's paragraphs counted over `items` (to learn its boilerplate)."""
    counts = ParagraphCounts()
    for item in items:
        counts.add(item.source, (item.summary_html, item.content_html))
    return counts


def item_record(
    item: Item, source_tags: Sequence[str], matcher: TopicMatcher, fingerprint_all: bool,
    repeated: frozenset[str] = frozenset(),
) -> ItemRecord:
    """Match `item` against every topic and fingerprint it if it is in the dedupe scope."""
    results, in_scope = topic_matches(matcher, match_document(item, source_tags, repeated))
    wanted = fingerprint_all or in_scope
    return ItemRecord(
        item=item,
        fingerprint=fingerprint_item(item) if wanted else None,
        matches={result.topic: result.hits for result in results if result.matched},
    )


def process_feed(
    source: str,
    source_tags: Sequence[str],
    feed: ParsedFeed,
    seen_at: datetime,
    matcher: TopicMatcher,
    known: Mapping[str, str] | None = None,
    seen: Mapping[bytes, str] | None = None,
    fingerprint_all: bool = False,
) -> ProcessedFeed:
    """Normalize, match and fingerprint one parsed document; see the module docstring
    for `known` (item key -> content hash), `seen` (entry digest -> item key) and
    `fingerprint_all` (dedupe scope "all")."""
    known, seen = known or {}, seen or {}
    keys: dict[bytes, str] = {}
    claimed: set[str] = set()  # entries sharing a key: the first one is the item
    changed: list[Item] = []
    for entry in feed.entries:
        digest = entry_digest(entry)
        key = seen.get(digest)
        if key is None:
            item = normalize_entry(source, entry, seen_at)
            key = item.key
            if key not in claimed and known.get(key) != item.content_hash:
                changed.append(item)
        if key not in claimed:  # a later entry with a taken key is not the item: if it
            keys[digest] = key  # is alone next time, it must be normalized and written
            claimed.add(key)
    # Boilerplate is learned from the items this document brings (all of them on a
    # source's first poll): an issuer's About text repeats across its releases.
    repeated = paragraph_counts(changed).repeated(source) if len(changed) > 1 else frozenset()
    records = [
        item_record(item, source_tags, matcher, fingerprint_all, repeated) for item in changed
    ]
    dates = [entry.published or entry.updated for entry in feed.entries]
    return ProcessedFeed(
        items=records,
        problem=feed.problem,
        ttl_minutes=feed.ttl_minutes,
        entries=len(claimed),
        published=[when.timestamp() for when in dates if when is not None],
        keys=keys,
        hubs=list(feed.hubs),
        self_url=feed.self_url,
    )
