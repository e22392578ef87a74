"""Rendering a `FeedPage` as Atom 1.0, RSS 2.0 and JSON Feed 1.1.

Output is a pure function of the page: no clock reads, so the same stored entries
always render to the same bytes, which is what lets the web layer hand out strong
ETags. Entry ids are story ids (`urn:uuid:`), fixed when a story is first seen.

Atom and RSS are built with feedgen (`FeedGenerator`/`FeedEntry`, its `dc` extension
for `dc:creator`). Every date feedgen would otherwise default to `now()` (feed
`updated`, which is also RSS `lastBuildDate`, and each entry's `updated`) is set from
the page. feedgen 1.0 gets a few details wrong, so its output gets a small, explicit
lxml pass afterwards (`_fix_atom`, `_fix_rss`) instead of a hand-written document:

- `FeedEntry.atom_entry` shadows its loop variable, so every entry `<link>` loses its
  `rel`, `type` and `title`: "also on" links would become duplicate alternates. We put
  back the attributes of the links we gave it.
- The RSS channel `<link>` is the href of the *last* link given to `FeedGenerator.link`
  whatever its `rel`, so the page link (`html_url`) is always added last.
- RSS output carries only the first `atom:link rel="self"`; RFC 5005 paging links are
  added after it.
- Dates come out as `isoformat()` (`+00:00`) and `%z` (`+0000`); they are normalised to
  the `Z` and `GMT` forms this module has always published.
- RSS dates go through `feedgen.util.formatRFC2822`, which switches the process-wide
  locale to "C" and back; concurrent calls can leave the process in the wrong locale,
  so RSS serialisation holds a lock.
- Atom needs a feed-level author unless every entry has one (set explicitly); RSS
  `<author>` must be an e-mail address, so names go into `dc:creator`.
"""

from __future__ import annotations

import html
import json
import re
import threading
from datetime import UTC, datetime

from feedgen.entry import FeedEntry as FeedgenEntry
from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator import __version__
from aggregator.core.sanitize import html_to_text
from aggregator.models import FeedEntry, FeedPage

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
    return _utc(value).isoformat().replace("+00:00", "Z")


def _xml(value: str) -> str:
    return _NOT_XML.sub("", value)


def _paging(page: FeedPage) -> list[tuple[str, str]]:
    urls = (page.first_url, page.next_url, page.prev_url)
    return [(rel, url) for rel, url in zip(_PAGING_RELS, urls, strict=True) if url]


def _text(value: str, fallback: str = "") -> str:
    """`value` without what XML cannot carry; feedgen refuses an empty title or id."""
    return _xml(value) or fallback


# feedgen builds with lxml; its output is parsed back (our own bytes, so no entities,
# no network) for the fixes listed in the module docstring, then serialised as before.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
# See the module docstring: feedgen.util.formatRFC2822 flips the process locale.
_RSS_LOCK = threading.Lock()


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(microsecond=0)


def _generator(page: FeedPage) -> FeedGenerator:
    """The feed-level fields both formats share; every date set, none left to now()."""
    fg = FeedGenerator()
    fg.title(_text(page.title, page.slug))
    fg.language(LANGUAGE)
    fg.updated(_utc(page.updated))  # also RSS lastBuildDate
    return fg


def _normalise_dates(root: etree._Element, tags: tuple[str, ...], old: str, new: str) -> None:
    for tag in tags:
        for element in root.iter(tag):
            if element.text and element.text.endswith(old):
                element.text = element.text[: -len(old)] + new


# -- Atom 1.0 (RFC 4287, paging per RFC 5005) -----------------------------------------


def render_atom(page: FeedPage) -> bytes:
    fg = _generator(page)
    fg.id(_text(page.alternates.get("atom", page.self_url)))
    if page.description:
        fg.subtitle(_text(page.description))
    # RFC 4287 4.1.1: a feed needs an author unless every entry has one; entries
    # without an author inherit this one.
    fg.author(name=GENERATOR)
    fg.link(rel="self", type=media_type("atom"), href=_xml(page.self_url))
    fg.link(rel="alternate", type="text/html", href=_xml(page.html_url))
    for fmt, url in page.alternates.items():
        if fmt != "atom":
            fg.link(rel="alternate", type=media_type(fmt), href=_xml(url))
    for rel, url in _paging(page):
        fg.link(rel=rel, type=media_type("atom"), href=_xml(url))
    fg.generator(GENERATOR, version=__version__, uri=GENERATOR_URI)
    entries = [_atom_entry(entry) for entry in page.entries]
    for fe in entries:
        fg.add_entry(fe, order="append")
    root = etree.fromstring(fg.atom_str(), _PARSER)
    _fix_atom(root, entries)
    return _serialize(root)


