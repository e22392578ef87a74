"""Write a corpus as real-shaped feed files, one per outlet, and the service's config.

Shapes follow what the wires publish: RSS 2.0 with CDATA HTML descriptions (PR Newswire),
RSS 2.0 with dc:creator and categories (GlobeNewswire), Atom with html summary and content
(Business Wire), RSS 1.0/RDF with dc:date and content:encoded (EurekAlert). lxml does all
escaping. Every file is parsed back with feedparser and must be well formed (no bozo) and
hold every item, so a bench never scores a feed the service could not read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser
from lxml import etree

from bench.corpora.corpus import Corpus, Item, Outlet

ATOM = "http://www.w3.org/2005/Atom"
DC = "http://purl.org/dc/elements/1.1/"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RSS1 = "http://purl.org/rss/1.0/"
CONTENT = "http://purl.org/rss/1.0/modules/content/"
EXTENSIONS = {"rss2": "xml", "rss2-dc": "xml", "atom": "atom", "rdf": "rdf"}
# Neutral on purpose: a category is searched by topic terms like the text is.
CATEGORY = {"wire": "News Releases", "newsroom": "Press Releases", "news": "News"}


class FeedError(ValueError):
    """A generated feed that feedparser does not read cleanly."""


@dataclass(frozen=True)
class FeedFile:
    outlet: Outlet
    path: Path
    items: int


def html(item: Item) -> str:
    """The item's text as <p> paragraphs, the way wires publish a release."""
    return "".join(f"<p>{escape(p)}</p>" for p in item.paragraphs)


def author(item: Item) -> str:
    return item.issuer.name if item.issuer else item.outlet.name


def write_feeds(corpus: Corpus, folder: Path) -> list[FeedFile]:
    """One feed per outlet that has items, newest first; each checked with feedparser."""
    folder.mkdir(parents=True, exist_ok=True)
    feeds = []
    for outlet in corpus.outlets.values():
        items = sorted(
            (i for i in corpus.items if i.outlet.key == outlet.key),
            key=lambda i: (i.published, i.id),
            reverse=True,
        )
        if not items:
            continue
        path = folder / f"{outlet.key}.{EXTENSIONS[outlet.shape]}"
        root = BUILDERS[outlet.shape](outlet, items)
        path.write_bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))
        check_feed(path, len(items))
        feeds.append(FeedFile(outlet, path, len(items)))
    return feeds


def check_feed(path: Path, expected: int) -> None:
    parsed = feedparser.parse(path.read_bytes())
    if parsed.bozo:
        raise FeedError(f"{path.name}: feedparser: {parsed.bozo_exception}")
    if len(parsed.entries) != expected:
        raise FeedError(f"{path.name}: feedparser read {len(parsed.entries)} of {expected} items")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attrib: str):
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def _rss2(outlet: Outlet, items: Iterable[Item], dc: bool) -> etree._Element:
    rss = etree.Element("rss", version="2.0", nsmap={"dc": DC} if dc else None)
    channel = _sub(rss, "channel")
    _sub(channel, "title", f"{outlet.name}: latest")
    _sub(channel, "link", f"https://{outlet.key}.example.com/")
    _sub(channel, "description", f"Latest from {outlet.name}")
    for item in items:
        entry = _sub(channel, "item")
        _sub(entry, "title", item.title)
        _sub(entry, "link", item.link)
        _sub(entry, "guid", item.link, isPermaLink="true")
        _sub(entry, "pubDate", format_datetime(item.published))
        if dc:
            _sub(entry, f"{{{DC}}}creator", author(item))
            _sub(entry, "category", CATEGORY[outlet.kind])
        _sub(entry, "description").text = etree.CDATA(html(item))
    return rss


