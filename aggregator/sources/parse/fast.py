"""A fast path for plain RSS 2.0, RSS 1.0 (RDF) and Atom 1.0: lxml's tree, feedparser's answers.

Why: feedparser turns every element and text node into a Python SAX callback and
parses about 5 MB/s; lxml builds the tree in C at hundreds of MB/s. Most wire feeds
are plain RSS 2.0, RSS 1.0 or Atom 1.0, so for those we walk lxml's tree and compute what
feedparser would have given for the fields the service uses (feed title, link and
ttl; each entry's id, link, title, summary, content, dates, author, categories),
following feedparser's rules (its public encoding detection and safe-URI check,
and `rules` for dates, URL joining, namespaces and its HTML guess) so the quirks come
out the same. No private feedparser name is imported: a date in a form `rules` does
not read declines the document.

Anything outside a strict allow-list makes `parse_fast` return None and feedparser,
the parser of record, handles the document: a DOCTYPE or entity declaration, any
encoding problem feedparser would report, malformed XML, XHTML or base64
content, an element this module does not know inside an entry, an unknown
namespace, a repeated single-valued element. tests/test_corpus.py holds it to that
promise: on feedparser's own 2,107 test documents, every document the fast path
accepts gives the same items as feedparser.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from feedparser.encodings import convert_to_utf8
from feedparser.urls import make_safe_absolute_uri
from lxml import etree

from aggregator.models import ParsedFeed, RawEntry
from aggregator.sources.parse.rules import (
    HTML_TYPES,
    NAMESPACES,
    UnknownDate,
    fix_c1,
    looks_like_html,
    map_content_type,
    parse_date,
    urljoin,
)
from aggregator.sources.parse.values import as_html, positive_int, to_datetime

ATOM_NS = "http://www.w3.org/2005/Atom"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
_XML_LANG = f"{{{XML_NS}}}lang"
_XML_BASE = f"{{{XML_NS}}}base"
# Namespaced attributes feedparser reads, under the names it gives them.
_KNOWN_ATTRS = {f"{{{RDF_NS}}}about": "rdf:about", f"{{{RDF_NS}}}resource": "rdf:resource"}
_TEXT_TYPES = {"text/plain", "text/html"}
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_FIRST_ELEMENT = re.compile(rb"<\w")

_PUBLISHED = {"pubdate", "published", "issued", "dcterms_issued"}
_UPDATED = {"updated", "modified", "dc_date", "dcterms_modified"}
_AUTHOR_PARTS = {"name", "email", "uri"}
# Entry children feedparser files under keys the service never reads.
_ENTRY_IGNORED = {
    "comments", "enclosure", "source", "wfw_commentrss", "wfw_comment", "slash_comments",
    "feedburner_origlink", "media_thumbnail", "media_content",
}
# Feed-level children that cannot reach the feed's title, link or ttl, nor any entry;
# the value lists the children each may have.
_FEED_IGNORED: dict[str, frozenset[str]] = {
    name: frozenset() for name in (
        "description", "subtitle", "language", "copyright", "rights", "managingeditor",
        "webmaster", "pubdate", "lastbuilddate", "updated", "published", "category",
        "generator", "docs", "cloud", "rating", "icon", "logo", "sy_updateperiod",
        "sy_updatefrequency", "sy_updatebase", "dc_language", "dc_rights", "dc_date",
    )
}
_FEED_IGNORED |= {
    "image": frozenset({"title", "url", "link", "width", "height", "description"}),
    "textinput": frozenset({"title", "description", "name", "link"}),
    "skiphours": frozenset({"hour"}),
    "skipdays": frozenset({"day"}),
    "author": frozenset(_AUTHOR_PARTS),
}


class _Decline(Exception):
    """The document is outside the fast path's allow-list: feedparser decides."""


def parse_fast(body: bytes, url: str, content_type: str | None) -> ParsedFeed | None:
    """The document parsed as feedparser would parse it, or None to let feedparser do it."""
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    verdict: dict[str, Any] = {}
    data = convert_to_utf8(headers, body, verdict)
    if verdict.get("bozo"):
        return None
    first = _FIRST_ELEMENT.search(data)
    prolog = data[: first.start()] if first else data
    if b"<!DOCTYPE" in prolog or b"<!ENTITY" in prolog:
        return None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
        remove_comments=True, remove_pis=True,
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    base = make_safe_absolute_uri(url, url) or url
    try:
        if root.tag == "rss":
            return _Document(base, url, atom=False).rss(root)
        if root.tag == f"{{{ATOM_NS}}}feed":
            return _Document(base, url, atom=True).atom(root)
        if root.tag == f"{{{RDF_NS}}}RDF":
            return _Document(base, url, atom=False).rdf(root)
    except _Decline:
        return None
    return None


