"""Parsing feed documents into `ParsedFeed`: a registry of parsers by detected format.

`detect_format` tells JSON from XML by the document's first character, and by its
content type when that character says nothing. Each format lists its parsers in
order (`PARSERS`): a parser may decline a document (return None) and let the next
one decide; the last one is the format's parser of record, which answers or raises
`FeedParseError` saying what the document is instead.

* "xml": `fast` (lxml, plain RSS 2.0 and Atom 1.0, about fifty times faster), then
  `universal` (feedparser: every RSS/Atom/RDF dialect and broken feed). A hostile DTD
  is refused before either sees the document (`guard`).
* "json": `jsonfeed` (JSON Feed 1.0 and 1.1; other JSON is refused by name).

A document served without a content type, or with one that misleads (`text/xml`
without a charset, `application/octet-stream`, `text/plain`), is read by XML's own
rules (byte-order mark, declaration, else UTF-8), as RFC 7303 says (`mediatype`): a
local file has no server to name its type, and a careless label is no fault of the
feed.
"""

from __future__ import annotations

from collections.abc import Callable

from aggregator.models import ParsedFeed
from aggregator.sources.parse.errors import FeedParseError
from aggregator.sources.parse.fast import parse_fast
from aggregator.sources.parse.guard import entity_attack
from aggregator.sources.parse.jsonfeed import parse_json_feed
from aggregator.sources.parse.mediatype import effective_content_type
from aggregator.sources.parse.universal import find_feed_links, parse_with_feedparser

__all__ = [
    "PARSERS",
    "FeedParseError",
    "detect_format",
    "find_feed_links",
    "parse_feed",
    "parse_with_feedparser",
]

Parser = Callable[[bytes, str, str | None], ParsedFeed | None]

PARSERS: dict[str, tuple[Parser, ...]] = {
    "xml": (parse_fast, parse_with_feedparser),
    "json": (parse_json_feed,),
}
_JSON_TYPES = ("application/json", "application/feed+json")


def detect_format(body: bytes, content_type: str | None) -> str:
    """ "json" or "xml": by the first character past any byte-order mark and space, and by
    the content type when that character is neither "{", "[" nor "<"."""
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start in (b"{", b"["):
        return "json"
    if start == b"<":
        return "xml"
    mime = (content_type or "").split(";")[0].strip().lower()
    return "json" if mime in _JSON_TYPES or mime.endswith("+json") else "xml"


def parse_feed(body: bytes, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse `body` fetched from `url`; raise FeedParseError when nothing feed-like is in it."""
    if not body.strip():
        raise FeedParseError("empty document: the server sent no content")
    form = detect_format(body, content_type)
    if form == "xml":
        refusal = entity_attack(body)
        if refusal:
            raise FeedParseError(refusal)
        content_type = effective_content_type(content_type)
    *candidates, of_record = PARSERS[form]
    for parser in candidates:
        parsed = parser(body, url, content_type)
        if parsed is not None:
            return parsed
    parsed = of_record(body, url, content_type)
    assert parsed is not None, f"the {form} parser of record must answer or raise"
    return parsed
