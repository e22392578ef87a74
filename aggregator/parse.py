"""Parsing feed documents with feedparser into `ParsedFeed`.

feedparser is the parser of record: it copes with every RSS/Atom/RDF dialect and two
decades of broken feeds. Its own HTML sanitizer and relative-URI pass are turned off
because the normalize stage sanitizes with nh3 (much faster) and resolves URLs itself
against each entry's base. A "bozo" document that still yields entries is used, and
the problem is reported on the feed so the source's health shows it.
"""

from __future__ import annotations

import calendar
import io
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from aggregator.models import ParsedFeed, RawEntry

feedparser.RESOLVE_RELATIVE_URIS = False
feedparser.SANITIZE_HTML = False

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_ALTERNATE_LINK = re.compile(r"<link\b[^>]*>", re.I)
_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_FEED_TYPES = {"application/rss+xml", "application/atom+xml", "application/feed+json",
               "application/rdf+xml", "application/json"}


class FeedParseError(Exception):
    """The document yielded no feed at all; the message says what it was instead."""

    def __init__(self, message: str, alternates: list[str] | None = None):
        super().__init__(message)
        self.alternates = alternates or []


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse `body` fetched from `url`; raise FeedParseError when nothing feed-like is in it."""
    if not body.strip():
        raise FeedParseError("empty document: the server sent no content")
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
        ttl_minutes=_int_or_none(feed.get("ttl")),
    )


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
    from urllib.parse import urljoin

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
            content_html = "\n".join(part.value for part in parts)
            content_base = parts[0].get("base")
    summary_detail = entry.get("summary_detail") or {}
    title = entry.get("title")
    if title and (entry.get("title_detail") or {}).get("type") == "text/plain":
        title = _escape_text(title)
    return RawEntry(
        guid=(entry.get("id") or "").strip() or None,
        link=(entry.get("link") or "").strip() or None,
        title=title,
        summary_html=_as_html(entry.get("summary"), summary_detail.get("type")),
        content_html=content_html,
        published=_to_datetime(entry.get("published_parsed")),
        updated=_to_datetime(entry.get("updated_parsed")),
        author=(entry.get("author") or "").strip() or None,
        categories=[t.get("term") for t in entry.get("tags") or [] if t.get("term")],
        base_url=content_base or summary_detail.get("base") or feed_url,
    )


def _escape_text(text: str) -> str:
    import html

    return html.escape(text, quote=False)


def _as_html(value: str | None, mime: str | None) -> str | None:
    """feedparser decodes text/plain summaries; re-escape them so they stay text."""
    if value is None:
        return None
    return _escape_text(value) if mime == "text/plain" else value


def _to_datetime(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