def _date(element: Any) -> Any:
    """An entry date as feedparser reads it; a form only feedparser reads declines."""
    try:
        return parse_date(_fix(_text(element)))
    except UnknownDate:
        raise _Decline from None


def _fix(text: str) -> str:
    """feedparser's last steps for every value: undo double-encoded UTF-8, map C1 controls
    to their cp1252 characters. Both are no-ops on ASCII, the common case."""
    if text.isascii():
        return text
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        text = text.encode("iso-8859-1").decode("utf-8")
    return fix_c1(text)


def _key(element: Any) -> str:
    """feedparser's name for an element: known namespace prefix + '_' + lowercased name."""
    tag = element.tag
    if not isinstance(tag, str):
        raise _Decline  # an unresolved entity reference
    if tag[0] != "{":
        return tag.lower()
    namespace, local = tag[1:].split("}", 1)
    lowered = namespace.lower()
    prefix = "" if "backend.userland.com/rss" in lowered else NAMESPACES.get(lowered)
    if prefix is None:
        raise _Decline
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


def _attrs(element: Any) -> dict[str, str]:
    """Attributes as feedparser sees them: lowercased names, rel and type lowercased."""
    attrs = {}
    for name, value in element.attrib.items():
        if name[0] == "{":
            if name in _KNOWN_ATTRS:
                attrs[_KNOWN_ATTRS[name]] = value
            elif name not in (_XML_LANG, _XML_BASE):
                raise _Decline  # foreign attributes
            continue
        name = name.lower()
        if name == "base":
            raise _Decline
        attrs[name] = value.lower() if name in ("rel", "type") else value
    return attrs


def _text(element: Any) -> str:
    if len(element):
        raise _Decline  # inline markup feedparser would serialize
    return (element.text or "").strip()


def _content_type(attrs: dict[str, str], default: str) -> str:
    if "mode" in attrs or "src" in attrs:
        raise _Decline
    mime = map_content_type(attrs.get("type", default))
    if mime not in _TEXT_TYPES:
        raise _Decline
    return mime


class _Context:
    """The values one feed or entry accumulates, with feedparser's precedence rules."""

    __slots__ = ("author", "content", "content_base", "content_type", "guid", "link",
                 "published", "seen", "summary", "summary_base", "summary_type", "tags", "title",
                 "title_type", "updated")

    def __init__(self) -> None:
        self.seen: set[str] = set()
        self.link: str | None = None  # None: no link yet (feedparser's key is absent)
        self.title: str | None = None
        self.title_type: str | None = None
        self.guid: str | None = None
        self.summary: str | None = None
        self.summary_type: str | None = None
        self.content: str | None = None
        self.content_type: str | None = None
        self.summary_base: str | None = None  # the xml:base in force at each element
        self.content_base: str | None = None
        self.published: Any = None
        self.updated: Any = None
        self.author: str | None = None
        self.tags: list[list[str | None]] = []

    def once(self, name: str) -> None:
        if name in self.seen:
            raise _Decline
        self.seen.add(name)


