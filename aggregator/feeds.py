"""Rendered topic feeds with validators, cached until the topic's entries change.

Feed readers poll far more often than stories arrive, so a poll must cost a lookup,
not a render: each (topic, format, page, limit) is rendered once per topic version
(the store bumps the version in the same transaction that changes the topic's
entries), and its gzip and brotli encodings are computed once alongside it. The
ETag is a hash of the bytes, so it is strong and changes only when they do.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
from dataclasses import dataclass, field
from email.utils import format_datetime

from aggregator.config import Config
from aggregator.publish import build_page
from aggregator.render import render
from aggregator.store import SQLStore

try:
    import brotli
except ImportError:  # brotli is optional at run time
    brotli = None


@dataclass(slots=True)
class RenderedFeed:
    body: bytes
    etag: str
    last_modified: str
    version: int
    encoded: dict[str, bytes] = field(default_factory=dict)

    def encoding(self, name: str) -> bytes:
        """The body compressed with `name` ("gzip" or "br"), computed once."""
        if name not in self.encoded:
            if name == "gzip":
                self.encoded[name] = gzip.compress(self.body, compresslevel=6, mtime=0)
            elif name == "br" and brotli is not None:
                self.encoded[name] = brotli.compress(self.body, quality=5)
            else:
                raise ValueError(f"unsupported encoding {name!r}")
        return self.encoded[name]


class UnknownTopic(KeyError):
    pass


class PageOutOfRange(ValueError):
    pass


class FeedService:
    """Hands out rendered feeds, re-rendering only when the store says a topic changed."""

    def __init__(self, config: Config, store: SQLStore, version_ttl: float = 1.0):
        self.config = config
        self.store = store
        self._cache: dict[tuple[str, str, int, int], RenderedFeed] = {}
        self._lock = threading.Lock()
        self._version_ttl = version_ttl
        self._versions: dict[str, int] = {}
        self._versions_read = 0.0

    def version(self, slug: str) -> int:
        """The topic's version, read from the store at most once per `version_ttl`.

        Web processes may be separate from the workers that write, so they learn of
        new stories through the store; a one-second staleness keeps a busy feed's
        requests from each costing a query.
        """
        now = time.monotonic()
        if now - self._versions_read > self._version_ttl:
            self._versions = {t: v for t, (v, _) in self.store.topic_versions().items()}
            self._versions_read = now
        return self._versions.get(slug, 0)

    def page_size(self, slug: str, limit: int | None) -> int:
        topic = self.config.topic(slug)
        default = topic.max_entries or self.config.publish.max_entries
        if limit is None:
            return default
        return max(1, min(limit, self.config.publish.max_page_size))

    def get(
        self, slug: str, fmt: str, page: int = 1, limit: int | None = None,
        version: int | None = None,
    ) -> RenderedFeed:
        """The feed for `slug` in `fmt`; `version` avoids a store read when known."""
        try:
            topic = self.config.topic(slug)
        except KeyError:
            raise UnknownTopic(slug) from None
        if page < 1:
            raise PageOutOfRange(f"page must be 1 or more, not {page}")
        size = self.page_size(slug, limit)
        if version is None:
            version = self.version(slug)
        key = (slug, fmt, page, size if limit is not None else 0)
        cached = self._cache.get(key)
        if cached is not None and cached.version == version:
            return cached
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached.version == version:
                return cached
            total = self.store.topic_story_count(slug)
            if page > 1 and (page - 1) * size >= total:
                raise PageOutOfRange(f"page {page} is past the last page of {slug}")
            stories = self.store.topic_stories(slug, size, (page - 1) * size)
            feed_page = build_page(
                topic, stories, base_url=self.config.server.public_base(), fmt=fmt,
                page=page, page_size=size, total=total, custom_limit=limit is not None,
            )
            body = render(feed_page, fmt)
            rendered = RenderedFeed(
                body=body,
                etag='"' + hashlib.sha256(body).hexdigest()[:32] + '"',
                last_modified=format_datetime(feed_page.updated, usegmt=True),
                version=version,
            )
            self._cache[key] = rendered
            return rendered

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()