def _atom_entry(entry: FeedEntry) -> FeedgenEntry:
    fe = FeedgenEntry()
    fe.id(entry_urn(entry.entry_id))
    fe.title(_text(entry.title, "(untitled)"))
    fe.updated(_utc(entry.updated))
    fe.published(_utc(entry.published))
    if entry.author:
        fe.author(name=_xml(entry.author))
    if entry.link:
        fe.link(rel="alternate", type="text/html", href=_xml(entry.link))
    related = {copy.link: copy.source for copy in entry.also_on
               if copy.link and copy.link != entry.link}
    for href, source in related.items():
        fe.link(rel="related", type="text/html", title=_xml(source), href=_xml(href))
    for term in entry.categories:
        fe.category(term=_xml(term))
    if entry.summary_html and entry.content_html:
        fe.summary(_xml(entry.summary_html), type="html")
    fe.content(_xml(entry_body_html(entry)), type="html")
    return fe


def _fix_atom(root: etree._Element, entries: list[FeedgenEntry]) -> None:
    a = f"{{{ATOM_NS}}}"
    # feedgen 1.0 FeedEntry.atom_entry drops rel/type/title/hreflang/length on entry
    # links (its loop variable is rebound to the new element); restore them from the
    # link data feedgen kept, in the order it wrote the links.
    for element, fe in zip(root.iterfind(f"{a}entry"), entries, strict=True):
        for link, data in zip(element.iterfind(f"{a}link"), fe.link() or [], strict=True):
            for name in ("rel", "type", "hreflang", "title", "length"):
                if data.get(name):
                    link.set(name, data[name])
    # isoformat() writes +00:00; RFC 3339 UTC as this feed has always written it.
    _normalise_dates(root, (f"{a}updated", f"{a}published"), "+00:00", "Z")


# -- RSS 2.0 (https://www.rssboard.org/rss-specification) -----------------------------


def render_rss(page: FeedPage) -> bytes:
    fg = _generator(page)
    fg.load_extension("dc", atom=False, rss=True)
    fg.description(_text(page.description or page.title, page.slug))
    fg.link(rel="self", type=media_type("rss"), href=_xml(page.self_url))
    # feedgen makes the channel <link> the last link given, whatever its rel: the page.
    fg.link(rel="alternate", type="text/html", href=_xml(page.html_url))
    fg.generator(f"{GENERATOR} {__version__}")
    fg.docs("https://www.rssboard.org/rss-specification")
    for entry in page.entries:
        fe = fg.add_entry(order="append")
        fe.title(_text(entry.title, "(untitled)"))
        if entry.link:
            fe.link(href=_xml(entry.link))
        body = _xml(entry_body_html(entry))
        fe.content(body)  # content:encoded
        fe.description(_xml(entry.summary_html) or body)
        fe.guid(entry_urn(entry.entry_id), permalink=False)
        fe.pubDate(_utc(entry.published))
        if entry.author:  # RSS <author> must be an e-mail address; Dublin Core takes a name
            fe.dc.dc_creator(_xml(entry.author))
        for term in entry.categories:
            fe.category(term=_xml(term))
    with _RSS_LOCK:
        document = fg.rss_str()
    root = etree.fromstring(document, _PARSER)
    _fix_rss(root, page)
    return _serialize(root)


def _fix_rss(root: etree._Element, page: FeedPage) -> None:
    # feedgen writes only the first rel="self" atom:link; RFC 5005 paging goes after it.
    self_link = root.find(f"channel/{{{ATOM_NS}}}link[@rel='self']")
    for rel, url in reversed(_paging(page)):
        self_link.addnext(etree.Element(f"{{{ATOM_NS}}}link", rel=rel,
                                        type=media_type("rss"), href=_xml(url)))
    # formatRFC2822 writes %z (+0000); RFC 822's GMT, as this feed has always written it.
    _normalise_dates(root, ("lastBuildDate", "pubDate"), " +0000", " GMT")


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