class _Document:
    def __init__(self, base: str, url: str, *, atom: bool):
        self.base = base  # the base URI in force at the element being read
        self.url = url
        self.is_atom = atom
        self.hubs: list[str] = []  # feed-level rel="hub" links (WebSub)
        self.self_url: str | None = None

    def _enter(self, element: Any) -> str:
        """Make `element`'s xml:base the one in force, as feedparser does at every start
        tag; return the outer base, which the caller restores at its end (a decline
        abandons the document, so no restore is owed then)."""
        outer = self.base
        declared = element.get(_XML_BASE)
        if declared is not None:
            self.base = make_safe_absolute_uri(outer, declared or outer) or outer
        return outer

    # -- feed level -------------------------------------------------------------------

    def rss(self, root: Any) -> ParsedFeed:
        _attrs(root)
        self._enter(root)
        channels = list(root)
        if len(channels) != 1 or _key(channels[0]) != "channel":
            raise _Decline
        self._enter(channels[0])
        return self._feed(channels[0])

    def atom(self, root: Any) -> ParsedFeed:
        self._enter(root)
        return self._feed(root)

    def rdf(self, root: Any) -> ParsedFeed:
        """RSS 1.0 (and 0.90): the channel, then the items, image and text input beside it."""
        _attrs(root)
        self._enter(root)
        channel, entries = None, []
        for child in root:
            key = _key(child)
            outer = self._enter(child)
            if key == "channel" and channel is None:
                channel = child
            elif key == "item":
                entries.append(self._entry(child))
            elif key in ("image", "textinput"):
                self._check_ignored(child, _FEED_IGNORED[key])
            else:
                raise _Decline
            self.base = outer
        if channel is None:
            raise _Decline
        outer = self._enter(channel)
        feed = self._feed(channel)
        self.base = outer
        if feed.entries:
            raise _Decline  # items inside and beside the channel: feedparser's order decides
        feed.entries = entries
        return feed

    def _feed(self, element: Any) -> ParsedFeed:
        if any(name not in ("version", "rdf:about") for name in _attrs(element)):
            raise _Decline  # CDF-style lastmod/href attributes set feed values
        feed = _Context()
        ttl = None
        entries = []
        for child in element:
            key = _key(child)
            outer = self._enter(child)
            if key in ("item", "entry"):
                entries.append(self._entry(child))
            elif key == "title":
                feed.once("title")
                feed.title, feed.title_type = self._typed_text(child, "text/plain")
            elif key == "link":
                self._link(child, feed, entry=False)
            elif key == "id":
                feed.once("id")
                self._guid(child, feed)
            elif key == "ttl":
                feed.once("ttl")
                _attrs(child)
                ttl = _fix(_text(child))
            elif key == "items":
                self._check_sequence(child)
            elif key in _FEED_IGNORED:
                self._check_ignored(child, _FEED_IGNORED[key])
            else:
                raise _Decline
            self.base = outer
        return ParsedFeed(
            title=feed.title,
            link=feed.link,
            entries=entries,
            ttl_minutes=positive_int(ttl),
            hubs=self.hubs,
            self_url=self.self_url,
        )

    def _check_ignored(self, element: Any, children: frozenset[str]) -> None:
        _attrs(element)
        for child in element:
            if _key(child) not in children:
                raise _Decline
            _attrs(child)
            _text(child)

    def _check_sequence(self, element: Any) -> None:
        """RSS 1.0's table of contents, <items><rdf:Seq><rdf:li/>...: nothing feedparser keeps."""
        _attrs(element)
        for sequence in element:
            if _key(sequence) != "rdf_seq":
                raise _Decline
            self._check_ignored(sequence, frozenset({"rdf_li"}))

    # -- entries ------------------------------------------------------------------------

    def _entry(self, element: Any) -> RawEntry:
        attrs = _attrs(element)
        if any(name != "rdf:about" for name in attrs):
            raise _Decline  # CDF lastmod/href
        entry = _Context()
        entry.guid = attrs.get("rdf:about") or None  # RSS 1.0's identity, never a link
        for child in element:
            key = _key(child)
            outer = self._enter(child)
            if key == "title":
                entry.once("title")
                entry.title, entry.title_type = self._typed_text(child, "text/plain")
            elif key == "link":
                self._link(child, entry, entry=True)
            elif key in ("guid", "id"):
                entry.once("id")
                self._guid(child, entry)
            elif key in ("description", "summary"):
                self._summary(child, entry, "text/html" if key == "description" else "text/plain")
            elif key in ("content", "content_encoded"):
                self._content(child, entry, "text/plain" if key == "content" else "text/html")
            elif key in _PUBLISHED:
                _attrs(child)
                entry.published = _date(child)
            elif key in _UPDATED:
                _attrs(child)
                entry.updated = _date(child)
            elif key in ("author", "dc_creator"):
                self._authored(child, entry)
            elif key in ("category", "dc_subject"):
                self._category(child, entry)
            elif key in _ENTRY_IGNORED:
                _attrs(child)
                _text(child)
            else:
                raise _Decline
            self.base = outer
        return self._raw_entry(entry)

    def _raw_entry(self, entry: _Context) -> RawEntry:
        """What aggregator.sources.parse makes of feedparser's entry dict, from the same values."""
        return RawEntry(
            guid=(entry.guid or "").strip() or None,
            link=(entry.link or "").strip() or None,
            title=as_html(entry.title, entry.title_type),
            summary_html=as_html(entry.summary, entry.summary_type),
            content_html=as_html(entry.content or None, entry.content_type),
            published=to_datetime(entry.published),
            updated=to_datetime(entry.updated),
            author=(entry.author or "").strip() or None,
            categories=[term for term, _, _ in entry.tags if term],
            base_url=(entry.content_base if entry.content else None)
            or entry.summary_base
            or self.url,
        )

    # -- elements -----------------------------------------------------------------------

    def _link(self, element: Any, context: _Context, *, entry: bool) -> None:
        attrs = _attrs(element)
        if "url" in attrs or "uri" in attrs:
            raise _Decline
        href = attrs.get("href")
        if href is None:  # RSS: the link is the element's text
            text = _text(element)
            if text:
                text = urljoin(self.base, text)
            text = _fix(text)
            if entry:
                text = text.replace("&amp;", "&")
            context.link = _QUERY_ENTITY.sub(r"&\g<1>", text)
            return
        if len(element):
            raise _Decline
        rel = attrs.get("rel", "alternate")
        if not entry and rel == "hub":
            self.hubs.append(urljoin(self.base, href))
        elif not entry and rel == "self" and self.self_url is None:
            self.self_url = urljoin(self.base, href)
        mime = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        if rel == "alternate" and map_content_type(mime) in HTML_TYPES:
            context.link = urljoin(self.base, href)

    def _guid(self, element: Any, context: _Context) -> None:
        """An RSS guid or Atom id; unless marked not a permalink it is also the fallback link."""
        is_link = _attrs(element).get("ispermalink", "true") == "true"
        text = _text(element)
        if is_link and text:
            text = urljoin(self.base, text)
        context.guid = _fix(text)
        if is_link and context.link is None:
            context.link = context.guid

    def _typed_text(self, element: Any, default: str) -> tuple[str, str]:
        """An element's text and MIME type; RSS text that looks like HTML is HTML, as
        feedparser decides."""
        mime = _content_type(_attrs(element), default)
        text = _text(element)
        if not self.is_atom and mime == "text/plain" and looks_like_html(text):
            mime = "text/html"
        return _fix(text), mime

    def _summary(self, element: Any, entry: _Context, default: str) -> None:
        if entry.summary is not None and "content" not in entry.seen:
            raise _Decline  # feedparser would file a second summary as content
        entry.once("summary")
        entry.summary, entry.summary_type = self._typed_text(element, default)
        entry.summary_base = self.base

    def _content(self, element: Any, entry: _Context, default: str) -> None:
        entry.once("content")
        entry.content, entry.content_type = self._typed_text(element, default)
        entry.content_base = self.base
        if entry.summary is None:  # feedparser copies content to a missing summary
            entry.summary = entry.content
            entry.summary_type = None

    def _authored(self, element: Any, entry: _Context) -> None:
        """An entry's author: the last <author> or <dc:creator> (Atom entries often carry
        both), as feedparser keeps it; a later one without a name would be merged with the
        earlier one's parts, which feedparser alone does."""
        author, named = self._author(element)
        if "author" in entry.seen and not named:
            raise _Decline
        entry.seen.add("author")
        entry.author = author

    def _author(self, element: Any) -> tuple[str, bool]:
        """The author as feedparser writes it ("name (email)"), and whether it has a name."""
        _attrs(element)
        if not len(element):
            text = _fix(_text(element))
            return text, bool(text)
        if (element.text or "").strip():
            raise _Decline
        parts: dict[str, str] = {}
        for child in element:
            key = _key(child)
            if key not in _AUTHOR_PARTS or key in parts or (child.tail or "").strip():
                raise _Decline
            _attrs(child)
            parts[key] = _fix(_text(child))
        name, email = parts.get("name"), parts.get("email")
        if name and email:
            return f"{name} ({email})", True
        return name or email or "", bool(name)

    def _category(self, element: Any, entry: _Context) -> None:
        """feedparser's tag list: (term, scheme, label) triples, no exact duplicates; an
        element's text fills in the term of the tag its attributes just started."""
        attrs = _attrs(element)
        _add_tag(entry.tags, attrs.get("term"), attrs.get("scheme", attrs.get("domain")),
                 attrs.get("label"))
        value = _fix(_text(element))
        if not value:
            return
        if entry.tags and not entry.tags[-1][0]:
            entry.tags[-1][0] = value
        else:
            _add_tag(entry.tags, value, None, None)


def _add_tag(tags: list[list[str | None]], term: str | None, scheme: str | None,
             label: str | None) -> None:
    if not term and not scheme and not label:
        return
    value = [term, scheme, label]
    if value not in tags:
        tags.append(value)
