"""Rendering a `FeedPage` as Atom 1.0, RSS 2.0 and JSON Feed 1.1.

Output is a pure function of the page: no clock reads, so the same stored entries
always render to the same bytes, which is what lets the web layer hand out strong
ETags. Entry ids are story ids (`urn:uuid:`), fixed when a story is first seen.

Atom and RSS are written element by element with lxml rather than through a feed
library, because validity is in the details a library decides for us: every link
needs its `rel` and `type` (feedgen 1.0 drops them on entry links, which turns
"also on" links into duplicate alternates), an Atom feed needs a feed-level author
unless every entry has one, the RSS channel `<link>` must be the human page (not the
feed), and RSS 2.0's default namespace may hold only the elements it defines.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from aggregator import __version__
from aggregator.models import FeedEntry, FeedPage
from aggregator.sanitize import html_to_text

FORMATS = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
ATOM_NS = "http://www.w3.org/2005/Atom"
CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
DC_NS = "http://purl.org/dc/elements/1.1/"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
GENERATOR = "newswire-aggregator"
GENERATOR_URI = "https://github.com/newswire-aggregator/newswire-aggregator"
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LANGUAGE = "en"

# Characters XML 1.0 cannot carry at all (not even as references); lxml refuses them,
# and one stray control character in a source's title must not take a feed down.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PAGING_RELS = ("first", "next", "previous")


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
    if entry.also_on:
        links = []
        for copy in entry.also_on:
            name = html.escape(copy.source)
            if copy.link:
                links.append(f'<a href="{html.escape(copy.link, quote=True)}">{name}</a>')
            else:
                links.append(name)
        parts.append(f"<p>Also on: {', '.join(links)}</p>")
    return "\n".join(parts)


def render(page: FeedPage, fmt: str) -> bytes:
    if fmt == "atom":
        return render_atom(page)
    if fmt == "rss":
        return render_rss(page)
    if fmt == "json":
        return render_json(page)
    raise ValueError(f"unknown feed format {fmt!r}; choose from {', '.join(FORMATS)}")


def media_type(fmt: str) -> str:
    """The bare media type of `fmt` (no charset), as link elements want it."""
    return FORMATS[fmt].split(";", 1)[0]


def rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def rfc822(value: datetime) -> str:
    return format_datetime(value.astimezone(UTC).replace(microsecond=0), usegmt=True)


def _xml(value: str) -> str:
    return _NOT_XML.sub("", value)


def _child(parent: etree._Element, tag: str, text: str | None = None,
           **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: _xml(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _xml(text)
    return element


def _paging(page: FeedPage) -> list[tuple[str, str]]:
    urls = (page.first_url, page.next_url, page.prev_url)
    return [(rel, url) for rel, url in zip(_PAGING_RELS, urls, strict=True) if url]


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


# -- Atom 1.0 (RFC 4287, paging per RFC 5005) -----------------------------------------


def render_atom(page: FeedPage) -> bytes:
    a = f"{{{ATOM_NS}}}"
    feed = etree.Element(f"{a}feed", nsmap={None: ATOM_NS})
    feed.set(XML_LANG, LANGUAGE)
    _child(feed, f"{a}id", page.alternates.get("atom", page.self_url))
    _child(feed, f"{a}title", page.title)
    if page.description:
        _child(feed, f"{a}subtitle", page.description)
    _child(feed, f"{a}updated", rfc3339(page.updated))
    # RFC 4287 4.1.1: a feed needs an author unless every entry has one; entries
    # without an author inherit this one.
    author = _child(feed, f"{a}author")
    _child(author, f"{a}name", GENERATOR)
    _child(feed, f"{a}link", rel="self", type=media_type("atom"), href=page.self_url)
    _child(feed, f"{a}link", rel="alternate", type="text/html", href=page.html_url)
    for fmt, url in page.alternates.items():
        if fmt != "atom":
            _child(feed, f"{a}link", rel="alternate", type=media_type(fmt), href=url)
    for rel, url in _paging(page):
        _child(feed, f"{a}link", rel=rel, type=media_type("atom"), href=url)
    _child(feed, f"{a}generator", GENERATOR, uri=GENERATOR_URI, version=__version__)
    for entry in page.entries:
        _atom_entry(feed, entry)
    return _serialize(feed)


def _atom_entry(feed: etree._Element, entry: FeedEntry) -> None:
    a = f"{{{ATOM_NS}}}"
    element = _child(feed, f"{a}entry")
    _child(element, f"{a}id", entry_urn(entry.entry_id))
    _child(element, f"{a}title", entry.title)
    _child(element, f"{a}updated", rfc3339(entry.updated))
    _child(element, f"{a}published", rfc3339(entry.published))
    if entry.author:
        _child(_child(element, f"{a}author"), f"{a}name", entry.author)
    if entry.link:
        _child(element, f"{a}link", rel="alternate", type="text/html", href=entry.link)
    related = {copy.link: copy.source for copy in entry.also_on
               if copy.link and copy.link != entry.link}
    for href, source in related.items():
        _child(element, f"{a}link", rel="related", type="text/html", title=source, href=href)
    for term in entry.categories:
        _child(element, f"{a}category", term=term)
    if entry.summary_html and entry.content_html:
        _child(element, f"{a}summary", entry.summary_html, type="html")
    _child(element, f"{a}content", entry_body_html(entry), type="html")


# -- RSS 2.0 (https://www.rssboard.org/rss-specification) -----------------------------


def render_rss(page: FeedPage) -> bytes:
    rss = etree.Element("rss", nsmap={"atom": ATOM_NS, "content": CONTENT_NS, "dc": DC_NS})
    rss.set("version", "2.0")
    channel = _child(rss, "channel")
    _child(channel, "title", page.title)
    _child(channel, "link", page.html_url)
    _child(channel, "description", page.description or page.title)
    _child(channel, f"{{{ATOM_NS}}}link", rel="self", type=media_type("rss"),
           href=page.self_url)
    for rel, url in _paging(page):
        _child(channel, f"{{{ATOM_NS}}}link", rel=rel, type=media_type("rss"), href=url)
    _child(channel, "language", LANGUAGE)
    _child(channel, "lastBuildDate", rfc822(page.updated))
    _child(channel, "generator", f"{GENERATOR} {__version__}")
    _child(channel, "docs", "https://www.rssboard.org/rss-specification")
    for entry in page.entries:
        item = _child(channel, "item")
        _child(item, "title", entry.title)
        if entry.link:
            _child(item, "link", entry.link)
        body = entry_body_html(entry)
        _child(item, "description", entry.summary_html or body)
        _child(item, f"{{{CONTENT_NS}}}encoded", body)
        _child(item, "guid", entry_urn(entry.entry_id), isPermaLink="false")
        _child(item, "pubDate", rfc822(entry.published))
        if entry.author:  # RSS <author> must be an e-mail address; Dublin Core takes a name
            _child(item, f"{{{DC_NS}}}creator", entry.author)
        for term in entry.categories:
            _child(item, "category", term)
    return _serialize(rss)


# -- JSON Feed 1.1 (https://jsonfeed.org/version/1.1) ---------------------------------


def render_json(page: FeedPage) -> bytes:
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": page.title,
        "home_page_url": page.html_url,
        "feed_url": page.self_url,
        "description": page.description or page.title,
        "language": LANGUAGE,
        "authors": [{"name": GENERATOR}],
    }
    if page.next_url:
        document["next_url"] = page.next_url
    document["items"] = [_json_item(entry) for entry in page.entries]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_item(entry: FeedEntry) -> dict[str, object]:
    item: dict[str, object] = {
        "id": entry_urn(entry.entry_id),
        "title": entry.title,
        "content_html": entry_body_html(entry),
        "date_published": rfc3339(entry.published),
        "date_modified": rfc3339(entry.updated),
    }
    if entry.link:
        item["url"] = entry.link
    if entry.summary_html and entry.content_html:
        item["summary"] = html_to_text(entry.summary_html)  # the spec's summary is plain text
    if entry.author:
        item["authors"] = [{"name": entry.author}]
    if entry.categories:
        item["tags"] = list(entry.categories)
    copies = []
    for copy in entry.also_on:
        described = {"source": copy.source, "title": copy.title}
        if copy.link:
            described["url"] = copy.link
        copies.append(described)
    item["_aggregator"] = {"source": entry.source, "also_on": copies}
    return item
