"""Hostile source feeds built from the XSS catalogue (tests/fixtures/xss/vectors.toml).

Every vector goes into an RSS 2.0 item (title, description, content:encoded and
dc:creator) and an Atom entry (html title, summary and content), each next to a
harmless marker (`keep-rss-N`, `keep-atom-N`) that must survive, so a test can tell
"sanitized" from "dropped the whole entry". A few more entries carry relative URLs
and XHTML content. Entries are spread over topics of at most 15, so the curator's
page, which shows a topic's latest 20 stories, shows every one of them.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from tests.feedserver import FeedServer, Route

VECTORS_FILE = Path(__file__).resolve().parent / "fixtures" / "xss" / "vectors.toml"
GROUP_WORDS = ["alfa", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
               "india", "juliett"]
PER_GROUP = 15
NEWEST = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
XHTML_ENTRY = (
    '<div xmlns="http://www.w3.org/1999/xhtml"><p>keep-xhtml</p>'
    '<script>alert(101)</script><img src="x" onerror="alert(102)"/>'
    '<a href="javascript:alert(103)">x</a><iframe src="https://evil.example/"/></div>'
)


@dataclass(frozen=True)
class Vector:
    name: str
    html: str


def load_vectors() -> list[Vector]:
    with VECTORS_FILE.open("rb") as handle:
        return [Vector(v["name"], v["html"]) for v in tomllib.load(handle)["vector"]]


def group_word(index: int) -> str:
    return "xssgroup" + GROUP_WORDS[index // PER_GROUP]


def _filler(seed: int) -> str:
    """Words unique to one entry, so no two entries are near-duplicates."""
    words = random.Random(seed)
    return " ".join("".join(words.choice("bdfgklmnprstvz") + words.choice("aeiou")
                            for _ in range(3)) for _ in range(12))


def _date(index: int) -> datetime:
    return NEWEST - timedelta(minutes=index)


def rss_feed(vectors: list[Vector]) -> bytes:
    """RSS 2.0, one item per vector, plus one with relative links (base: the feed URL)."""
    items = []
    for number, vector in enumerate(vectors):
        html = f"<p>keep-rss-{number} {_filler(number)} {group_word(number)}</p>{vector.html}"
        items.append(
            f"<item><title>{escape(f'RSS case {number} {vector.html}')}</title>"
            f"<link>https://rss.example/case/{number}</link>"
            f'<guid isPermaLink="false">rss-case-{number}</guid>'
            f"<pubDate>{format_datetime(_date(number), usegmt=True)}</pubDate>"
            f"<dc:creator>{escape(vector.html)}</dc:creator>"
            f"<description>{escape(html)}</description>"
            f"<content:encoded>{escape(html)}</content:encoded></item>"
        )
    relative = len(vectors)
    items.append(
        f"<item><title>RSS relative links</title><link>https://rss.example/relative</link>"
        f'<guid isPermaLink="false">rss-relative</guid>'
        f"<pubDate>{format_datetime(_date(relative), usegmt=True)}</pubDate>"
        "<description>" + escape(
            f'<p>keep-rss-relative {_filler(relative)} {group_word(relative)} '
            '<a href="/docs/relative.html">doc</a> <img src="images/pic.png" alt="pic"></p>'
        ) + "</description></item>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>XSS RSS</title>'
        "<link>https://rss.example/</link><description>hostile</description>"
        f"{''.join(items)}</channel></rss>"
    ).encode()


def atom_feed(vectors: list[Vector], offset: int) -> bytes:
    """Atom, one entry per vector (html text constructs), one with xml:base-relative
    links and one with XHTML content; `offset` keeps group words after the RSS ones."""
    entries = []
    for number, vector in enumerate(vectors):
        index = offset + number
        html = f"<p>keep-atom-{number} {_filler(index)} {group_word(index)}</p>{vector.html}"
        entries.append(
            f"<entry><id>urn:example:atom-case-{number}</id>"
            f'<title type="html">{escape(f"Atom case {number} {vector.html}")}</title>'
            f'<link rel="alternate" href="https://atom.example/case/{number}"/>'
            f"<updated>{_date(index).isoformat()}</updated>"
            f"<author><name>{escape(vector.html)}</name></author>"
            f'<summary type="html">{escape(html)}</summary>'
            f'<content type="html">{escape(html)}</content></entry>'
        )
    base, xhtml = offset + len(vectors), offset + len(vectors) + 1
    entries.append(
        f'<entry xml:base="https://base.example/dir/"><id>urn:example:atom-relative</id>'
        f"<title>Atom relative links</title><updated>{_date(base).isoformat()}</updated>"
        '<link href="https://atom.example/relative"/>'
        '<content type="html">' + escape(
            f"<p>keep-atom-relative {_filler(base)} {group_word(base)} "
            '<a href="page.html">page</a> <img src="../img/pic.png" alt="pic"></p>'
        ) + "</content></entry>"
    )
    marker = f"keep-xhtml {_filler(xhtml)} {group_word(xhtml)}"
    entries.append(
        f"<entry><id>urn:example:atom-xhtml</id><title>Atom XHTML content</title>"
        f'<updated>{_date(xhtml).isoformat()}</updated><link href="https://atom.example/xhtml"/>'
        f'<content type="xhtml">{XHTML_ENTRY.replace("keep-xhtml", marker)}</content></entry>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:example:xss-atom</id><title>XSS Atom</title>"
        f"<updated>{NEWEST.isoformat()}</updated>{''.join(entries)}</feed>"
    ).encode()


def topics_toml(entries: int) -> str:
    """One topic taking everything (for the feeds) and one per group of entries."""
    parts = ['[[topics]]\nslug = "xss"\ntitle = "Every hostile entry"\n'
             'trusted_sources = ["XSS RSS", "XSS Atom"]\n']
    for group in range(-(-entries // PER_GROUP)):
        word = group_word(group * PER_GROUP)
        parts.append(f'[[topics]]\nslug = "{word}"\ntitle = "Group {word}"\n'
                     f'include = ["{word}"]\n')
    return "\n".join(parts)


def serve_hostile_feeds(feeds: FeedServer, vectors: list[Vector]) -> dict[str, str]:
    """Serve every vector as an RSS and an Atom feed on `feeds`; the sources to poll.
    The RSS feed's relative links resolve against its own URL, under /xss/."""
    feeds.routes["/xss/feed.rss"] = Route(rss_feed(vectors))
    feeds.routes["/xss/feed.atom"] = Route(atom_feed(vectors, len(vectors) + 1),
                                           content_type="application/atom+xml")
    return {"XSS RSS": feeds.url("/xss/feed.rss"), "XSS Atom": feeds.url("/xss/feed.atom")}
