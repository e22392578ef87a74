"""Parsing feed documents into `ParsedFeed`: a fast path, then feedparser.

feedparser is the parser of record: it copes with every RSS/Atom/RDF dialect and two
decades of broken feeds. Plain RSS 2.0 and Atom 1.0 documents first go through
`aggregator.sources.parse.fast`, which gives the same answers about fifty times faster and
hands anything unusual back to feedparser. feedparser's own HTML sanitizer and
relative-URI pass are turned off because the normalize stage sanitizes with nh3
(much faster) and resolves URLs itself against each entry's base. A "bozo" document
that still yields entries is used, and the problem is reported on the feed so the
source's health shows it.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urljoin

import feedparser

from aggregator.models import ParsedFeed, RawEntry
from aggregator.sources.parse.fast import as_html, parse_fast, positive_int, to_datetime

feedparser.RESOLVE_RELATIVE_URIS = False
feedparser.SANITIZE_HTML = False

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_ALTERNATE_LINK = re.compile(r"<link\b[^>]*>", re.I)
_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
PROLOG_BYTES = 65536  # an XML declaration, comments and a DTD come before this
_DOCTYPE = re.compile(rb"<!DOCTYPE[^\[>]*\[(.*?)\]\s*>", re.S)
_ELEMENT_START = re.compile(rb"<[A-Za-z_]")
_QUOTED = rb"(\"[^\"]*\"|'[^']*')"
_ENTITY_DECL = re.compile(
    rb"<!ENTITY\s+(?:%\s+)?([^\s>]+)\s+(SYSTEM|PUBLIC)?\s*" + _QUOTED + rb"(?:\s*" + _QUOTED
    + rb")?"
)
_ENTITY_REFERENCE = re.compile(rb"[&%][A-Za-z_:]")
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json",
               "application/rdf+xml", "application/json"}


class FeedParseError(Exception):
    """The document yielded no feed at all; the message says what it was instead."""

    def __init__(self, message: str, alternates: list[str] | None = None):
        super().__init__(message)
        self.alternates = alternates or []

    def __reduce__(self) -> tuple[type[FeedParseError], tuple[str, list[str]]]:
        return (FeedParseError, (str(self), self.alternates))  # across worker processes


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse `body` fetched from `url`; raise FeedParseError when nothing feed-like is in it."""
    if not body.strip():
        raise FeedParseError("empty document: the server sent no content")
    refusal = entity_attack(body)
    if refusal:
        raise FeedParseError(refusal)
    return parse_fast(body, url, content_type) or parse_with_feedparser(body, url, content_type)


def parse_with_feedparser(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse `body` with feedparser only (the parser of record; see parse_feed)."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    result = feedparser.parse(
        io.BytesIO(body),
        response_headers=headers,
        resolve_relative_uris=False,
        sanitize_html=False,
    )
    problem = _describe_bozo(result) if result.get("bozo") else None
    if not result.get("version") and not result.entries:
        if _looks_like_html(body, content_type):
            alternates = find_feed_links(body, url)
            hint = f"; it advertises feeds: {', '.join(alternates)}" if alternates else ""
            raise FeedParseError(f"HTML page, not a feed{hint}", alternates)
        raise FeedParseError(f"not a feed: {problem or 'no RSS, Atom or RDF content found'}")
    feed = result.feed
    return ParsedFeed(
        title=feed.get("title"),
        link=feed.get("link"),
        entries=[_raw_entry(entry, url) for entry in result.entries],
        problem=problem,
        ttl_minutes=positive_int(feed.get("ttl")),
    )


def entity_attack(body: bytes) -> str | None:
    """Why the document's DTD is an attack, or None.

    Neither parser would carry one out (feedparser drops such declarations, lxml is
    never given a DTD), but a feed that declares entities expanding other entities (a
    billion-laughs document) or an external entity on a local resource (XXE) is
    hostile, and its source should say so rather than publish whatever is left.
    External entities on http(s) DTDs, as old feeds declare for XHTML's named
    characters, are fine. Only an internal subset before the root element counts: the
    same text quoted inside an article is not a declaration.
    """
    doctype = _DOCTYPE.search(body, 0, PROLOG_BYTES)
    if doctype is None or _ELEMENT_START.search(body, 0, doctype.start()):
        return None
    for name, kind, first, second in _ENTITY_DECL.findall(doctype.group(1)):
        entity = name.decode("ascii", "replace")
        if not kind and _ENTITY_REFERENCE.search(first):
            return (f"refused: entity {entity!r} expands other entities "
                    "(an entity-expansion, billion-laughs document)")
        system = (second if kind == b"PUBLIC" else first)[1:-1].strip()
        if kind and not system.lower().startswith((b"http://", b"https://")):
            where = system.decode("utf-8", "replace")
            return (f"refused: external entity {entity!r} points at the local resource "
                    f"{where!r} (an XXE document)")
    return None


def _describe_bozo(result: Any) -> str:
    error = result.get("bozo_exception")
    name = type(error).__name__ if error is not None else "unknown"
    return f"malformed feed ({name}: {error})"


def _looks_like_html(body: bytes, content_type: str | None) -> bool:
    if content_type and content_type.split(";")[0].strip().lower() == "text/html":
        return True
    return bool(_HTML_START.match(body[:2048]))


def find_feed_links(body: bytes, base_url: str) -> list[str]:
    """The feed URLs an HTML page advertises with <link rel="alternate" type="...">."""
    text = body[:512 * 1024].decode("utf-8", errors="replace")
    links = []
    for tag in _ALTERNATE_LINK.findall(text):
        attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTR.findall(tag)}
        rel = attrs.get("rel", "").lower().split()
        if "alternate" in rel and attrs.get("type", "").lower() in _FEED_TYPES and attrs.get(
            "href"
        ):
            links.append(urljoin(base_url, attrs["href"]))
    return list(dict.fromkeys(links))


def _raw_entry(entry: Any, feed_url: str) -> RawEntry:
    content_html, content_base = None, None
    if entry.get("content"):
        parts = [part for part in entry.content if part.get("value")]
        if parts:
            content_html = "\n".join(as_html(part.value, part.get("type")) for part in parts)
            content_base = parts[0].get("base")
    summary_detail = entry.get("summary_detail") or {}
    return RawEntry(
        guid=(entry.get("id") or "").strip() or None,
        link=(entry.get("link") or "").strip() or None,
        title=as_html(entry.get("title"), (entry.get("title_detail") or {}).get("type")),
        summary_html=as_html(entry.get("summary"), summary_detail.get("type")),
        content_html=content_html,
        published=to_datetime(entry.get("published_parsed")),
        # dict.get: FeedParserDict.get("updated_parsed") falls back to the published date
        # (deprecated, with a warning per call); an entry without one has no update date.
        updated=to_datetime(dict.get(entry, "updated_parsed")),
        author=(entry.get("author") or "").strip() or None,
        categories=[t.get("term") for t in entry.get("tags") or [] if t.get("term")],
        base_url=content_base or summary_detail.get("base") or feed_url,
    )

