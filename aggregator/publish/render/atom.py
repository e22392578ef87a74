"""Atom 1.0 (RFC 4287, paging per RFC 5005)."""

from __future__ import annotations

from feedgen.entry import FeedEntry as FeedgenEntry
from lxml import etree

from aggregator.models import FeedEntry, FeedPage
from aggregator.publish.render.common import (
    ATOM_NS,
    GENERATOR,
    GENERATOR_URI,
    entry_body_html,
    entry_urn,
    media_type,
    paging_links,
    text_or,
    utc,
)
from aggregator.publish.render.xmlfeed import PARSER, feed_generator, normalise_dates, serialize
from aggregator.version import __version__


def render_atom(page: FeedPage) -> bytes:
    fg = feed_generator(page)
    fg.id(text_or(page.alternates.get("atom", page.self_url)))
    if page.description:
        fg.subtitle(text_or(page.description))
    # RFC 4287 4.1.1: a feed needs an author unless every entry has one; entries
    # without an author inherit this one.
    fg.author(name=GENERATOR)
    fg.link(rel="self", type=media_type("atom"), href=page.self_url)
    fg.link(rel="alternate", type="text/html", href=page.html_url)
    if page.hub_url:
        fg.link(rel="hub", href=page.hub_url)
    for fmt, url in page.alternates.items():
        if fmt != "atom":
            fg.link(rel="alternate", type=media_type(fmt), href=url)
    for rel, url in paging_links(page):
        fg.link(rel=rel, type=media_type("atom"), href=url)
    fg.generator(GENERATOR, version=__version__, uri=GENERATOR_URI)
    entries = [_atom_entry(entry) for entry in page.entries]
    for fe in entries:
        fg.add_entry(fe, order="append")
    root = etree.fromstring(fg.atom_str(), PARSER)
    _fix_atom(root, entries)
    return serialize(root)


def _atom_entry(entry: FeedEntry) -> FeedgenEntry:
    fe = FeedgenEntry()
    fe.id(entry_urn(entry.entry_id))
    fe.title(text_or(entry.title, "(untitled)"))
    fe.updated(utc(entry.updated))
    fe.published(utc(entry.published))
    if entry.author:
        fe.author(name=entry.author)
    if entry.link:
        fe.link(rel="alternate", type="text/html", href=entry.link)
    related = {copy.link: copy.source for copy in entry.also_on
               if copy.link and copy.link != entry.link}
    for href, source in related.items():
        fe.link(rel="related", type="text/html", title=source, href=href)
    for term in entry.categories:
        fe.category(term=term)
    if entry.summary_html and entry.content_html:
        fe.summary(entry.summary_html, type="html")
    fe.content(entry_body_html(entry), type="html")
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
    normalise_dates(root, (f"{a}updated", f"{a}published"), "+00:00", "Z")


