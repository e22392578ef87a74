"""Rendered topic feeds with validators, cached until the topic's entries change.

Feed readers poll far more often than stories arrive, so a poll must cost a lookup,
not a render: each (topic, format, page, limit) is rendered once per topic version
(the store bumps the version in the same transaction that changes the topic's
entries), and its gzip and brotli encodings are computed alongside it, in a
thread, off the event loop, once per version rather than per request. The ETag is a
hash of the bytes, so it is strong and changes only when they do.

The web layer first asks `cached`, which never touches the store and so can run on
the event loop; only on a miss does it run `get` (store reads, render) in a thread.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import urlencode

import brotli

from aggregator import clock, metrics
from aggregator.config import Config
from aggregator.publish.page import build_page
from aggregator.publish.render import FORMATS, render
from aggregator.store import SQLStore

ENCODINGS = ("br", "gzip")  # content codings we serve, in order of preference
MIN_MAX_AGE, MAX_MAX_AGE = 30, 3600  # seconds
# The query parameters a reader's URL named, in its order ("page", "limit"), or None.
Named = tuple[str, ...] | None


@dataclass(frozen=True, slots=True)
class RenderedFeed:
    """One rendered feed document, its encodings and its validators."""

    body: bytes
    etag: str  # strong; the encodings' ETags add a suffix (different bytes)
    last_modified: str  # HTTP date
    modified: float  # the same instant, as a timestamp, for If-Modified-Since
    version: int  # the topic version it was rendered from
    encoded: dict[str, bytes]  # content coding -> body
    links: str = ""  # the HTTP Link header (WebSub hub and self), "" for none
    # HTTP response headers per (content coding, status), built by the web layer the
    # first time it needs them, so they live and die with the rendering.
    http_headers: dict[tuple[str | None, int], list[tuple[bytes, bytes]]] = field(
        default_factory=dict, compare=False, repr=False)

    def etag_for(self, encoding: str | None) -> str:
        return self.etag if encoding is None else f'{self.etag[:-1]}-{encoding}"'


def encode(body: bytes) -> dict[str, bytes]:
    """Every content coding of `body` we serve (gzip without a timestamp: same bytes,
    same ETag, in every process)."""
    return {
        "gzip": gzip.compress(body, compresslevel=6, mtime=0),
        "br": brotli.compress(body, quality=5),
    }


def rendered_feed(body: bytes, modified: float, version: int,
             previous: RenderedFeed | None = None, links: str = "") -> RenderedFeed:
    """`body` with its encodings and validators; `modified` is when its content last
    changed, moved past `previous` if the bytes differ from it but the time does not."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if previous is not None and previous.etag != etag and modified <= previous.modified:
        modified = max(previous.modified + 1, float(int(clock.now())))
    return RenderedFeed(
        body=body,
        etag=etag,
        last_modified=format_datetime(datetime.fromtimestamp(modified, UTC), usegmt=True),
        modified=modified,
        version=version,
        encoded=encode(body),
        links=links,
    )


class UnknownTopic(KeyError):
    pass


class PageOutOfRange(ValueError):
    pass


def poll_max_age(config: Config) -> int:
    """Cache-Control max-age: half the shortest poll interval, within sane bounds.

    A reader (or proxy) that re-polls sooner than our sources can change gains nothing;
    one that waits much longer than a poll interval shows stale stories.
    """
    intervals = [s.interval or config.fetch.default_interval for s in config.sources if s.enabled]
    shortest = min(intervals, default=config.fetch.default_interval)
    return int(min(max(shortest / 2, MIN_MAX_AGE), MAX_MAX_AGE))


