"""In-process poll cycles over loopback, for the fetch, polling, pipeline and corpus tests.

`Harness` writes a config for some loopback sources (with conftest's `write_config`,
as a user would), opens its SQLite store and runs real `Pipeline` cycles in this
process, so a test can poll, read what was stored and poll again in milliseconds.
`rss` builds the small RSS 2.0 documents those tests serve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from aggregator.config import Config, load_config
from aggregator.models import SourceState
from aggregator.publish.cache import FeedService
from aggregator.run.cycle import CycleReport, Pipeline
from aggregator.store import open_store
from tests.conftest import TOPICS_TOML, write_config


@dataclass(frozen=True)
class Entry:
    """One RSS item; None leaves the element out."""

    guid: str | None
    title: str | None
    published: datetime | None = None
    link: str | None = None
    summary: str = "A story."


def rss(entries: Sequence[Entry], *, ttl: int | None = None, title: str = "Test Wire") -> bytes:
    items = []
    for entry in entries:
        parts = [f"<description>{escape(entry.summary)}</description>"]
        if entry.title is not None:
            parts.append(f"<title>{escape(entry.title)}</title>")
        if entry.guid is not None:
            parts.append(f'<guid isPermaLink="false">{escape(entry.guid)}</guid>')
        if entry.link is not None:
            parts.append(f"<link>{escape(entry.link)}</link>")
        if entry.published is not None:
            parts.append(f"<pubDate>{format_datetime(entry.published, usegmt=True)}</pubDate>")
        items.append(f"<item>{''.join(parts)}</item>")
    ttl_element = f"<ttl>{ttl}</ttl>" if ttl is not None else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>https://wire.example/</link>{ttl_element}"
        f"{''.join(items)}</channel></rss>\n"
    ).encode()


class Harness:
    """A config, its store and a pipeline for `sources` (name -> URL); `fetch` overrides
    [fetch] settings (write_config already sets timeout and deadline), `per_source`
    a named source's settings."""

    def __init__(self, tmp_path: Path, sources: dict[str, str], *,
                 fetch: dict[str, Any] | None = None, topics: str = TOPICS_TOML,
                 per_source: dict[str, dict[str, Any]] | None = None):
        tmp_path.mkdir(parents=True, exist_ok=True)
        self.config_path = write_config(tmp_path / "config.toml", sources, topics=topics)
        config = load_config(self.config_path)
        if fetch:
            config = config.model_copy(update={"fetch": config.fetch.model_copy(update=fetch)})
        if per_source:
            config = config.model_copy(update={"sources": [
                source.model_copy(update=per_source.get(source.name, {}))
                for source in config.sources
            ]})
        self.config: Config = config
        self.store = open_store(self.config.storage_url())
        self.pipeline = Pipeline(self.config, self.store)
        self.pipeline.prepare()

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.store.close()

    def cycle(self, names: Sequence[str] | None = None) -> CycleReport:
        return asyncio.run(self.pipeline.run_cycle(names))

    def state(self, name: str) -> SourceState:
        state = self.store.source_state(name)
        assert state is not None, name
        return state

    def items(self, name: str) -> list[dict[str, Any]]:
        """The stored items of source `name`, as column -> value, oldest key first."""
        with self.store.transaction(write=False) as cur:
            cur.execute("SELECT item_id, item_key, title, link, summary_html, published, "
                        "first_seen FROM items WHERE source = ? ORDER BY item_key", (name,))
            columns = ("item_id", "item_key", "title", "link", "summary_html", "published",
                       "first_seen")
            return [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]

    def render(self, slug: str, fmt: str, limit: int | None = None) -> bytes:
        return FeedService(self.config, self.store).get(slug, fmt, limit=limit).body
