"""Refusing hostile DTDs: entity expansion (billion laughs) and local external entities.

Neither parser would carry one out (feedparser drops such declarations, lxml is never
given a DTD), but a feed that declares entities expanding other entities or an
external entity on a local resource (XXE) is hostile, and its source should say so
rather than publish whatever is left. External entities on http(s) DTDs, as old feeds
declare for XHTML's named characters, are fine.

The whole prolog is walked, token by token, up to the root element: a check that
looked at a fixed prefix let a 70 KB comment carry the DOCTYPE past it, and one that
stopped at the first "<x" was fooled by markup inside a comment. Only an internal
subset in the prolog counts: the same text quoted inside an article is not a
declaration.
"""

from __future__ import annotations

import codecs
import re

_SPACE = re.compile(rb"\s*")
_DOCTYPE_START = re.compile(rb"<!DOCTYPE\b", re.I)
# Inside a DOCTYPE: quoted literals, comments and PIs (which may hold any character),
# the brackets of the internal subset, the closing ">", and anything else.
_DTD_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|<\?.*?\?>|[\[\]>]|[^\"'<\[\]>]+|<", re.S)
_QUOTED = rb"(\"[^\"]*\"|'[^']*')"
_ENTITY_DECL = re.compile(
    rb"<!ENTITY\s+(?:%\s+)?([^\s>]+)\s+(SYSTEM|PUBLIC)?\s*"
    + _QUOTED
    + rb"(?:\s*"
    + _QUOTED
    + rb")?"
)
_ENTITY_REFERENCE = re.compile(rb"[&%][A-Za-z_:]")
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def entity_attack(body: bytes) -> str | None:
    """Why the document's DTD is an attack, or None (see the module docstring)."""
    subset = internal_subset(_as_utf8(body))
    if subset is None:
        return None
    for name, kind, first, second in _ENTITY_DECL.findall(subset):
        entity = name.decode("ascii", "replace")
        if not kind and _ENTITY_REFERENCE.search(first):
            return (
                f"refused: entity {entity!r} expands other entities "
                "(an entity-expansion, billion-laughs document)"
            )
        system = (second if kind == b"PUBLIC" else first)[1:-1].strip()
        if kind and not system.lower().startswith((b"http://", b"https://")):
            where = system.decode("utf-8", "replace")
            return (
                f"refused: external entity {entity!r} points at the local resource "
                f"{where!r} (an XXE document)"
            )
    return None


def internal_subset(data: bytes) -> bytes | None:
    """The internal subset of the DOCTYPE in the prolog (before the root element), or
    None when the prolog has no DOCTYPE with one."""
    position = 3 if data.startswith(codecs.BOM_UTF8) else 0
    while True:
        position = _SPACE.match(data, position).end()  # type: ignore[union-attr]
        if data.startswith(b"<?", position):
            closing = b"?>"
        elif data.startswith(b"<!--", position):
            closing = b"-->"
        elif _DOCTYPE_START.match(data, position):
            return _doctype_subset(data, position)
        else:
            return None  # the root element, or text no parser takes for a prolog
        end = data.find(closing, position + 2)
        if end < 0:
            return None
        position = end + len(closing)


def _doctype_subset(data: bytes, position: int) -> bytes | None:
    """The internal subset of the DOCTYPE at `position`, to its closing bracket."""
    start = None
    for token in _DTD_TOKEN.finditer(data, position + 2):
        text = token.group()
        if text == b"[" and start is None:
            start = token.end()
        elif text == b"]" and start is not None:
            return data[start : token.start()]
        elif text == b">" and start is None:
            return None
    return data[start:] if start is not None else None  # unclosed: all of it counts


def _as_utf8(body: bytes) -> bytes:
    """UTF-16 and UTF-32 documents re-encoded so the byte patterns see their markup."""
    if not body.startswith(_WIDE_BOMS) and b"\x00" not in body[:4]:
        return body
    for encoding in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
        try:
            return body.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            continue
    return body