class FeedService:
    """Hands out rendered feeds, re-rendering only when the store says a topic changed."""

    def __init__(self, config: Config, store: SQLStore, version_ttl: float = 1.0,
                 max_cached: int = 1024):
        self.config = config
        self.store = store
        self.version_ttl = version_ttl
        self.max_cached = max_cached
        self.max_age = poll_max_age(config)
        self._default_size = {
            t.slug: t.max_entries or config.publish.max_entries for t in config.topics
        }
        self._cache: dict[tuple[str, str, int, int, Named], RenderedFeed] = {}
        self._lock = threading.Lock()
        self._versions: dict[str, int] = {}
        self._versions_read = float("-inf")

    # -- the request path ---------------------------------------------------------------

    def cached(self, slug: str, fmt: str, page: int = 1, limit: int | None = None,
               named: Named = None) -> RenderedFeed | None:
        """The current rendering if it is cached and the topic version is fresh; no I/O."""
        if clock.monotonic() - self._versions_read > self.version_ttl:
            return None
        hit = self._cache.get((slug, fmt, page, self._limit_key(limit), named))
        if hit is None or hit.version != self._versions.get(slug, 0):
            return None
        return hit

    def forget_versions(self) -> None:
        """Read the topic versions again on the next request (a hub told of a change
        fetches the feed at once, and must not be served the rendering before it)."""
        self._versions_read = float("-inf")

    # -- everything else (blocking: store reads and rendering) ----------------------------

    def version(self, slug: str) -> int:
        """The topic's version, read from the store at most once per `version_ttl`.

        Web processes may be separate from the workers that write, so they learn of
        new stories through the store; a one-second staleness keeps a busy feed's
        requests from each costing a query.
        """
        now = clock.monotonic()
        if now - self._versions_read > self.version_ttl:
            self._versions = {t: v for t, (v, _) in self.store.topic_versions().items()}
            self._versions_read = now
        return self._versions.get(slug, 0)

    def expire_versions(self) -> None:
        """Read the topic versions again on the next request: this process changed one
        (a curator's action) and its reader should see it at once, not a second later."""
        self._versions_read = float("-inf")

    def page_size(self, slug: str, limit: int | None) -> int:
        """Entries per page: the topic's default, or `limit` within publish.max_page_size."""
        return self._default_size[slug] if limit is None else self._limit_key(limit)

    def _limit_key(self, limit: int | None) -> int:
        """The cache key part for `limit` (0: the default size; limits past the cap share
        the cap's entry)."""
        return 0 if limit is None else max(1, min(limit, self.config.publish.max_page_size))

    def get(
        self, slug: str, fmt: str, page: int = 1, limit: int | None = None,
        named: Named = None,
    ) -> RenderedFeed:
        """The feed for `slug` in `fmt`, rendered now if the topic changed since.

        `named`: the query parameters (of page, limit) the reader's URL named, in its
        order, so the self link repeats that URL; None: the canonical self link.
        """
        if slug not in self._default_size:
            raise UnknownTopic(slug)
        if fmt not in FORMATS:
            raise ValueError(f"unknown feed format {fmt!r}")
        if page < 1:
            raise PageOutOfRange(f"page must be 1 or more, not {page}")
        key = (slug, fmt, page, self._limit_key(limit), named)
        with self._lock:  # one render per key, however many requests missed at once
            version = self.version(slug)
            previous = self._cache.get(key)
            if previous is not None and previous.version == version:
                return previous
            rendered = self._render(slug, fmt, page, limit, named, version, previous)
            self._remember(key, rendered)
            return rendered

    def _render(self, slug: str, fmt: str, page: int, limit: int | None, named: Named,
                version: int, previous: RenderedFeed | None) -> RenderedFeed:
        size = self.page_size(slug, limit)
        total = self.store.topic_story_count(slug)
        if page > 1 and (page - 1) * size >= total:
            raise PageOutOfRange(f"page {page} is past the last page of {slug}")
        stories = self.store.topic_stories(slug, size, (page - 1) * size)
        changed_at = self.store.topic_changed_at(slug)
        self_query = None if named is None else urlencode(
            [(name, page if name == "page" else size) for name in named])
        feed_page = build_page(
            self.config.topic(slug), stories, base_url=self.config.server.public_base(),
            fmt=fmt, page=page, page_size=size, total=total, custom_limit=limit is not None,
            changed_at=changed_at, self_query=self_query, hub_url=self.config.server.hub,
        )
        body = render(feed_page, fmt)
        metrics.FEED_RENDERS.labels(fmt).inc()
        # The bytes may change with no entry newer (a story left the topic, or older
        # stories moved onto this page): Last-Modified must still move forward, or a
        # reader that sends only If-Modified-Since would be told nothing changed. The
        # store's time of the topic's last change covers that in every process, even
        # one started since; `rendered_feed` tells two changes within a second apart.
        modified = float(int(max(feed_page.updated.timestamp(), changed_at)))
        links = (f'<{feed_page.hub_url}>; rel="hub", <{feed_page.self_url}>; rel="self"'
                 if feed_page.hub_url else "")
        return rendered_feed(body, modified, version, previous, links)

    def _remember(self, key: tuple[str, str, int, int, Named], rendered: RenderedFeed) -> None:
        """Cache `rendered`; past `max_cached` entries, stale versions go first, then the
        oldest (every distinct ?page=&limit= is a key, and clients choose those)."""
        cache = self._cache
        cache.pop(key, None)
        cache[key] = rendered
        if len(cache) <= self.max_cached:
            return
        stale = [k for k, v in cache.items() if v.version != self._versions.get(k[0], 0)]
        for old in stale or list(cache)[: len(cache) - self.max_cached]:
            del cache[old]
