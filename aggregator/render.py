"""Rendering a `FeedPage` as Atom 1.0, RSS 2.0 (both with feedgen) and JSON Feed 1.1.

Output is a pure function of the page: no clock reads, so the same stored entries
always render to the same bytes, which is what lets the web layer hand out strong
ETags. Entry ids are story ids (`urn:uuid:`), fixed when a story is first seen.
"""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime

from feedgen.feed import FeedGenerator
from lxml import etree

from aggregator import __version__
from aggregator.models import FeedEntry, FeedPage

FORMATS = {
    "atom": "application/atom+xml; charset=utf-8",
    "rss": "application/rss+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
ATOM_NS = "http://www.w3.org/2005/Atom"
GENERATOR = "newswire-aggregator"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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


def _generator(page: FeedPage, fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.id(page.self_url if fmt == "rss" else page.alternates.get("atom", page.self_url))
    fg.title(page.title)
    fg.subtitle(page.description or page.title)
    fg.description(page.description or page.title)
    fg.link(href=page.html_url, rel="alternate", type="text/html")
    fg.link(href=page.self_url, rel="self", type=FORMATS[fmt].split(";")[0])
    for rel, url in (("first", page.first_url), ("next", page.next_url),
                     ("previous", page.prev_url)):
        if url and fmt == "atom":
            fg.link(href=url, rel=rel)
    fg.updated(page.updated)
    fg.lastBuildDate(page.updated)
    fg.generator(GENERATOR, version=__version__)
    fg.language("en")
    for entry in page.entries:
        _add_entry(fg, entry, fmt)
    return fg


def _add_entry(fg: FeedGenerator, entry: FeedEntry, fmt: str) -> None:
    fe = fg.add_entry(order="append")
    fe.id(entry_urn(entry.entry_id))
    fe.guid(entry_urn(entry.entry_id), permalink=False)
    fe.title(entry.title)
    if entry.link:
        fe.link(href=entry.link, rel="alternate", type="text/html")
    fe.published(entry.published)
    fe.updated(entry.updated)
    body = entry_body_html(entry)
    if fmt == "atom":
        fe.content(body, type="html")
        if entry.summary_html and entry.content_html:
            fe.summary(entry.summary_html, type="html")
    else:
        fe.description(entry.summary_html or body)
        fe.content(body, type="CDATA")
    if entry.author and fmt == "atom":  # RSS <author> must be an e-mail address
        fe.author(name=entry.author)
    for term in entry.categories:
        fe.category(term=term, label=term)


def render_atom(page: FeedPage) -> bytes:
    data = _generator(page, "atom").atom_str(pretty=False, encoding="UTF-8")
    if not any(copy.link for entry in page.entries for copy in entry.also_on):
        return data
    # feedgen 1.0 drops the rel and title of entry links (a shadowed variable in
    # FeedEntry.atom_entry), which would turn "also on" links into a second alternate
    # link (invalid Atom); add them here instead.
    root = etree.fromstring(data)
    for element, entry in zip(root.findall(f"{{{ATOM_NS}}}entry"), page.entries, strict=True):
        for copy in entry.also_on:
            if copy.link:
                etree.SubElement(element, f"{{{ATOM_NS}}}link", href=copy.link, rel="related",
                                 title=copy.source)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def render_rss(page: FeedPage) -> bytes:
    data = _generator(page, "rss").rss_str(pretty=False, encoding="UTF-8")
    paging = [(rel, url) for rel, url in (("first", page.first_url), ("next", page.next_url),
                                           ("previous", page.prev_url)) if url]
    if not paging:
        return data
    # feedgen writes only the self link into RSS; add RFC 5005 paging links as atom:link.
    root = etree.fromstring(data)
    channel = root.find("channel")
    anchor = channel.find(f"{{{ATOM_NS}}}link")
    position = list(channel).index(anchor) + 1 if anchor is not None else 3
    for offset, (rel, url) in enumerate(paging):
        link = etree.Element(f"{{{ATOM_NS}}}link", href=url, rel=rel,
                             type="application/rss+xml")
        channel.insert(position + offset, link)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_json(page: FeedPage) -> bytes:
    """JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""
    document: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": page.title,
        "home_page_url": page.html_url,
        "feed_url": page.self_url,
        "description": page.description or page.title,
        "language": "en",
    }
    if page.next_url:
        document["next_url"] = page.next_url
    items = []
    for entry in page.entries:
        item: dict[str, object] = {
            "id": entry_urn(entry.entry_id),
            "title": entry.title,
            "content_html": entry_body_html(entry),
            "date_published": _rfc3339(entry.published),
            "date_modified": _rfc3339(entry.updated),
        }
        if entry.link:
            item["url"] = entry.link
        if entry.summary_html and entry.content_html:
            item["summary"] = entry.summary_html
        if entry.author:
            item["authors"] = [{"name": entry.author}]
        if entry.categories:
            item["tags"] = list(entry.categories)
        item["_aggregator"] = {
            "source": entry.source,
            "also_on": [
                {"source": copy.source, "url": copy.link, "title": copy.title}
                for copy in entry.also_on
            ],
        }
        items.append(item)
    document["items"] = items
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
