"""Rendering and page building: what each format says about an entry, and when."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from lxml import etree

from aggregator.config import TopicConfig
from aggregator.models import FeedEntry, FeedPage, StoredItem, StoredStory, StoryCopy, TermHit
from aggregator.publish.page import build_page
from aggregator.publish.render import render

A = "{http://www.w3.org/2005/Atom}"
DC = "{http://purl.org/dc/elements/1.1/}"
BASE = "https://news.example"
T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TOPIC = TopicConfig(slug="cell", title="Cell therapy", include=["CAR-T"])


def copy(source: str, link: str | None) -> StoryCopy:
    return StoryCopy(item_id=source, source=source, link=link, title="t", published=T0)


ENTRY = FeedEntry(
    entry_id="7d3c5a52-1111-4222-8333-944455556666",
    title="First patient dosed",
    link="https://wire.example/a",
    source="Wire & <Co>",
    published=T0,
    updated=T0,
    summary_html="<p>Short <b>summary</b>.</p>",
    content_html="<p>The long text.</p>",
    author="Dana Writer",
    categories=["CAR-T", "lupus"],
    also_on=[copy("Newsroom", "https://newsroom.example/a"), copy("Print", None),
             copy("Mirror", "https://wire.example/a"),
             copy("Newsroom again", "https://newsroom.example/a")],
)
PAGE = FeedPage(
    slug="cell", title="Cell therapy", description="All of it",
    self_url=f"{BASE}/feeds/cell.atom", html_url=f"{BASE}/#topic-cell", updated=T0,
    entries=[ENTRY], alternates={f: f"{BASE}/feeds/cell.{f}" for f in ("atom", "rss", "json")},
)


def _with(page: FeedPage, **changes: object) -> FeedPage:
    values = {name: getattr(page, name) for name in FeedPage.__slots__}
    return FeedPage(**{**values, **changes})


def test_atom_entry_links_carry_rel_type_and_title() -> None:
    entry = etree.fromstring(render(PAGE, "atom")).find(f"{A}entry")
    links = [(link.get("rel"), link.get("type"), link.get("title"), link.get("href"))
             for link in entry.findall(f"{A}link")]
    assert links == [
        ("alternate", "text/html", None, "https://wire.example/a"),
        # one per distinct other URL; a copy at the primary's own URL adds nothing
        ("related", "text/html", "Newsroom again", "https://newsroom.example/a"),
    ]


def test_atom_feed_names_an_author_and_entries_keep_their_own() -> None:
    root = etree.fromstring(render(PAGE, "atom"))
    assert root.findtext(f"{A}author/{A}name") == "newswire-aggregator"
    assert root.findtext(f"{A}entry/{A}author/{A}name") == "Dana Writer"
    assert root.find(f"{A}entry/{A}summary").get("type") == "html"
    content = root.find(f"{A}entry/{A}content")
    assert content.get("type") == "html" and len(content) == 0  # escaped, not inline
    assert "<p>The long text.</p>" in content.text
    assert "Source: <a href=\"https://wire.example/a\">Wire &amp; &lt;Co&gt;</a>" in content.text
    assert ">Newsroom</a>, Print, <a" in content.text  # also-on, with and without links


def test_rss_channel_links_the_page_and_items_credit_authors() -> None:
    page = _with(PAGE, self_url=f"{BASE}/feeds/cell.rss")
    channel = etree.fromstring(render(page, "rss")).find("channel")
    assert channel.findtext("link") == f"{BASE}/#topic-cell"
    self_link = channel.find(f"{A}link")
    assert (self_link.get("rel"), self_link.get("href")) == ("self", f"{BASE}/feeds/cell.rss")
    item = channel.find("item")
    assert item.findtext(f"{DC}creator") == "Dana Writer"
    assert item.find("author") is None  # RSS <author> is an e-mail address
    assert item.find("guid").get("isPermaLink") == "false"
    assert item.findtext("description") == "<p>Short <b>summary</b>.</p>"
    assert "<p>The long text.</p>" in item.findtext(
        "{http://purl.org/rss/1.0/modules/content/}encoded")
    assert [c.text for c in item.findall("category")] == ["CAR-T", "lupus"]


def test_json_summary_is_plain_text_and_copies_are_an_extension() -> None:
    item = json.loads(render(PAGE, "json"))["items"][0]
    assert item["summary"] == "Short summary."
    assert item["authors"] == [{"name": "Dana Writer"}]
    assert item["_aggregator"]["source"] == "Wire & <Co>"
    # no null url; "coverage" tells an article about the story from a copy of it
    assert item["_aggregator"]["also_on"][1] == {"source": "Print", "title": "t",
                                                 "coverage": False}


def test_same_page_renders_to_the_same_bytes() -> None:
    for fmt in ("atom", "rss", "json"):
        assert render(PAGE, fmt) == render(_with(PAGE), fmt)
    with pytest.raises(ValueError, match="unknown feed format"):
        render(PAGE, "html")


# -- build_page ----------------------------------------------------------------------------


def stored(number: int, *, published: float, first_seen: float, changed_at: float | None = None,
           author: str | None = None) -> StoredStory:
    item = StoredItem(
        item_id=f"i{number}", source="Wire", story_id=f"s{number}", link=None,
        canonical_link=None, title=f"Story {number}", summary_html="", content_html="",
        title_text="", summary_text="", content_text="", author=author, categories=[],
        published=published, updated=None, first_seen=first_seen,
        changed_at=changed_at or first_seen, fingerprint="",
    )
    return StoredStory(f"s{number}", published, published, item, [],
                       [TermHit("CAR-T", "title"), TermHit("CAR-T", "summary")])


def test_page_updated_is_when_the_feed_last_changed_not_the_newest_date() -> None:
    day = 86400.0
    old_but_new_to_us = stored(1, published=10 * day, first_seen=30 * day)
    edited = stored(2, published=20 * day, first_seen=21 * day, changed_at=25 * day)
    page = build_page(TOPIC, [edited, old_but_new_to_us], base_url=BASE, fmt="atom", page=1,
                      page_size=10, total=2)
    assert page.updated == datetime.fromtimestamp(30 * day, UTC)
    assert page.entries[0].categories == ["CAR-T"]  # each matched term once


def test_page_links_for_a_middle_page_with_a_custom_limit() -> None:
    stories = [stored(n, published=100.0 - n, first_seen=100.0) for n in range(3)]
    page = build_page(TOPIC, stories, base_url=BASE, fmt="rss", page=2, page_size=3, total=9,
                      custom_limit=True)
    assert page.self_url == f"{BASE}/feeds/cell.rss?page=2&limit=3"
    assert page.first_url == f"{BASE}/feeds/cell.rss?limit=3"
    assert page.prev_url == f"{BASE}/feeds/cell.rss?limit=3"
    assert page.next_url == f"{BASE}/feeds/cell.rss?page=3&limit=3"
    assert page.alternates["json"] == f"{BASE}/feeds/cell.json"
    last = build_page(TOPIC, stories, base_url=BASE, fmt="rss", page=3, page_size=3, total=9)
    assert last.next_url is None and last.prev_url == f"{BASE}/feeds/cell.rss?page=2"


def test_author_names_are_published_as_plain_text() -> None:
    story = stored(1, published=1.0, first_seen=1.0, author="<b>Dana</b> &amp; Lee")
    page = build_page(TOPIC, [story], base_url=BASE, fmt="json", page=1, page_size=5, total=1)
    assert page.entries[0].author == "Dana & Lee"


def test_copies_are_told_from_coverage() -> None:
    covered = StoryCopy("n", "FierceBiotech", "https://fierce.example/2", "t", T0, coverage=True)
    entry = FeedEntry(**{name: getattr(ENTRY, name) for name in FeedEntry.__slots__})
    entry.also_on = [copy("GlobeNewswire", "https://gnw.example/1"), covered]
    item = json.loads(render(_with(PAGE, entries=[entry]), "json"))["items"][0]
    assert ('<p>Also on: <a href="https://gnw.example/1">GlobeNewswire</a></p>\n'
            '<p>Also covered by: <a href="https://fierce.example/2">FierceBiotech</a></p>'
            ) in item["content_html"]
    assert [c["coverage"] for c in item["_aggregator"]["also_on"]] == [False, True]


def test_json_items_carry_the_score_and_located_hits() -> None:
    hits = [TermHit("CAR-T", "title", "title", "First patient dosed with CAR-T", 3.0),
            TermHit("Kymriah", "summary", "body", "unlike Kymriah, ...", 0.2, "comparison",
                    "CAR-T")]
    entry = FeedEntry(**{**{name: getattr(ENTRY, name) for name in FeedEntry.__slots__},
                         "hits": hits, "score": 3.1})
    [item] = json.loads(render(_with(PAGE, entries=[entry]), "json"))["items"]
    assert item["_aggregator"]["score"] == 3.1
    assert item["_aggregator"]["hits"] == [
        {"term": "CAR-T", "location": "title", "weight": 3.0,
         "snippet": "First patient dosed with CAR-T"},
        {"term": "Kymriah", "location": "body", "weight": 0.2, "snippet": "unlike Kymriah, ...",
         "note": "comparison", "synonym_of": "CAR-T"},
    ]
    [old] = json.loads(render(PAGE, "json"))["items"]  # hits stored before scores
    assert "score" not in old["_aggregator"] and "hits" not in old["_aggregator"]
