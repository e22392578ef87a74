"""Turning parsed entries into `Item`s with stable identities.

An item's identity within its source is its GUID, else its canonical link, else a
hash of its content, and its id is a UUID derived from the source name and that key
only. So every process computes the same id, a restart or a re-render never changes
it, and an edited entry (same GUID, new text) updates the item it already was.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta

from aggregator.core.sanitize import html_to_text, sanitize_html
from aggregator.core.urls import canonicalize_url, clean_link
from aggregator.models import Item, ParsedFeed, RawEntry

ITEM_NAMESPACE = uuid.UUID("5b0f5c1e-7a39-4c1e-9a43-6f2f0c1d9e27")
# A date this far beyond the fetch time is a publisher's mistake, not a scheduled post.
FUTURE_TOLERANCE = timedelta(days=1)
MAX_TITLE_CHARS = 500


def item_id_for(source: str, key: str) -> str:
    """The stable id of the item `key` of `source` (a UUID string)."""
    return str(uuid.uuid5(ITEM_NAMESPACE, f"{source}\x00{key}"))


def normalize_feed(source: str, feed: ParsedFeed, seen_at: datetime) -> list[Item]:
    """Normalize every entry of `feed`; entries that share a key keep the first one.

    `seen_at` (aware, UTC) is the date given to entries that carry none.
    """
    items: dict[str, Item] = {}
    for entry in feed.entries:
        item = normalize_entry(source, entry, seen_at)
        items.setdefault(item.key, item)
    return list(items.values())


def normalize_entry(source: str, entry: RawEntry, seen_at: datetime) -> Item:
    base = entry.base_url
    link = clean_link(entry.link, base) if entry.link else None
    canonical = canonicalize_url(entry.link, base) if entry.link else None
    summary_html = sanitize_html(entry.summary_html, base)
    content_html = sanitize_html(entry.content_html, base)
    if content_html == summary_html:
        content_html = ""
    title_text = html_to_text(entry.title)[:MAX_TITLE_CHARS]
    summary_text = html_to_text(entry.summary_html)
    content_text = html_to_text(entry.content_html) if content_html else ""
    if not title_text:
        title_text = _title_from_text(summary_text or content_text) or "(untitled)"
    content_hash = _hash(link or "", title_text, summary_html, content_html)
    key = _identity_key(entry, canonical, title_text, summary_text)
    published = _sensible_date(entry.published or entry.updated, seen_at)
    updated = _sensible_date(entry.updated, seen_at) if entry.updated else None
    return Item(
        item_id=item_id_for(source, key),
        source=source,
        key=key,
        link=link,
        canonical_link=canonical,
        title=title_text,
        summary_html=summary_html,
        content_html=content_html,
        title_text=title_text,
        summary_text=summary_text,
        content_text=content_text,
        author=entry.author,
        categories=[html_to_text(term) for term in entry.categories if term.strip()],
        published=published,
        updated=updated,
        content_hash=content_hash,
    )


def _identity_key(entry: RawEntry, canonical: str | None, title: str, summary: str) -> str:
    if entry.guid:
        return f"guid:{entry.guid}"
    if canonical:
        return f"link:{canonical}"
    return f"hash:{_hash(title, summary)}"


def _sensible_date(value: datetime | None, seen_at: datetime) -> datetime:
    if value is None or value > seen_at + FUTURE_TOLERANCE:
        return seen_at
    return value


def _title_from_text(text: str) -> str:
    words = text.split()
    return " ".join(words[:12]) + ("…" if len(words) > 12 else "")


def _hash(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()[:32]
