"""Rendering a `FeedPage`: one renderer per format, looked up by name.

Output is a pure function of the page: no clock reads, so the same stored entries
always render to the same bytes, which is what lets the web layer hand out strong
ETags. Entry ids are story ids (`urn:uuid:`), fixed when a story is first seen.

Formats: Atom 1.0 (`atom`), RSS 2.0 (`rss`), both through feedgen (`xmlfeed`), and JSON
Feed 1.1 (`jsonfeed`); what they share is in `common`. Every renderer reads the page
as `common.clean_page` leaves it, so no format shows a character another drops. A new
format is a module with a `render_*(page) -> bytes` function, a media type in
`FORMATS`, and a line below.
"""

from __future__ import annotations

from collections.abc import Callable

from aggregator.models import FeedPage
from aggregator.publish.render.atom import render_atom
from aggregator.publish.render.common import EPOCH, FORMATS, GENERATOR, clean_page, media_type
from aggregator.publish.render.jsonfeed import render_json
from aggregator.publish.render.rss import render_rss

RENDERERS: dict[str, Callable[[FeedPage], bytes]] = {
    "atom": render_atom,
    "rss": render_rss,
    "json": render_json,
}

__all__ = ["EPOCH", "FORMATS", "GENERATOR", "RENDERERS", "media_type", "render"]


def render(page: FeedPage, fmt: str) -> bytes:
    """`page` in `fmt` (a key of FORMATS)."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown feed format {fmt!r}; choose from {', '.join(FORMATS)}")
    return renderer(clean_page(page))
