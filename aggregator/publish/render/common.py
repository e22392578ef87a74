"""What every format's renderer shares: constants, entry ids and body, dates, and the
one cleaning of text (`clean_page`) that every format is rendered from."""

from __future__ import annotations

import html
import re
from dataclasses import replace
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

# What no published text keeps: C0 and C1 controls but tab, newline and carriage return
# (XML 1.0 cannot carry most of them, not even as references, and discourages the rest),
# lone surrogates (not encodable), and Unicode's non-characters (U+FDD0..U+FDEF and the
# last two code points of every plane). One stray control character in a source's title
# must not take a feed down, nor make it read differently in JSON than in XML.
NOT_TEXT = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef"
    + "".join(chr(plane * 0x10000 + 0xFFFE) + chr(plane * 0x10000 + 0xFFFF)
              for plane in range(17))
    + "]"
)
_LINE_SPACE = re.compile(r"[ \t\n\r]+")
_NEWLINES = re.compile(r"\r\n?")
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


def clean_line(value: str) -> str:
    """One-line text (titles, names, URLs) as every format publishes it: what no format
    may carry removed, and the whitespace runs that leaves (or line breaks) folded."""
    return _LINE_SPACE.sub(" ", NOT_TEXT.sub("", value)).strip()


def clean_markup(value: str) -> str:
    """HTML as every format publishes it: what no format may carry removed, and line
    ends as XML reads them (CR LF and CR become LF), so JSON carries the same text."""
    return _NEWLINES.sub("\n", NOT_TEXT.sub("", value))


def _clean_copy(copy: StoryCopy) -> StoryCopy:
    return replace(copy, source=clean_line(copy.source), title=clean_line(copy.title),
                   link=copy.link and clean_line(copy.link))


def _clean_entry(entry: FeedEntry) -> FeedEntry:
    return replace(
        entry,
        title=clean_line(entry.title),
        link=entry.link and clean_line(entry.link),
        source=clean_line(entry.source),
        summary_html=clean_markup(entry.summary_html),
        content_html=clean_markup(entry.content_html),
        author=entry.author and clean_line(entry.author),
        categories=[clean_line(term) for term in entry.categories],
        also_on=[_clean_copy(copy) for copy in entry.also_on],
    )


def clean_page(page: FeedPage) -> FeedPage:
    """`page` with every text cleaned once, the same way, before any renderer reads it,
    so a title reads the same in Atom, RSS and JSON Feed."""
    def url(value: str | None) -> str | None:
        return value and clean_line(value)

    return replace(
        page,
        slug=clean_line(page.slug),
        title=clean_line(page.title),
        description=clean_line(page.description),
        self_url=clean_line(page.self_url),
        html_url=clean_line(page.html_url),
        entries=[_clean_entry(entry) for entry in page.entries],
        next_url=url(page.next_url),
        prev_url=url(page.prev_url),
        first_url=url(page.first_url),
        alternates={fmt: clean_line(link) for fmt, link in page.alternates.items()},
    )


def paging_links(page: FeedPage) -> list[tuple[str, str]]:
    urls = (page.first_url, page.next_url, page.prev_url)
    return [(rel, url) for rel, url in zip(PAGING_RELS, urls, strict=True) if url]


def text_or(value: str, fallback: str = "") -> str:
    """`value`, or `fallback` when it is empty: feedgen refuses an empty title or id."""
    return value or fallback


def utc(value: datetime) -> datetime:
    """`value` in UTC, whole seconds: how every format writes its dates."""
    return value.astimezone(UTC).replace(microsecond=0)


def media_type(fmt: str) -> str:
    """The bare media type of `fmt` (no charset), as link elements want it."""
    return FORMATS[fmt].split(";", 1)[0]
