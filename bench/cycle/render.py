"""Feed documents of the cycle corpus: RSS 2.0, Atom 1.0, RSS 1.0 (RDF) and JSON Feed,
each written the way its `Shape` says (encoding, author habits, xml:base, enclosures,
dates, and the flaw of a feed only feedparser reads)."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

from bench.cycle.shapes import Shape

# Text that makes a non-UTF-8 encoding matter: each is representable in its encoding.
TITLE_SUFFIX = {
    "utf-8": "",
    "iso-8859-1": " (Actualit\u00e9s, Z\u00fcrich)",
    "windows-1252": " \u2013 Today\u2019s releases",
}
EASTERN = timezone(timedelta(hours=-5), "EST")  # how US wires date their items


@dataclass(slots=True)
class Release:
    title: str
    paragraphs: list[str]
    company: str
    published: datetime
    topic: bool


@dataclass(frozen=True, slots=True)
class Context:
    """What every item of one feed shares."""

    shape: Shape
    wire: str
    city: str
    cdata: bool
    category_names: list[str]

    @property
    def host(self) -> str:
        return self.wire.lower().replace(" ", "")


def _body(release: Release, dateline: str) -> str:
    return "".join(
        f"<p>{dateline if i == 0 else ''}{p}</p>" for i, p in enumerate(release.paragraphs)
    )


def _rss_date(when: datetime, shape: Shape) -> str:
    if shape.feedparser_only == "two-digit-year":
        return when.astimezone(UTC).strftime("%a, %d %b %y %H:%M:%S GMT")
    if shape.named_zone:
        return when.astimezone(EASTERN).strftime("%a, %d %b %Y %H:%M:%S EST")
    return format_datetime(when.astimezone(UTC), usegmt=True)


def _title(release: Release, shape: Shape) -> str:
    title = html.escape(release.title, quote=False)
    return title + "&nbsp;" if shape.feedparser_only == "undefined-entity" else title


def _enclosure(serial: int, ctx: Context, *, atom: bool) -> str:
    url = f"https://media.{ctx.host}.example/photos/{serial}.jpg"
    if atom:
        return f'  <link rel="enclosure" type="image/jpeg" length="48213" href="{url}"/>\n'
    return (
        f'  <enclosure url="{url}" length="48213" type="image/jpeg"/>\n'
        f'  <media:content url="{url}" medium="image" width="1024" height="683"/>\n'
    )


def rss_item(release: Release, serial: int, ctx: Context) -> str:
    slug = "-".join(release.title.lower().split()[:10]).replace("'", "").replace("$", "")
    link = (
        f"https://www.{ctx.host}.example/news-releases/"
        f"{html.escape(slug)}-{serial}.html?utm_source=rss&amp;utm_medium=rss"
    )
    body = _body(release, f"{ctx.city}, {release.published:%b. %d, %Y} /{ctx.wire}/ -- ")
    description = f"<![CDATA[{body}]]>" if ctx.cdata else html.escape(body, quote=False)
    return (
        "<item>\n"
        f"  <title>{_title(release, ctx.shape)}</title>\n"
        f"  <link>{link}</link>\n"
        f'  <guid isPermaLink="false">{serial}</guid>\n'
        f"  <pubDate>{_rss_date(release.published, ctx.shape)}</pubDate>\n"
        f"  <dc:creator>{html.escape(release.company)}</dc:creator>\n"
        f"  <category>{ctx.category_names[serial % len(ctx.category_names)]}</category>\n"
        f"  <description>{description}</description>\n"
        + (_enclosure(serial, ctx, atom=False) if ctx.shape.enclosures else "")
        + "</item>\n"
    )


def atom_entry(release: Release, serial: int, ctx: Context) -> str:
    shape = ctx.shape
    body = _body(release, f"{ctx.city}--({ctx.wire.upper()})--")
    when = release.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    site = f"https://www.{ctx.host}.example/"
    path = f"news/home/{serial}/en/?feedref=rss"
    href = path if shape.xml_base else site + path  # relative: xml:base resolves it
    base = f' xml:base="{site}news/"' if shape.xml_base else ""
    creator = f"  <dc:creator>{html.escape(release.company)}</dc:creator>\n"
    return (
        "<entry>\n"
        f"  <title>{_title(release, shape)}</title>\n"
        f"  <id>tag:{ctx.host}.example,2026:{serial}</id>\n"
        f'  <link rel="alternate" href="{href}"/>\n'
        f"  <published>{when}</published>\n  <updated>{when}</updated>\n"
        f"  <author><name>{html.escape(release.company)}</name></author>\n"
        + (creator if shape.both_authors else "")
        + f'  <category term="{ctx.category_names[serial % len(ctx.category_names)]}"/>\n'
        f'  <summary type="html"{base}>{html.escape(body, quote=False)}</summary>\n'
        + (_enclosure(serial, ctx, atom=True) if shape.enclosures else "")
        + "</entry>\n"
    )


def rdf_item(release: Release, serial: int, ctx: Context) -> str:
    link = f"https://www.{ctx.host}.example/story/{serial}"
    body = _body(release, f"{ctx.city} ({ctx.wire}) - ")
    when = release.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<item rdf:about="{link}">\n'
        f"  <title>{_title(release, ctx.shape)}</title>\n"
        f"  <link>{link}</link>\n"
        f"  <description>{html.escape(body, quote=False)}</description>\n"
        f"  <dc:date>{when}</dc:date>\n"
        f"  <dc:creator>{html.escape(release.company)}</dc:creator>\n"
        f"  <dc:subject>{ctx.category_names[serial % len(ctx.category_names)]}</dc:subject>\n"
        "</item>\n"
    )


def json_item(release: Release, serial: int, ctx: Context) -> dict[str, object]:
    when = release.published.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "id": f"https://www.{ctx.host}.example/item/{serial}",
        "url": f"https://www.{ctx.host}.example/item/{serial}",
        "title": release.title,
        "content_html": _body(release, f"{ctx.city} ({ctx.wire}) -- "),
        "date_published": when,
        "authors": [{"name": release.company}],
        "tags": [html.unescape(ctx.category_names[serial % len(ctx.category_names)])],
    }


def render(name: str, ctx: Context, entries: list[tuple[Release, int]]) -> bytes:
    """The feed document of `entries` (release, serial), newest first, as bytes on the wire."""
    shape, site = ctx.shape, f"https://www.{ctx.host}.example/"
    title = f"{ctx.wire}: {name}{TITLE_SUFFIX[shape.encoding]}"
    if shape.feedparser_only == "mis-encoded":
        title += TITLE_SUFFIX["windows-1252"]
    if shape.kind == "json":
        document = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": title,
            "home_page_url": site,
            "items": [json_item(r, s, ctx) for r, s in entries],
        }
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    if shape.kind == "rss":
        self_link = (
            f'<atom:link href="{site}feed/" rel="self" type="application/rss+xml"/>\n'
            if shape.self_link
            else ""
        )
        text = (
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:media="http://search.yahoo.com/mrss/">\n<channel>\n'
            f"<title>{title}</title>\n<link>{site}</link>\n{self_link}"
            "<description>Latest news releases</description>\n<language>en-us</language>\n"
            + "".join(rss_item(r, s, ctx) for r, s in entries)
            + "</channel>\n</rss>\n"
        )
    elif shape.kind == "rdf":
        contents = "".join(f'<rdf:li rdf:resource="{site}story/{s}"/>' for _, s in entries)
        text = (
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
            f'<channel rdf:about="{site}">\n<title>{title}</title>\n<link>{site}</link>\n'
            "<description>Latest news releases</description>\n"
            f"<items><rdf:Seq>{contents}</rdf:Seq></items>\n</channel>\n"
            + "".join(rdf_item(r, s, ctx) for r, s in entries)
            + "</rdf:RDF>\n"
        )
    else:
        updated = max(r.published for r, _ in entries).astimezone(UTC)
        base = f' xml:base="{site}"' if shape.xml_base else ""
        text = (
            f'<feed xmlns="http://www.w3.org/2005/Atom" '
            f'xmlns:dc="http://purl.org/dc/elements/1.1/"{base}>\n'
            f"<title>{title}</title>\n"
            f"<id>tag:{ctx.host}.example,2026:{name}</id>\n"
            f'<link rel="alternate" type="text/html" href="{site}"/>\n'
            f"<updated>{updated:%Y-%m-%dT%H:%M:%SZ}</updated>\n"
            + "".join(atom_entry(r, s, ctx) for r, s in entries)
            + "</feed>\n"
        )
    return encode(text, shape)


def encode(text: str, shape: Shape) -> bytes:
    """The document with its XML declaration, in its encoding; a mis-encoded feed declares
    UTF-8 and is written in windows-1252, as a misconfigured CMS does."""
    written = "windows-1252" if shape.feedparser_only == "mis-encoded" else shape.encoding
    declaration = f'<?xml version="1.0" encoding="{shape.encoding}"?>\n'
    return (declaration + text).encode(written, errors="xmlcharrefreplace")
