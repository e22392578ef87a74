"""The content type both XML parsers are given: the server's, unless it misleads.

Servers label feeds carelessly: `text/xml` with no charset (which RFC 3023 read as
US-ASCII, so every non-ASCII feed was "declared as us-ascii, but parsed as utf-8"),
`application/octet-stream`, `text/plain`. RFC 7303 (which obsoletes 3023) reads an
XML document without a charset parameter by XML's own rules: byte-order mark, then the
encoding declaration, else UTF-8. feedparser still applies the old rule and flags
non-XML types as malformed, which sent such documents off the fast path and reported
a fault on a feed that has none. Relabelling them `application/xml` (keeping any
charset the server did name) gives both parsers the same, modern reading.

`text/html` is kept: it is how an HTML page announces itself, and the parser of record
uses it to say "HTML page, not a feed" and list the feeds the page advertises.
"""

from __future__ import annotations

XML_TYPE = "application/xml"
_UNTRUSTED = {
    "application/octet-stream",
    "binary/octet-stream",
    "text/plain",
    "application/download",
}


def effective_content_type(content_type: str | None) -> str:
    """`content_type` as the parsers should read it (see the module docstring)."""
    if not content_type:
        return XML_TYPE
    mime, _, parameters = content_type.partition(";")
    mime = mime.strip().lower()
    has_charset = "charset=" in parameters.lower()
    if mime in _UNTRUSTED or (mime == "text/xml" and not has_charset):
        return f"{XML_TYPE};{parameters}" if has_charset else XML_TYPE
    return content_type
