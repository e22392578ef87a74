"""The OPML subscription list of every topic feed (pure; the web layer serves it)."""

from __future__ import annotations

from collections.abc import Iterable
from xml.sax.saxutils import quoteattr

from aggregator.publish.page import FeedTopic, feed_url
from aggregator.publish.render import GENERATOR


def render_opml(topics: Iterable[FeedTopic], base_url: str) -> bytes:
    """OPML 2.0 listing each topic's Atom feed and its place on the page."""
    outlines = "\n".join(
        f'    <outline type="rss" text={quoteattr(t.title)} title={quoteattr(t.title)} '
        f"xmlUrl={quoteattr(feed_url(base_url, t.slug, 'atom'))} "
        f"htmlUrl={quoteattr(base_url + '/#topic-' + t.slug)}/>"
        for t in topics
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{GENERATOR} topics</title></head>\n"
        f"  <body>\n{outlines}\n  </body>\n</opml>\n"
    ).encode()
