"""The real-world shapes of the cycle corpus's feeds, in the proportions the world has them.

Why: a corpus of plain UTF-8 RSS 2.0 and Atom 1.0 served with exact content types never
exercised the parser fallback, while 31% of an independent corpus fell off the fast path
(issue 18). Each feed draws one `Shape`: its format, how its server labels it, its
encoding and the habits of its publisher's software. The proportions are estimates of
what a newswire/news-site reader polls (feed-software defaults: WordPress Atom puts
xml:base on its elements and both <author> and <dc:creator> are common, many servers say
text/xml or application/octet-stream, older European sites write ISO-8859-1 or
windows-1252, US wires date items "EST"), not a measurement of the web.

One feed in 130 (`feedparser_only`) is one only feedparser reads: a bare HTML entity XML
does not define, windows-1252 bytes under a UTF-8 declaration, a date with a two-digit
year, or a feed served as text/html, in turn. They keep the fallback in every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

# (weight, value) tables, drawn with `_pick`.
KINDS = [(0.57, "rss"), (0.26, "atom"), (0.09, "rdf"), (0.08, "json")]
XML_TYPES = {
    "rss": "application/rss+xml",
    "atom": "application/atom+xml",
    "rdf": "application/rdf+xml",
}
# How the server labels an XML feed; "{own}" is the format's own type, "{charset}" the
# encoding actually used; None sends no Content-Type at all.
LABELS = [
    (0.50, "{own}; charset={charset}"),
    (0.14, "{own}"),
    (0.08, "text/xml; charset={charset}"),
    (0.12, "text/xml"),
    (0.08, "application/xml"),
    (0.04, "application/octet-stream"),
    (0.02, "text/plain; charset={charset}"),
    (0.02, None),
]
JSON_LABELS = [(0.6, "application/feed+json"), (0.4, "application/json")]
ENCODINGS = [(0.86, "utf-8"), (0.08, "iso-8859-1"), (0.06, "windows-1252")]
FEEDPARSER_ONLY = ["undefined-entity", "mis-encoded", "two-digit-year", "served-as-html"]
FEEDPARSER_ONLY_EVERY = 130


@dataclass(frozen=True, slots=True)
class Shape:
    """How one feed looks on the wire."""

    kind: str  # "rss" | "atom" | "rdf" | "json"
    content_type: str | None  # as the server sends it; None: no header
    encoding: str  # of the XML document
    both_authors: bool  # Atom entries carry <author> and <dc:creator>
    xml_base: bool  # Atom: xml:base on the feed and summaries, relative links
    named_zone: bool  # RSS dates end in "EST" rather than "+0000"/"GMT"
    self_link: bool  # RSS channel has <atom:link rel="self">
    enclosures: bool  # items carry an enclosure and media:content
    feedparser_only: str  # one of FEEDPARSER_ONLY, or ""


def _pick(rng: random.Random, table: list[tuple[float, T]]) -> T:
    point, total = rng.random(), 0.0
    for weight, value in table:
        total += weight
        if point < total:
            return value
    return table[-1][1]


def feedparser_only(index: int) -> str:
    """The flaw feed number `index` has that only feedparser reads, or ""."""
    if index % FEEDPARSER_ONLY_EVERY != FEEDPARSER_ONLY_EVERY // 2:
        return ""
    return FEEDPARSER_ONLY[index // FEEDPARSER_ONLY_EVERY % len(FEEDPARSER_ONLY)]


def draw(rng: random.Random, index: int) -> Shape:
    """Feed number `index`'s shape, drawn with the proportions above."""
    only = feedparser_only(index)
    kind = _pick(rng, KINDS)
    if only == "two-digit-year" or (only and kind == "json"):
        kind = "rss"  # the flaw is an RSS date, or one of XML
    encoding = "utf-8" if kind == "json" else _pick(rng, ENCODINGS)
    if kind == "json":
        content_type: str | None = _pick(rng, JSON_LABELS)
    else:
        label = _pick(rng, LABELS)
        content_type = label and label.format(own=XML_TYPES[kind], charset=encoding)
    if only == "served-as-html":
        content_type = "text/html"
    if only == "mis-encoded":
        encoding = "utf-8"  # declared; the bytes are windows-1252 (see corpus.encode)
    return Shape(
        kind=kind,
        content_type=content_type,
        encoding=encoding,
        both_authors=kind == "atom" and rng.random() < 0.5,
        xml_base=kind == "atom" and rng.random() < 0.2,
        named_zone=kind == "rss" and rng.random() < 0.1,
        self_link=kind == "rss" and rng.random() < 0.6,
        enclosures=kind in ("rss", "atom") and rng.random() < 0.2,
        feedparser_only=only,
    )