def _atom(outlet: Outlet, items: list[Item]) -> etree._Element:
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _sub(feed, f"{{{ATOM}}}title", f"{outlet.name}: latest")
    _sub(feed, f"{{{ATOM}}}id", f"tag:{outlet.key}.example.com,2026:feed")
    _sub(feed, f"{{{ATOM}}}link", rel="alternate", href=f"https://{outlet.key}.example.com/")
    _sub(feed, f"{{{ATOM}}}updated", max(i.published for i in items).isoformat())
    for item in items:
        entry = _sub(feed, f"{{{ATOM}}}entry")
        _sub(entry, f"{{{ATOM}}}title", item.title)
        _sub(entry, f"{{{ATOM}}}id", f"tag:{outlet.key}.example.com,2026:{item.id}")
        _sub(entry, f"{{{ATOM}}}link", rel="alternate", href=item.link)
        _sub(entry, f"{{{ATOM}}}published", item.published.isoformat())
        _sub(entry, f"{{{ATOM}}}updated", item.published.isoformat())
        _sub(_sub(entry, f"{{{ATOM}}}author"), f"{{{ATOM}}}name", author(item))
        _sub(entry, f"{{{ATOM}}}summary", f"<p>{escape(item.summary)}</p>", type="html")
        _sub(entry, f"{{{ATOM}}}content", html(item), type="html")
    return feed


def _rdf(outlet: Outlet, items: list[Item]) -> etree._Element:
    nsmap = {"rdf": RDF, None: RSS1, "dc": DC, "content": CONTENT}
    root = etree.Element(f"{{{RDF}}}RDF", nsmap=nsmap)
    channel = _sub(
        root, f"{{{RSS1}}}channel", **{f"{{{RDF}}}about": f"https://{outlet.key}.example.com/rss"}
    )
    _sub(channel, f"{{{RSS1}}}title", f"{outlet.name}: latest")
    _sub(channel, f"{{{RSS1}}}link", f"https://{outlet.key}.example.com/")
    _sub(channel, f"{{{RSS1}}}description", f"Latest from {outlet.name}")
    seq = _sub(_sub(channel, f"{{{RSS1}}}items"), f"{{{RDF}}}Seq")
    for item in items:
        _sub(seq, f"{{{RDF}}}li", **{f"{{{RDF}}}resource": item.link})
    for item in items:
        entry = _sub(root, f"{{{RSS1}}}item", **{f"{{{RDF}}}about": item.link})
        _sub(entry, f"{{{RSS1}}}title", item.title)
        _sub(entry, f"{{{RSS1}}}link", item.link)
        _sub(entry, f"{{{RSS1}}}description", item.summary)
        _sub(entry, f"{{{CONTENT}}}encoded").text = etree.CDATA(html(item))
        _sub(entry, f"{{{DC}}}date", item.published.isoformat())
        _sub(entry, f"{{{DC}}}creator", author(item))
    return root


BUILDERS: dict[str, Callable[[Outlet, list[Item]], etree._Element]] = {
    "rss2": lambda outlet, items: _rss2(outlet, items, dc=False),
    "rss2-dc": lambda outlet, items: _rss2(outlet, items, dc=True),
    "atom": _atom,
    "rdf": _rdf,
}


def write_config(path: Path, feeds: list[FeedFile], db: Path, extra: str = "") -> Path:
    """The service config: one [[sources]] per feed (paths relative to it), `extra` appended.

    Retention is ten years because corpus items are dated; workers are off so a small corpus
    is polled in one process (the same parse, normalize, dedupe and match code runs either way).
    """
    q = json.dumps  # a JSON string is a valid TOML basic string
    lines = [
        "[storage]",
        f"url = {q('sqlite:///' + str(db.resolve()))}",
        "retention_days = 3650",
        "",
        "[fetch]",
        "workers = 0",
        "",
    ]
    names: set[str] = set()
    for feed in feeds:
        name = feed.outlet.name if feed.outlet.name not in names else feed.outlet.key
        names.add(name)
        lines += [
            "[[sources]]",
            f"name = {q(name)}",
            f"url = {q(str(feed.path.resolve().relative_to(path.parent.resolve())))}",
            f"tags = [{q(feed.outlet.kind)}]",
            "",
        ]
    path.write_text("\n".join(lines) + "\n" + extra, encoding="utf-8")
    return path
