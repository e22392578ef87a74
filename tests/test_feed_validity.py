"""Every feed we publish passes what the W3C Feed Validation Service checks (Atom 1.0,
RSS 2.0) and the JSON Feed 1.1 specification: on feeds served over HTTP from real
polls, on the shipped demo, on awkward hand-made pages, and the checks themselves are
shown to catch each violation they look for."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from lxml import etree

from aggregator.models import FeedEntry, FeedPage, StoryCopy
from aggregator.publish.render import render
from tests.conftest import run_cli, serve_e2e_feeds, write_config
from tests.feedcheck import A, feed_problems
from tests.feedserver import FeedServer, Route
from tests.liveserver import demo_config, serve, story_feed

FORMATS = ("atom", "rss", "json")
BASE = "http://feeds.test"


def next_url(document: bytes, fmt: str) -> str | None:
    if fmt == "json":
        return json.loads(document).get("next_url")
    links = etree.fromstring(document).iter(f"{A}link")
    return next((link.get("href") for link in links if link.get("rel") == "next"), None)


def test_served_feeds_are_valid_on_every_page(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.routes["/stories.rss"] = Route(story_feed(12))
    sources = {**serve_e2e_feeds(feed_server), "Story Wire": feed_server.url("/stories.rss")}
    config = write_config(tmp_path / "config.toml", sources, extra="[publish]\nmax_entries = 4")
    run_cli("poll", "--config", str(config))
    checked = 0
    with serve(config) as live, live.client() as client:
        for fmt in FORMATS:
            url: str | None = f"{BASE}/feeds/car-t-lupus.{fmt}"
            while url:
                document = client.get(url.removeprefix(BASE)).content
                assert feed_problems(document, fmt) == [], url
                checked += 1
                url = next_url(document, fmt)
    assert checked == 3 * 4  # 15 stories, 4 per page, in three formats


def test_demo_feeds_are_valid(tmp_path: Path) -> None:
    """The shipped sample feeds: real newswire shapes, merged copies, authors, dates."""
    config = demo_config(tmp_path)
    run_cli("poll", "--config", str(config))
    for slug in ("car-t-lupus", "car-t"):
        for fmt in FORMATS:
            document = run_cli("render", slug, "--format", fmt, "--config", str(config)).stdout
            assert feed_problems(document.encode(), fmt) == [], (slug, fmt)
            if fmt == "atom":
                root = etree.fromstring(document.encode())
                assert len(root.findall(f"{A}entry")) >= 3
                assert root.findall(f"{A}entry/{A}link[@rel='related']")  # merged copies


# -- awkward pages, rendered directly ----------------------------------------------------

WHEN = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=timezone(timedelta(hours=-5)))


def entry(number: int, **changes: object) -> FeedEntry:
    values: dict[str, object] = {
        "entry_id": f"00000000-0000-4000-8000-{number:012d}",
        "title": f"Story {number}",
        "link": f"https://news.example/{number}",
        "source": "Example Wire",
        "published": WHEN,
        "updated": WHEN + timedelta(minutes=number),
        "summary_html": "<p>Summary</p>",
        "content_html": "",
        "author": None,
        "categories": ["CAR-T"],
    }
    values.update(changes)
    return FeedEntry(**values)  # type: ignore[arg-type]


def page(entries: list[FeedEntry], **changes: object) -> FeedPage:
    values: dict[str, object] = {
        "slug": "topic",
        "title": "Topic",
        "description": "",
        "self_url": f"{BASE}/feeds/topic.atom",
        "html_url": f"{BASE}/#topic-topic",
        "updated": WHEN,
        "entries": entries,
        "alternates": {fmt: f"{BASE}/feeds/topic.{fmt}" for fmt in FORMATS},
    }
    values.update(changes)
    return FeedPage(**values)  # type: ignore[arg-type]


AWKWARD = {
    "no entries": page([]),
    "bare entries": page([entry(1, link=None, summary_html="", categories=[]),
                          entry(2, link=None, summary_html="", content_html="")]),
    "authors and copies": page([
        entry(1, author="Ana Author", content_html="<p>Full text</p>", also_on=[
            StoryCopy("i2", "Other Wire", "https://other.example/1", "Story 1", WHEN),
            StoryCopy("i3", "Same Link Wire", "https://news.example/1", "Story 1", WHEN),
            StoryCopy("i4", "Linkless Wire", None, "Story 1", WHEN),
            StoryCopy("i5", "Other Wire, again", "https://other.example/1", "Story 1", WHEN),
        ]),
        entry(2),
    ]),
    "text that looks like markup": page([entry(
        1, title="AT&T < Verizon > Sprint & \"quotes\" 'too' &amp;", author="O'Brien & Sons",
        summary_html="<p>x &lt; y &amp; z</p>", categories=["R&D", "<b>"],
    )], title="R&D < weekly", description="Fish & chips <b>"),
    "characters XML cannot carry": page([entry(
        1, title="Bell\x07 and\x00 nul\x1b", summary_html="<p>form\x0cfeed \ufffe</p>",
        author="Tab\tbed\x0b",
    )]),
    "unicode": page([entry(1, title="Lupus-Studie: CAR‑T 🧬 在狼疮中 \u2028 line",
                           author="Zoë Ångström")]),
    "a middle page": page([entry(5), entry(6)], self_url=f"{BASE}/feeds/topic.atom?page=2",
                          first_url=f"{BASE}/feeds/topic.atom",
                          prev_url=f"{BASE}/feeds/topic.atom",
                          next_url=f"{BASE}/feeds/topic.atom?page=3"),
}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(AWKWARD))
def test_awkward_pages_render_valid(name: str, fmt: str) -> None:
    document = render(AWKWARD[name], fmt)
    assert feed_problems(document, fmt) == []


def test_xml_unsafe_characters_are_dropped_and_text_is_kept() -> None:
    document = render(AWKWARD["characters XML cannot carry"], "atom")
    root = etree.fromstring(document)
    assert root.findtext(f"{A}entry/{A}title") == "Bell and nul"
    # a name is one line: the tab folds to a space, as in every format (issue 15, point 5)
    assert root.findtext(f"{A}entry/{A}author/{A}name") == "Tab bed"


# -- the checks catch what they look for ---------------------------------------------------


def _atom(mutate: Callable[[etree._Element], object]) -> bytes:
    root = etree.fromstring(render(AWKWARD["authors and copies"], "atom"))
    mutate(root)
    return etree.tostring(root)


def _rss(mutate: Callable[[etree._Element], object]) -> bytes:
    root = etree.fromstring(render(AWKWARD["authors and copies"], "rss"))
    mutate(root)
    return etree.tostring(root)


def _json(mutate: Callable[[dict], object]) -> bytes:
    document = json.loads(render(AWKWARD["authors and copies"], "json"))
    mutate(document)
    return json.dumps(document).encode()


def _remove(root: etree._Element, path: str) -> None:
    for element in root.findall(path):
        element.getparent().remove(element)


def _duplicate(root: etree._Element, path: str) -> None:
    element = root.find(path)
    element.addnext(copy.deepcopy(element))


BROKEN = {
    "atom: no author anywhere": ("atom", lambda r: _remove(r, f".//{A}author"), "no author"),
    "atom: entry without id": ("atom", lambda r: _remove(r, f"{A}entry/{A}id"), "missing <id>"),
    "atom: two titles": ("atom", lambda r: _duplicate(r, f"{A}title"), "2 <title>"),
    "atom: duplicate entry ids": (
        "atom", lambda r: r.findall(f"{A}entry/{A}id")[1].__setattr__(
            "text", r.findtext(f"{A}entry/{A}id")), "appears 2 times"),
    "atom: relative href": (
        "atom", lambda r: r.find(f"{A}entry/{A}link").set("href", "/1"), "not absolute"),
    "atom: bad date": (
        "atom", lambda r: r.find(f"{A}updated").__setattr__("text", "2026-03-04 05:06"),
        "RFC 3339"),
    "atom: two alternates of one type": (
        "atom", lambda r: _duplicate(r, f"{A}entry/{A}link[@rel='alternate']"),
        "2 alternate links"),
    "atom: no self link": ("atom", lambda r: _remove(r, f"{A}link[@rel='self']"), "rel=self"),
    "atom: unescaped html content": (
        "atom", lambda r: etree.SubElement(r.find(f"{A}entry/{A}content"), "b"),
        "holds child elements"),
    "atom: script in content": (
        "atom", lambda r: r.find(f"{A}entry/{A}content").__setattr__("text", "<script>x</script>"),
        "element <script>"),
    "atom: markup in a title": (
        "atom", lambda r: r.find(f"{A}entry/{A}title").__setattr__("text", "<img src=x>"),
        "plain text holds markup"),
    "rss: no channel link": ("rss", lambda r: _remove(r, "channel/link"), "<link>"),
    "rss: element from outside RSS 2.0": (
        "rss", lambda r: etree.SubElement(r.find("channel/item"), "updated"),
        "not an RSS 2.0 element"),
    "rss: duplicate guid": (
        "rss", lambda r: r.findall("channel/item/guid")[1].__setattr__(
            "text", r.findtext("channel/item/guid")), "appears 2 times"),
    "rss: urn guid claiming to be a permalink": (
        "rss", lambda r: r.find("channel/item/guid").attrib.pop("isPermaLink"),
        "permalink but not a URL"),
    "rss: ISO date": (
        "rss", lambda r: r.find("channel/item/pubDate").__setattr__("text", "2026-03-04"),
        "RFC 822"),
    "rss: no self link": ("rss", lambda r: _remove(r, f"channel/{A}link"), "rel=self"),
    "rss: javascript link in description": (
        "rss", lambda r: r.find("channel/item/description").__setattr__(
            "text", '<a href="javascript:x()">x</a>'), "not an absolute http(s)"),
    "json: wrong version": ("json", lambda d: d.update(version="1.1"), "version"),
    "json: item without content": (
        "json", lambda d: d["items"][0].pop("content_html"), "content_html or content_text"),
    "json: duplicate ids": (
        "json", lambda d: d["items"][1].update(id=d["items"][0]["id"]), "appears 2 times"),
    "json: relative next_url": ("json", lambda d: d.update(next_url="?page=2"), "next_url"),
    "json: date without zone": (
        "json", lambda d: d["items"][0].update(date_published="2026-03-04T05:06:07"),
        "RFC 3339"),
    "json: unknown key": ("json", lambda d: d["items"][0].update(source="x"), "unknown key"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_checks_catch_the_violation(name: str) -> None:
    fmt, mutate, expected = BROKEN[name]
    build = {"atom": _atom, "rss": _rss, "json": _json}[fmt]
    problems = feed_problems(build(mutate), fmt)
    assert any(expected in problem for problem in problems), problems


def test_the_unmutated_document_passes() -> None:
    """The baseline of the mutations above, so each one is what makes its check fail."""
    for build, fmt in ((_atom, "atom"), (_rss, "rss"), (_json, "json")):
        assert feed_problems(build(lambda _: None), fmt) == []


def test_dates_are_rfc3339_in_utc_and_rfc822() -> None:
    atom = etree.fromstring(render(AWKWARD["bare entries"], "atom"))
    assert atom.findtext(f"{A}entry/{A}published") == "2026-03-04T10:06:07Z"
    rss = etree.fromstring(render(AWKWARD["bare entries"], "rss"))
    assert rss.findtext("channel/item/pubDate") == "Wed, 04 Mar 2026 10:06:07 GMT"
    item = json.loads(render(AWKWARD["bare entries"], "json"))["items"][0]
    assert item["date_published"] == "2026-03-04T10:06:07Z"
