"""What every format's renderer shares: constants, entry ids and body, dates, and the
characters XML cannot carry."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime

from aggregator.models import FeedEntry, FeedPage, StoryCopy

FORMATS = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "newswire-aggregator"
GENERATOR_URI = "https://github.com/newswire-aggregator/newswire-aggregator"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LANGUAGE = "en"

# Characters XML 1.0 cannot carry at all (not even as references); lxml refuses them,
# and one stray control character in a source's title must not take a feed down.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
PAGING_RELS = ("first", "next", "previous")


def entry_urn(entry_id: str) -> str:
    return f"urn:uuid:{entry_id}"


def entry_body_html(entry: FeedEntry) -> str:
    """The entry's HTML: the primary copy's content, its source, and where else it ran."""
    body = entry.content_html or entry.summary_html
    parts = [body] if body else []
    source = html.escape(entry.source)
    if entry.link:
        parts.append(
            f'<p>Source: <a href="{html.escape(entry.link, quote=True)}">{source}</a></p>'
        )
    else:
        parts.append(f"<p>Source: {source}</p>")
    for label, coverage in (("Also on", False), ("Also covered by", True)):
        links = [_copy_link(copy) for copy in entry.also_on if copy.coverage == coverage]
        if links:
            parts.append(f"<p>{label}: {', '.join(links)}</p>")
    return "\n".join(parts)


def _copy_link(copy: StoryCopy) -> str:
    """Where else a story ran: its source's name, linked to the copy."""
    name = html.escape(copy.source)
    if copy.link:
        return f'<a href="{html.escape(copy.link, quote=True)}">{name}</a>'
    return name


def rfc3339(value: datetime) -> str:
    return utc(value).isoformat().replace("+00:00", "Z")


def xml_text(value: str) -> str:
    return NOT_XML.sub("", value)


def paging_links(page: FeedPage) -> list[tuple[str, str]]:
    urls = (page.first_url, page.next_url, page.prev_url)
    return [(rel, url) for rel, url in zip(PAGING_RELS, urls, strict=True) if url]


def text_or(value: str, fallback: str = "") -> str:
    """`value` without what XML cannot carry; feedgen refuses an empty title or id."""
    return xml_text(value) or fallback


def utc(value: datetime) -> datetime:
    """`value` in UTC, whole seconds: how every format writes its dates."""
    return value.astimezone(UTC).replace(microsecond=0)


def media_type(fmt: str) -> str:
    """The bare media type of `fmt` (no charset), as link elements want it."""
    return FORMATS[fmt].split(";", 1)[0]
