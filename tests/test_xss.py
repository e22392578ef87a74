"""The XSS catalogue through the whole path: served by a loopback feed server, polled,
stored, rendered and served again; nothing executable may reach any output."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest
from lxml import etree, html

from tests.conftest import run_cli, write_config
from tests.feedcheck import A, feed_problems, text_problems
from tests.feedserver import FeedServer
from tests.liveserver import LiveServer, serve
from tests.xssfeeds import load_vectors, serve_hostile_feeds, topics_toml

VECTORS = load_vectors()
ENTRIES = 2 * len(VECTORS) + 3  # plus relative-link entries and an XHTML one
CONTENT_NS = "{http://purl.org/rss/1.0/modules/content/}"


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, int]]:
    """The service serving what it polled from the hostile feeds; yields it and the
    port of the feed server (the base of the RSS feed's relative links)."""
    tmp = tmp_path_factory.mktemp("xss")
    with FeedServer() as feeds:
        config = write_config(
            tmp / "config.toml", serve_hostile_feeds(feeds, VECTORS),
            topics=topics_toml(ENTRIES), extra="[publish]\nmax_page_size = 500",
        )
        output = run_cli("poll", "--config", str(config)).stdout
        assert f"XSS RSS: {len(VECTORS) + 1} new" in output
        assert f"XSS Atom: {len(VECTORS) + 2} new" in output
        with serve(config) as live:
            yield live, feeds.port


def fetch(live: LiveServer, fmt: str) -> bytes:
    with live.client() as client:
        response = client.get(f"/feeds/xss.{fmt}?limit=500")
    assert response.status_code == 200
    return response.content


def html_fields(document: bytes, fmt: str) -> list[str]:
    """Every HTML-bearing field of a feed, for the marker checks."""
    if fmt == "json":
        return [item["content_html"] for item in json.loads(document)["items"]]
    root = etree.fromstring(document)
    if fmt == "atom":
        return [e.text or "" for e in root.iter(f"{A}content", f"{A}summary")]
    return [e.text or "" for e in root.iter("description", f"{CONTENT_NS}encoded")]


@pytest.mark.parametrize("fmt", ["atom", "rss", "json"])
def test_no_vector_survives_in_any_feed_format(hostile: tuple[LiveServer, int],
                                               fmt: str) -> None:
    live, _ = hostile
    document = fetch(live, fmt)
    # feed_problems checks every HTML field (elements, attributes, URL schemes) and
    # every plain-text field (titles, authors) on top of the format's own rules.
    assert feed_problems(document, fmt) == []
    text = "\n".join(html_fields(document, fmt))
    # Each entry arrived and kept its harmless part: nothing passed by being dropped.
    for number in range(len(VECTORS)):
        assert f"keep-rss-{number} " in text and f"keep-atom-{number} " in text, number
    for marker in ("keep-rss-relative", "keep-atom-relative", "keep-xhtml"):
        assert marker in text
    assert len(re.findall(r"urn:uuid:", document.decode())) >= ENTRIES
    # No script URL in any spelling, wherever it might hide.
    lowered = text.lower()
    for scheme in ("javascript:", "vbscript:", "data:text", "data:image"):
        assert scheme not in lowered


def test_relative_urls_are_made_absolute_against_their_source(
    hostile: tuple[LiveServer, int]
) -> None:
    live, feed_port = hostile
    root = etree.fromstring(fetch(live, "atom"))
    contents = {e.findtext(f"{A}title"): e.findtext(f"{A}content")
                for e in root.iter(f"{A}entry")}
    rss_links = html.fragment_fromstring(contents["RSS relative links"], create_parent="div")
    assert rss_links.xpath(".//a/@href")[0] == f"http://127.0.0.1:{feed_port}/docs/relative.html"
    assert rss_links.xpath(".//img/@src") == [f"http://127.0.0.1:{feed_port}/xss/images/pic.png"]
    atom_links = html.fragment_fromstring(contents["Atom relative links"], create_parent="div")
    assert atom_links.xpath(".//a/@href")[0] == "https://base.example/dir/page.html"
    assert atom_links.xpath(".//img/@src") == ["https://base.example/img/pic.png"]


def test_titles_are_plain_text(hostile: tuple[LiveServer, int]) -> None:
    live, _ = hostile
    items = json.loads(fetch(live, "json"))["items"]
    titles = {item["title"] for item in items}
    for number in range(len(VECTORS)):
        assert any(t.startswith((f"RSS case {number}", f"Atom case {number}")) for t in titles)
    for title in titles:
        assert text_problems(title, "title") == []
    assert "RSS case 46" in titles  # "&lt;script&gt;alert(47)&lt;/script&gt;" is gone


def test_no_vector_survives_on_the_curators_page(hostile: tuple[LiveServer, int]) -> None:
    live, _ = hostile
    with live.client() as client:
        page = client.get("/").text
    root = html.document_fromstring(page)
    # The one script is the page's own refresher, by URL (no inline code).
    assert_inert(root, scripts=["/static/page.js"])
    stories = root.xpath("//section[starts-with(@id, 'topic-xssgroup')]//li[@class='story']")
    assert len(stories) == ENTRIES  # every hostile title is on the page
    for story in stories:
        title = story.xpath(".//*[contains(@class, 'story-title')]")[0]
        assert len(title) == 0, html.tostring(title)  # text only, no child elements


def assert_inert(root: html.HtmlElement, scripts: list[str] | None = None) -> None:
    """Nothing on a page can run, load or submit anywhere but the search box (and the
    page's own `scripts`, loaded by URL, no inline code)."""
    assert [script.get("src") for script in root.xpath("//script")] == (scripts or [])
    assert not root.xpath("//script/text()")
    assert not root.xpath("//iframe | //object | //embed | //svg | //math | "
                          "//base | //img | //meta[@http-equiv]")
    forms = root.xpath("//form")
    assert [(form.get("action"), form.get("method")) for form in forms] == [("/search", "get")]
    assert len(forms[0].xpath(".//input | .//select | .//button")) == 3
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name, value)
            if name in ("href", "src", "action", "formaction"):
                assert value.startswith(("http://", "https://", "/", "#")), value


def test_no_vector_survives_on_the_search_page(hostile: tuple[LiveServer, int]) -> None:
    """Every hostile entry found by search: titles, sources and snippets (with the
    matched words marked up) stay text."""
    live, _ = hostile
    with live.client() as client:
        response = client.get("/search", params={"q": "case OR relative OR xhtml"})
    assert response.status_code == 200
    assert "form-action 'self'" in response.headers["content-security-policy"]
    root = html.document_fromstring(response.text)
    assert_inert(root)
    results = root.xpath("//li[@class='result']")
    assert len(results) == 50  # the page's most; more entries match
    marks = root.xpath("//div[@class='snippet']/mark")
    assert marks and {mark.text_content().lower() for mark in marks} <= {
        "case", "relative", "xhtml"}
    for result in results:
        title = result.xpath(".//*[contains(@class, 'story-title')]")[0]
        assert len(title) == 0, html.tostring(title)
        for snippet in result.xpath(".//div[@class='snippet']"):
            assert {child.tag for child in snippet} <= {"mark"}
            assert all(len(mark) == 0 for mark in snippet)  # a mark holds text only
