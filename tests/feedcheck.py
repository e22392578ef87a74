"""What the W3C Feed Validation Service checks, as functions that list the problems.

The validator (validator.w3.org/feed) is not reachable from tests, so its rules for
the documents we publish are written out here: the structure and cardinality rules
of Atom 1.0 (RFC 4287) and RSS 2.0 (the RSS Advisory Board's specification, plus the
atom:link rel="self" the validator asks for), their date formats, absolute IRIs,
unique ids; and JSON Feed 1.1 per its specification. Each `*_problems` function
returns human-readable problems, so a failing test says exactly what is wrong.

`html_problems` is the safety check applied to every piece of HTML we publish: only
the sanitizer's allow-listed elements, no event handlers or styles, and only
http(s)/mailto URLs.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lxml_html

ATOM_NS = "http://www.w3.org/2005/Atom"
A = f"{{{ATOM_NS}}}"
XML_NS = "http://www.w3.org/XML/1998/namespace"

RFC3339 = re.compile(
    r"^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):[0-5]\d:([0-5]\d|60)"
    r"(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$"
)
RFC822 = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (0[1-9]|[12]\d|3[01]) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} "
    r"([01]\d|2[0-3]):[0-5]\d:[0-5]\d (GMT|UT|Z|[+-]\d{4})$"
)
# RFC 4287 section 4.2.7.2 and the IANA link relations the validator knows.
LINK_RELS = {"alternate", "related", "self", "enclosure", "via", "first", "last", "next",
             "previous", "prev", "prev-archive", "next-archive", "current", "hub", "license",
             "replies", "edit", "edit-media", "service"}
ATOM_FEED_CHILDREN = {"author", "category", "contributor", "generator", "icon", "id", "link",
                      "logo", "rights", "subtitle", "title", "updated", "entry"}
ATOM_ENTRY_CHILDREN = {"author", "category", "content", "contributor", "id", "link",
                       "published", "rights", "source", "summary", "title", "updated"}
ATOM_ONCE = {"id", "title", "updated", "subtitle", "generator", "icon", "logo", "rights",
             "published", "content", "summary", "source"}
RSS_CHANNEL_CHILDREN = {"title", "link", "description", "language", "copyright",
                        "managingEditor", "webMaster", "pubDate", "lastBuildDate", "category",
                        "generator", "docs", "cloud", "ttl", "image", "rating", "textInput",
                        "skipHours", "skipDays", "item"}
RSS_ITEM_CHILDREN = {"title", "link", "description", "author", "category", "comments",
                     "enclosure", "guid", "pubDate", "source"}
RSS_ONCE = {"title", "link", "description", "language", "copyright", "managingEditor",
            "webMaster", "pubDate", "lastBuildDate", "generator", "docs", "cloud", "ttl",
            "image", "rating", "textInput", "skipHours", "skipDays", "author", "comments",
            "enclosure", "guid", "source"}
JSON_FEED_KEYS = {"version", "title", "home_page_url", "feed_url", "description",
                  "user_comment", "next_url", "icon", "favicon", "authors", "author",
                  "language", "expired", "hubs", "items"}
JSON_ITEM_KEYS = {"id", "url", "external_url", "title", "content_html", "content_text",
                  "summary", "image", "banner_image", "date_published", "date_modified",
                  "authors", "author", "tags", "language", "attachments"}

# What the sanitizer may let through (aggregator/sanitize.py), plus what render adds.
SAFE_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dl",
    "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "ins", "li", "ol", "p", "pre", "q", "s", "small", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "u", "ul",
}
SAFE_ATTRIBUTES = {"href", "title", "src", "alt", "width", "height", "colspan", "rowspan",
                   "scope", "cite", "rel"}
URL_ATTRIBUTES = {"href", "src", "cite"}
SAFE_SCHEMES = {"http", "https", "mailto"}


def is_absolute_iri(value: str | None) -> bool:
    if not value or value != value.strip() or any(ch in value for ch in " <>\"\n\t"):
        return False
    parts = urlsplit(value)
    if parts.scheme in ("http", "https"):
        return bool(parts.netloc)
    if parts.scheme == "urn":
        return bool(re.fullmatch(r"urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+", value))
    return parts.scheme in ("tag", "mailto") and bool(parts.path)


def html_problems(fragment: str, where: str) -> list[str]:
    """Everything unsafe in a piece of published HTML."""
    if not fragment.strip():
        return []
    problems = []
    for element in lxml_html.fragments_fromstring(f"<div>{fragment}</div>")[0].iter():
        if not isinstance(element.tag, str):  # comments, processing instructions
            problems.append(f"{where}: {element!r} in HTML")
            continue
        if element.tag not in SAFE_TAGS | {"div"}:
            problems.append(f"{where}: element <{element.tag}>")
        for name, value in element.attrib.items():
            if name.lower() not in SAFE_ATTRIBUTES:
                problems.append(f"{where}: <{element.tag} {name}={value!r}>")
            elif name.lower() in URL_ATTRIBUTES:
                scheme = urlsplit(value.strip()).scheme.lower()
                if scheme not in SAFE_SCHEMES:
                    problems.append(f"{where}: <{element.tag} {name}={value!r}> is not an "
                                    "absolute http(s)/mailto URL")
    return problems


def text_problems(text: str | None, where: str) -> list[str]:
    """A plain-text field (a title, a name) that an HTML-minded reader would render as
    markup: anything an HTML parser reads as an element."""
    if not text:
        return []
    parsed = lxml_html.fragments_fromstring(f"<div>{text}</div>")[0]
    if len(parsed):
        return [f"{where}: plain text holds markup: {text!r}"]
    return []


def _local(element: etree._Element) -> str:
    return etree.QName(element).localname


def _cardinality(parent: etree._Element, names: set[str], namespace: str | None,
                 where: str) -> list[str]:
    counts = Counter(_local(child) for child in parent
                     if isinstance(child.tag, str) and etree.QName(child).namespace == namespace)
    return [f"{where}: {count} <{name}> elements, at most one allowed"
            for name, count in counts.items() if name in names and count > 1]


# -- Atom 1.0 -------------------------------------------------------------------------


def atom_problems(document: bytes) -> list[str]:
    root = etree.fromstring(document)
    if root.tag != f"{A}feed":
        return [f"root element is {root.tag}, not atom:feed"]
    problems = _cardinality(root, ATOM_ONCE, ATOM_NS, "feed")
    for child in root:
        if etree.QName(child).namespace == ATOM_NS and _local(child) not in ATOM_FEED_CHILDREN:
            problems.append(f"feed: unknown Atom element <{_local(child)}>")
    for name in ("id", "title", "updated"):
        if root.find(f"{A}{name}") is None:
            problems.append(f"feed: missing <{name}>")
    if not is_absolute_iri(root.findtext(f"{A}id")):
        problems.append(f"feed: id {root.findtext(f'{A}id')!r} is not an absolute IRI")
    problems += _date_problems(root, "feed")
    problems += _link_problems(root, "feed")
    rels = [link.get("rel", "alternate") for link in root.findall(f"{A}link")]
    if rels.count("self") != 1:
        problems.append(f"feed: {rels.count('self')} rel=self links, want exactly one")
    problems += _text_construct_problems(root, "feed")
    entries = root.findall(f"{A}entry")
    feed_has_author = _author_problems(root, "feed", problems)
    ids = []
    for index, entry in enumerate(entries):
        where = f"entry {index + 1}"
        problems += _cardinality(entry, ATOM_ONCE, ATOM_NS, where)
        for child in entry:
            if (etree.QName(child).namespace == ATOM_NS
                    and _local(child) not in ATOM_ENTRY_CHILDREN):
                problems.append(f"{where}: unknown Atom element <{_local(child)}>")
        for name in ("id", "title", "updated"):
            if entry.find(f"{A}{name}") is None:
                problems.append(f"{where}: missing <{name}>")
        entry_id = entry.findtext(f"{A}id")
        ids.append(entry_id)
        if not is_absolute_iri(entry_id):
            problems.append(f"{where}: id {entry_id!r} is not an absolute IRI")
        elif entry_id.startswith("urn:uuid:"):
            try:
                uuid.UUID(entry_id.removeprefix("urn:uuid:"))
            except ValueError:
                problems.append(f"{where}: {entry_id!r} is not a valid urn:uuid")
        problems += _date_problems(entry, where)
        problems += _link_problems(entry, where)
        problems += _text_construct_problems(entry, where)
        if not _author_problems(entry, where, problems) and not feed_has_author:
            problems.append(f"{where}: no author, and the feed has none (RFC 4287 4.1.1)")
        content = entry.find(f"{A}content")
        alternates = [link for link in entry.findall(f"{A}link")
                      if link.get("rel", "alternate") == "alternate"]
        if content is None and not alternates:
            problems.append(f"{where}: neither content nor an alternate link")
        for category in entry.findall(f"{A}category"):
            if not category.get("term"):
                problems.append(f"{where}: category without a term")
    for entry_id, count in Counter(ids).items():
        if count > 1:
            problems.append(f"entry id {entry_id!r} appears {count} times")
    return problems


def _date_problems(element: etree._Element, where: str) -> list[str]:
    problems = []
    for name in ("updated", "published"):
        for date in element.findall(f"{A}{name}"):
            if not RFC3339.match(date.text or ""):
                problems.append(f"{where}: <{name}> {date.text!r} is not an RFC 3339 date")
    return problems


def _link_problems(element: etree._Element, where: str) -> list[str]:
    problems = []
    alternates: Counter[tuple[str | None, str | None]] = Counter()
    for link in element.findall(f"{A}link"):
        rel = link.get("rel", "alternate")
        if rel not in LINK_RELS and not is_absolute_iri(rel):
            problems.append(f"{where}: link rel {rel!r} is not registered")
        if not is_absolute_iri(link.get("href")):
            problems.append(f"{where}: link href {link.get('href')!r} is not absolute")
        if rel == "alternate":
            alternates[(link.get("type"), link.get("hreflang"))] += 1
    for (link_type, hreflang), count in alternates.items():
        if count > 1:
            problems.append(f"{where}: {count} alternate links with type={link_type!r} "
                            f"hreflang={hreflang!r} (RFC 4287 4.1.1)")
    return problems


def _text_construct_problems(element: etree._Element, where: str) -> list[str]:
    problems = []
    for name in ("title", "subtitle", "summary", "rights", "content"):
        for construct in element.findall(f"{A}{name}"):
            kind = construct.get("type", "text")
            if name != "content" and kind not in ("text", "html", "xhtml"):
                problems.append(f"{where}: <{name} type={kind!r}>")
            if kind in ("text", "html") and len(construct):
                problems.append(f"{where}: <{name} type={kind!r}> holds child elements; "
                                "markup must be escaped")
            if kind == "html":
                problems += html_problems(construct.text or "", f"{where} <{name}>")
            elif kind == "text" and name == "title":
                problems += text_problems(construct.text, f"{where} <title>")
    return problems


def _author_problems(element: etree._Element, where: str, problems: list[str]) -> bool:
    authors = element.findall(f"{A}author")
    for author in authors:
        if not (author.findtext(f"{A}name") or "").strip():
            problems.append(f"{where}: author without a name")
        problems += text_problems(author.findtext(f"{A}name"), f"{where} author")
        uri = author.findtext(f"{A}uri")
        if uri is not None and not is_absolute_iri(uri):
            problems.append(f"{where}: author uri {uri!r} is not absolute")
    return bool(authors)


# -- RSS 2.0 --------------------------------------------------------------------------


def rss_problems(document: bytes) -> list[str]:
    root = etree.fromstring(document)
    if root.tag != "rss" or root.get("version") != "2.0":
        return [f"root is <{root.tag} version={root.get('version')!r}>, not RSS 2.0"]
    channels = root.findall("channel")
    if len(channels) != 1:
        return [f"{len(channels)} channels, want exactly one"]
    channel = channels[0]
    problems = _cardinality(channel, RSS_ONCE, None, "channel")
    for child in channel:
        if isinstance(child.tag, str) and etree.QName(child).namespace is None \
                and child.tag not in RSS_CHANNEL_CHILDREN:
            problems.append(f"channel: <{child.tag}> is not an RSS 2.0 element")
    for name in ("title", "link", "description"):
        if not (channel.findtext(name) or "").strip():
            problems.append(f"channel: missing or empty <{name}>")
    if not is_absolute_iri(channel.findtext("link")):
        problems.append(f"channel: link {channel.findtext('link')!r} is not absolute")
    problems += text_problems(channel.findtext("title"), "channel <title>")
    selfs = [link for link in channel.findall(f"{A}link") if link.get("rel") == "self"]
    if len(selfs) != 1:
        problems.append(f"channel: {len(selfs)} atom:link rel=self, want exactly one")
    for link in channel.findall(f"{A}link"):
        if not is_absolute_iri(link.get("href")):
            problems.append(f"channel: atom:link href {link.get('href')!r} is not absolute")
        if link.get("rel") not in LINK_RELS:
            problems.append(f"channel: atom:link rel {link.get('rel')!r} is not registered")
    for name in ("pubDate", "lastBuildDate"):
        value = channel.findtext(name)
        if value is not None and not RFC822.match(value):
            problems.append(f"channel: <{name}> {value!r} is not an RFC 822 date")
    guids = []
    for index, item in enumerate(channel.findall("item")):
        where = f"item {index + 1}"
        problems += _cardinality(item, RSS_ONCE, None, where)
        for child in item:
            if isinstance(child.tag, str) and etree.QName(child).namespace is None \
                    and child.tag not in RSS_ITEM_CHILDREN:
                problems.append(f"{where}: <{child.tag}> is not an RSS 2.0 element")
        if item.find("title") is None and item.find("description") is None:
            problems.append(f"{where}: needs a title or a description")
        problems += text_problems(item.findtext("title"), f"{where} <title>")
        link = item.findtext("link")
        if link is not None and not is_absolute_iri(link):
            problems.append(f"{where}: link {link!r} is not absolute")
        date = item.findtext("pubDate")
        if date is not None and not RFC822.match(date):
            problems.append(f"{where}: pubDate {date!r} is not an RFC 822 date")
        guid = item.find("guid")
        if guid is not None:
            guids.append(guid.text)
            permalink = guid.get("isPermaLink", "true") == "true"
            if permalink and not urlsplit(guid.text or "").scheme.startswith("http"):
                problems.append(f"{where}: guid {guid.text!r} is a permalink but not a URL")
        for category in item.findall("category"):
            if not (category.text or "").strip():
                problems.append(f"{where}: empty category")
        for name in ("description", "{http://purl.org/rss/1.0/modules/content/}encoded"):
            for element in item.findall(name):
                if len(element):
                    problems.append(f"{where}: <{_local(element)}> holds child elements")
                problems += html_problems(element.text or "", f"{where} <{_local(element)}>")
        problems += text_problems(item.findtext("{http://purl.org/dc/elements/1.1/}creator"),
                                  f"{where} dc:creator")
    for guid, count in Counter(guids).items():
        if count > 1:
            problems.append(f"guid {guid!r} appears {count} times")
    return problems


# -- JSON Feed 1.1 --------------------------------------------------------------------


def json_feed_problems(document: bytes) -> list[str]:
    feed = json.loads(document)
    problems = []
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append(f"version is {feed.get('version')!r}")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        problems.append("title missing")
    for key in feed:
        if key not in JSON_FEED_KEYS and not key.startswith("_"):
            problems.append(f"unknown top-level key {key!r} (extensions start with '_')")
    for key in ("home_page_url", "feed_url", "next_url", "icon", "favicon"):
        if key in feed and not is_absolute_iri(feed[key]):
            problems.append(f"{key} {feed[key]!r} is not an absolute URL")
    problems += _json_authors(feed, "feed")
    items = feed.get("items")
    if not isinstance(items, list):
        return [*problems, "items is not a list"]
    ids = []
    for index, item in enumerate(items):
        where = f"item {index + 1}"
        for key in item:
            if key not in JSON_ITEM_KEYS and not key.startswith("_"):
                problems.append(f"{where}: unknown key {key!r}")
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"{where}: id must be a non-empty string")
        ids.append(item.get("id"))
        if not any(isinstance(item.get(k), str) for k in ("content_html", "content_text")):
            problems.append(f"{where}: needs content_html or content_text")
        if "content_html" in item:
            problems += html_problems(item["content_html"], f"{where} content_html")
        for key in ("title", "summary", "content_text"):
            if key in item and not isinstance(item[key], str):
                problems.append(f"{where}: {key} is not a string")
        for key in ("title", "summary"):
            problems += text_problems(item.get(key), f"{where} {key}")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item and not is_absolute_iri(item[key]):
                problems.append(f"{where}: {key} {item[key]!r} is not an absolute URL")
        for key in ("date_published", "date_modified"):
            if key in item and not RFC3339.match(item[key]):
                problems.append(f"{where}: {key} {item[key]!r} is not an RFC 3339 date")
        tags = item.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            problems.append(f"{where}: tags must be non-empty strings")
        problems += _json_authors(item, where)
    for item_id, count in Counter(ids).items():
        if count > 1:
            problems.append(f"item id {item_id!r} appears {count} times")
    return problems


def _json_authors(holder: dict, where: str) -> list[str]:
    problems = []
    for author in holder.get("authors", []):
        if not isinstance(author, dict) or not any(k in author for k in ("name", "url",
                                                                          "avatar")):
            problems.append(f"{where}: author {author!r} needs a name, url or avatar")
        else:
            problems += text_problems(author.get("name"), f"{where} author")
    return problems


PROBLEMS = {"atom": atom_problems, "rss": rss_problems, "json": json_feed_problems}


def feed_problems(document: bytes, fmt: str) -> list[str]:
    return PROBLEMS[fmt](document)
