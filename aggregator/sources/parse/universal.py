"""feedparser, the parser of record for every XML document the fast path declines.

It copes with every RSS/Atom/RDF dialect and two decades of broken feeds. Its own HTML
sanitizer and relative-URI pass are turned off because the normalize stage sanitizes
with nh3 (much faster) and resolves URLs itself against each entry's base. A "bozo"
document that still yields entries is used, and the problem is reported on the feed
so the source's health shows it.
"""

from __future__ import annotations

import io
import re
from typing import Any
from urllib.parse import urljoin

import feedparser

from aggregator.models import ParsedFeed, RawEntry
from aggregator.sources.parse.errors import FeedParseError
from aggregator.sources.parse.values import as_html, positive_int, to_datetime

feedparser.RESOLVE_RELATIVE_URIS = False
feedparser.SANITIZE_HTML = False

_HTML_START = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_ALTERNATE_LINK = re.compile(r"<link\b[^>]*>", re.I)
_ATTR = re.compile(r"""(\w+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")
_FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/json",
}
_CHARACTER_REFERENCE = re.compile(rb"&#(?:[xX]([0-9A-Fa-f]{1,16})|([0-9]{1,20}));")
_REPLACEMENT = b"&#xFFFD;"


def parse_with_feedparser(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse `body` with feedparser only; raise FeedParseError when no feed is in it."""
    body, repaired = repair_character_references(body)
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
        problem="; ".join(part for part in (repaired, problem) if part) or None,
        ttl_minutes=positive_int(feed.get("ttl")),
        hubs=_links(feed, "hub"),
        self_url=next(iter(_links(feed, "self")), None),
    )


def _links(feed: Any, rel: str) -> list[str]:
    """The feed-level links of relation `rel` (WebSub's "hub" and "self")."""
    return [link["href"] for link in feed.get("links", [])
            if link.get("rel") == rel and link.get("href")]


def repair_character_references(body: bytes) -> tuple[bytes, str | None]:
    """`body` with every numeric character reference to no character at all (a UTF-16
    surrogate, or past U+10FFFF) replaced by U+FFFD, and what was replaced.

    feedparser's lenient parser encodes the referenced character to UTF-8 and raises on
    a surrogate, so one `&#xD800;` in one title lost every entry of the source.
    """
    if b"&#" not in body:
        return body, None
    bad: list[bytes] = []

    def replace(match: re.Match[bytes]) -> bytes:
        hexadecimal, decimal = match.groups()
        code = int(hexadecimal, 16) if hexadecimal else int(decimal)
        if 0xD800 <= code <= 0xDFFF or code > 0x10FFFF:
            bad.append(match.group())
            return _REPLACEMENT
        return match.group()

    repaired = _CHARACTER_REFERENCE.sub(replace, body)
    if not bad:
        return body, None
    shown = ", ".join(dict.fromkeys(ref.decode("ascii") for ref in bad[:5]))
    return repaired, (
        f"{len(bad)} character reference(s) to no character ({shown}) replaced with U+FFFD"
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
    text = body[: 512 * 1024].decode("utf-8", errors="replace")
    links = []
    for tag in _ALTERNATE_LINK.findall(text):
        attrs = {m[0].lower(): m[1] or m[2] or m[3] for m in _ATTR.findall(tag)}
        rel = attrs.get("rel", "").lower().split()
        if (
            "alternate" in rel
            and attrs.get("type", "").lower() in _FEED_TYPES
            and attrs.get("href")
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
