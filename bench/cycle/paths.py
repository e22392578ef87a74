"""Which parser reads each document, and whether the fast path agrees with feedparser.

Shared by bench/bench_parse.py (the whole cycle corpus) and tests/test_parse_paths.py
(a sample): the fast path's promise is checked where it matters, on the documents the
benchmark polls, not only on feedparser's own test cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aggregator.core.normalize import normalize_feed
from aggregator.models import ParsedFeed
from aggregator.sources.parse import detect_format, parse_feed, parse_with_feedparser
from aggregator.sources.parse.fast import parse_fast
from aggregator.sources.parse.mediatype import effective_content_type

SEEN = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Verdict:
    """How one document is read: "fast", "json" or "feedparser", and whether the fast
    path's answer equals feedparser's (None when the fast path declined or for JSON)."""

    path: str
    agrees: bool | None


def comparable(parsed: ParsedFeed) -> tuple[object, ...]:
    """What the service keeps of a parse: feed fields, raw entries, normalized items."""
    return (
        parsed.title,
        parsed.link,
        parsed.ttl_minutes,
        parsed.problem,
        parsed.entries,
        normalize_feed("source", parsed, SEEN),
    )


def judge(body: bytes, url: str, content_type: str | None) -> Verdict:
    """Read `body` as `parse_feed` would; when the fast path answers, read it with
    feedparser too and compare."""
    if detect_format(body, content_type) == "json":
        parse_feed(body, url, content_type)
        return Verdict("json", None)
    effective = effective_content_type(content_type)
    fast = parse_fast(body, url, effective)
    if fast is None:
        parse_feed(body, url, content_type)  # the parser of record must still read it
        return Verdict("feedparser", None)
    record = parse_with_feedparser(body, url, effective)
    return Verdict("fast", comparable(fast) == comparable(record))
