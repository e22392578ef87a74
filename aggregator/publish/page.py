"""Building a topic's `FeedPage` from stored stories (pure; the web and CLI do the I/O).

URLs follow one scheme everywhere: `/feeds/<slug>.<format>` for the newest page and
`?page=N` (1-based) for older ones, all absolute against the public base URL, so
readers, OPML and the RFC 5005 paging links agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from urllib.parse import urlencode

from aggregator.core.match import distinct_hits, story_score
from aggregator.core.sanitize import html_to_text
from aggregator.models import FeedEntry, FeedPage, StoredStory, utc_datetime
from aggregator.publish.render import EPOCH, FORMATS


class FeedTopic(Protocol):
    """What a page shows of its topic (a config's TopicConfig is one); publishing needs
    no more of the configuration than this."""

    @property
    def slug(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def description(self) -> str: ...


def feed_url(base_url: str, slug: str, fmt: str, page: int = 1, limit: int | None = None) -> str:
    query = {}
    if page > 1:
        query["page"] = page
    if limit is not None:
        query["limit"] = limit
    suffix = f"?{urlencode(query)}" if query else ""
    return f"{base_url}/feeds/{slug}.{fmt}{suffix}"


def feed_entry(story: StoredStory) -> FeedEntry:
    primary = story.primary
    return FeedEntry(
        # The primary copy names the entry: it is chosen by rules that do not depend on
        # which copy arrived first (see core.dedupe.decide.choose_primary).
        entry_id=primary.item_id,
        title=primary.title,
        link=primary.link,
        source=primary.source,
        published=utc_datetime(story.published),
        updated=utc_datetime(max(story.updated, story.published)),
        summary_html=primary.summary_html,
        content_html=primary.content_html,
        author=html_to_text(primary.author) or None,  # sources send markup in names too
        categories=list(dict.fromkeys(hit.term for hit in story.hits)),
        also_on=story.copies,
        hits=distinct_hits(story.hits),
        score=story_score(story.hits),
    )


def _changed(story: StoredStory) -> datetime:
    """When this story last changed as the feed shows it.

    Not only its own dates: a story that arrives late, carrying an old date, still
    changes the feed, so the time it was first seen (or last edited) counts too. The
    page's `updated`, and with it the HTTP Last-Modified, moves whenever an entry
    arrives or changes, so a reader that only sends If-Modified-Since misses nothing.
    """
    primary = story.primary
    return utc_datetime(max(story.updated, story.published, primary.first_seen, primary.changed_at))


def build_page(
    topic: FeedTopic,
    stories: list[StoredStory],
    *,
    base_url: str,
    fmt: str,
    page: int,
    page_size: int,
    total: int,
    custom_limit: bool = False,
    changed_at: float = 0.0,
    self_query: str | None = None,
    hub_url: str | None = None,
) -> FeedPage:
    """One page of `topic` in `fmt`; `total` is the topic's story count (for paging).

    `changed_at` (the store's time of the topic's last change) dates a page with no
    stories, which would otherwise claim 1970. `self_query`, when given, is the query
    the reader asked with: the self link must name the URL the reader fetched.
    `hub_url` is the WebSub hub the page advertises.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown feed format {fmt!r}")
    limit = page_size if custom_limit else None
    entries = [feed_entry(story) for story in stories]
    last_page = max(1, -(-total // page_size))
    updated = max((_changed(story) for story in stories),
                  default=utc_datetime(changed_at) if changed_at else EPOCH)
    self_url = feed_url(base_url, topic.slug, fmt, page, limit)
    if self_query is not None:
        self_url = feed_url(base_url, topic.slug, fmt) + (f"?{self_query}" if self_query else "")
    return FeedPage(
        slug=topic.slug,
        title=topic.title,
        description=topic.description or f"Stories matching the topic {topic.title}",
        self_url=self_url,
        html_url=f"{base_url}/#topic-{topic.slug}",
        updated=updated,
        entries=entries,
        first_url=feed_url(base_url, topic.slug, fmt, 1, limit) if last_page > 1 else None,
        next_url=feed_url(base_url, topic.slug, fmt, page + 1, limit) if page < last_page
        else None,
        prev_url=feed_url(base_url, topic.slug, fmt, page - 1, limit) if page > 1 else None,
        alternates={f: feed_url(base_url, topic.slug, f) for f in FORMATS},
        hub_url=hub_url,
    )
