"""Reading the feeds of an OPML subscription list, as every feed reader exports one.

Readers file feeds in folders (nested `<outline>`s without an `xmlUrl`); a folder is how
a curator already grouped them, so each feed carries the titles of the folders around
it, outermost first, and these become its tags. A feed listed in several folders is one
feed with every folder's tags. The file is read with the same refusal of hostile DTDs
as a feed, and leniently (exports with a stray `&` are common), never loading anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lxml import etree

from aggregator.sources.parse.guard import entity_attack


class OpmlError(Exception):
    """The file is not an OPML subscription list; the message says what it is instead."""


@dataclass(frozen=True, slots=True)
class OutlineFeed:
    """One feed of the list: its URL, its title, the folders it is filed in (as tags),
    and how many times the list names it."""

    url: str
    title: str | None
    tags: tuple[str, ...]
    listed: int = 1


def _attribute(outline: Any, name: str) -> str | None:
    """An outline attribute by name in any case (`xmlUrl`, `xmlurl`), stripped."""
    for key, value in outline.attrib.items():
        if key.lower() == name.lower() and value.strip():
            return str(value).strip()
    return None


def read_opml(body: bytes) -> list[OutlineFeed]:
    """The feeds of an OPML document in document order; raises OpmlError."""
    refusal = entity_attack(body)
    if refusal:
        raise OpmlError(refusal)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, recover=True, huge_tree=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as error:
        raise OpmlError(f"not XML: {error}") from None
    if root is None or not isinstance(root.tag, str) or root.tag.lower() != "opml":
        raise OpmlError("not OPML: the document's root is not <opml>")
    body_element = next((child for child in root if child.tag == "body"), None)
    if body_element is None:
        raise OpmlError("not OPML: no <body>")
    feeds: dict[str, OutlineFeed] = {}
    _walk(body_element, (), feeds)
    return list(feeds.values())


def _walk(parent: Any, folders: tuple[str, ...], feeds: dict[str, OutlineFeed]) -> None:
    for outline in parent:
        if outline.tag != "outline":
            continue
        title = _attribute(outline, "title") or _attribute(outline, "text")
        url = _attribute(outline, "xmlUrl")
        if url is None:
            _walk(outline, (*folders, title) if title else folders, feeds)
            continue
        seen = feeds.get(url)
        if seen is None:
            feeds[url] = OutlineFeed(url, title, folders)
        else:
            tags = tuple(dict.fromkeys((*seen.tags, *folders)))
            feeds[url] = OutlineFeed(url, seen.title, tags, seen.listed + 1)
