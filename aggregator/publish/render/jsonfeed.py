"""JSON Feed 1.1 (https://jsonfeed.org/version/1.1)."""

from __future__ import annotations

import json

from aggregator.core.sanitize import html_to_text
from aggregator.models import FeedEntry, FeedPage, TermHit
from aggregator.publish.render.common import (
    GENERATOR,
    JSON_FEED_VERSION,
    LANGUAGE,
    entry_body_html,
    entry_urn,
    rfc3339,
)


def render_json(page: FeedPage) -> bytes:
    document: dict[str, object] = {
        "version": JSON_FEED_VERSION,
        "title": page.title,
        "home_page_url": page.html_url,
        "feed_url": page.self_url,
        "description": page.description or page.title,
        "language": LANGUAGE,
        "authors": [{"name": GENERATOR}],
    }
    if page.next_url:
        document["next_url"] = page.next_url
    if page.hub_url:
        document["hubs"] = [{"type": "WebSub", "url": page.hub_url}]
    document["items"] = [_json_item(entry) for entry in page.entries]
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _json_item(entry: FeedEntry) -> dict[str, object]:
    item: dict[str, object] = {
        "id": entry_urn(entry.entry_id),
        "title": entry.title,
        "content_html": entry_body_html(entry),
        "date_published": rfc3339(entry.published),
        "date_modified": rfc3339(entry.updated),
    }
    if entry.link:
        item["url"] = entry.link
    if entry.summary_html and entry.content_html:
        item["summary"] = html_to_text(entry.summary_html)  # the spec's summary is plain text
    if entry.author:
        item["authors"] = [{"name": entry.author}]
    if entry.categories:
        item["tags"] = list(entry.categories)
    copies = []
    for copy in entry.also_on:
        described = {"source": copy.source, "title": copy.title, "coverage": copy.coverage}
        if copy.link:
            described["url"] = copy.link
        copies.append(described)
    item["_aggregator"] = {"source": entry.source, "also_on": copies}
    if entry.score is not None:
        item["_aggregator"]["score"] = round(entry.score, 2)
        item["_aggregator"]["hits"] = [_json_hit(hit) for hit in entry.hits]
    return item


def _json_hit(hit: TermHit) -> dict[str, object]:
    """A hit as `_aggregator.hits` shows it: where, how much, why discounted, a quote."""
    shown: dict[str, object] = {
        "term": hit.term, "location": hit.location, "weight": round(hit.weight, 2),
        "snippet": hit.snippet,
    }
    if hit.note:
        shown["note"] = hit.note
    if hit.synonym_of:
        shown["synonym_of"] = hit.synonym_of
    return shown
