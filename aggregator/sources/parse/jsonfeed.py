"""JSON Feed 1.0 and 1.1 (https://jsonfeed.org/version/1.1) read as a source.

The service publishes JSON Feed, so it reads it too. Items become the same `RawEntry`
the XML parsers give, so normalize, dedupe and topic matching treat them alike: plain
text fields (title, summary, content_text) are escaped to HTML as an RSS text/plain
value would be, and a missing summary is the content, as feedparser does for RSS.
JSON that is not a JSON Feed (RSS-in-JSON, an API's answer) is refused with a message
that says what it is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aggregator.models import ParsedFeed, RawEntry
from aggregator.sources.parse.errors import FeedParseError
from aggregator.sources.parse.values import as_html

VERSIONS = {"1", "1.1"}
_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


def parse_json_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse a JSON Feed document; FeedParseError for any other JSON, saying what it is."""
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise FeedParseError(f"not a feed: malformed JSON ({error})") from error
    feed = _json_feed(document)
    entries, skipped = [], 0
    for item in feed["items"]:
        entry = _raw_entry(item, url) if isinstance(item, dict) else None
        if entry is None:
            skipped += 1
        else:
            entries.append(entry)
    problem = f"{skipped} JSON Feed item(s) skipped: not an object with an id" if skipped else None
    return ParsedFeed(
        title=_text(feed.get("title")),
        link=_text(feed.get("home_page_url")),
        entries=entries,
        problem=problem,
        hubs=[hub["url"] for hub in feed.get("hubs") or []
              if isinstance(hub, dict) and isinstance(hub.get("url"), str)
              and str(hub.get("type", "")).lower() == "websub"],
        self_url=_text(feed.get("feed_url")),
    )


def _json_feed(document: Any) -> dict[str, Any]:
    """`document` if it is a JSON Feed 1.0/1.1, else FeedParseError naming what it is."""
    if not isinstance(document, dict):
        kind = type(document).__name__.replace("dict", "object").replace("list", "array")
        raise FeedParseError(f"JSON, not a feed: the document is a JSON {kind}")
    version = document.get("version")
    if isinstance(document.get("rss"), dict) or "channel" in document:
        raise FeedParseError(
            "RSS-in-JSON, not a feed this service reads: JSON sources must be JSON Feed 1.0 "
            "or 1.1 (ask the publisher for their RSS or Atom URL)"
        )
    if not isinstance(version, str) or not version.startswith(_VERSION_PREFIXES):
        keys = ", ".join(repr(key) for key in list(document)[:5]) or "none"
        raise FeedParseError(
            f"JSON, not a feed: an object without a JSON Feed version (its keys: {keys})"
        )
    number = version.rstrip("/").rsplit("/", 1)[-1]
    if number not in VERSIONS:
        raise FeedParseError(
            f"JSON Feed version {number!r} is not one this service reads (1.0 and 1.1 are)"
        )
    if not isinstance(document.get("items"), list):
        raise FeedParseError("JSON Feed without an items array")
    return document


def _raw_entry(item: dict[str, Any], feed_url: str) -> RawEntry | None:
    guid = item.get("id")
    if isinstance(guid, bool) or not isinstance(guid, str | int | float):
        return None  # the spec requires an id; without one the item has no identity
    content_html = _text(item.get("content_html")) or as_html(
        _text(item.get("content_text")), "text/plain"
    )
    summary = _text(item.get("summary"))
    return RawEntry(
        guid=str(guid).strip() or None,
        link=_text(item.get("url")) or _text(item.get("external_url")),
        title=as_html(_text(item.get("title")), "text/plain"),
        summary_html=as_html(summary, "text/plain") if summary else content_html,
        content_html=content_html,
        published=_date(item.get("date_published")),
        updated=_date(item.get("date_modified")),
        author=_author(item),
        categories=[
            tag.strip() for tag in item.get("tags") or [] if isinstance(tag, str) and tag.strip()
        ],
        base_url=feed_url,
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _date(value: Any) -> datetime | None:
    """An RFC 3339 date as an aware datetime (UTC when it names no offset)."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _author(item: dict[str, Any]) -> str | None:
    """The first author's name: 1.1's `authors` list, else 1.0's `author`."""
    authors = item.get("authors")
    candidates = authors if isinstance(authors, list) else [item.get("author")]
    for author in candidates:
        if isinstance(author, dict) and _text(author.get("name")):
            return _text(author.get("name"))
    return None
