"""The page's search box and /search in headless Chromium over the polled demo: typing a
query and a topic shows the same stories `aggregator search` finds, with their sources
and the matched words highlighted (checked in the screenshot's pixels); a query it cannot
run says why; and the results page escapes whatever the store holds."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
from lxml import html

from aggregator.store.search import MARK_END, MARK_START, SearchHit, SearchResult
from aggregator.web import TEMPLATES
from aggregator.web.search import _result_view
from tests.conftest import run_cli
from tests.liveserver import LiveServer, demo_config, free_port, serve
from tests.test_browser import CHROMIUM, DESKTOP, OUTPUT, PHONE, browser, visit  # noqa: F401

if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed", allow_module_level=True)

QUERY = 'lupus AND "CAR-T"'
HIGHLIGHT = (0xFF, 0xF3, 0xB0)  # .snippet mark's background in style.html


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    port = free_port()
    config = demo_config(tmp_path_factory.mktemp("search-page"), port=port)
    run_cli("poll", "--config", str(config))
    with serve(config, port=port) as live:
        yield live, str(config)


def pixel(browser, png: bytes, x: float, y: float) -> tuple[int, int, int]:  # noqa: ANN001, F811
    """The colour at (x, y) of a PNG screenshot, read back through a canvas."""
    page = browser.new_page()
    try:
        encoded = base64.b64encode(png).decode()
        page.set_content(f'<img id="shot" src="data:image/png;base64,{encoded}">')
        return tuple(
            page.evaluate(
                """([x, y]) => {
                const img = document.getElementById("shot");
                const canvas = document.createElement("canvas");
                canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
                const context = canvas.getContext("2d");
                context.drawImage(img, 0, 0);
                return Array.from(context.getImageData(x, y, 1, 1).data.slice(0, 3));
            }""",
                [int(x), int(y)],
            )
        )
    finally:
        page.close()


def test_the_search_box_finds_what_the_cli_finds(browser, demo) -> None:  # noqa: ANN001, F811
    live, config = demo
    expected = json.loads(
        run_cli(
            "search", "--config", config, "--json", "--topic", "car-t-lupus", "--limit", "50", QUERY
        ).stdout
    )
    opened = visit(browser, live, DESKTOP)
    page = opened.page
    try:
        box = page.locator("form.search")
        box.locator("input[name=q]").fill(QUERY)
        box.locator("select[name=topic]").select_option("car-t-lupus")
        with page.expect_navigation():
            box.locator("input[name=q]").press("Enter")
        assert "/search?" in page.url and "topic=car-t-lupus" in page.url
        results = page.locator("li.result")
        assert results.count() == len(expected) >= 3
        assert results.locator(".story-title").all_inner_texts() == [
            result["items"][0]["title"] for result in expected
        ]
        assert results.locator(".source").all_inner_texts() == [
            result["items"][0]["source"] for result in expected
        ]
        assert page.locator(".also-on").count() >= 1  # a release's wire copies: one result
        assert page.locator("input[name=q]").input_value() == QUERY  # kept for refining
        marks = page.locator(".snippet mark").all_inner_texts()
        assert marks and all(m.lower() in ("lupus", "car-t", "car t") for m in marks), marks
        OUTPUT.mkdir(exist_ok=True)
        shot = page.screenshot(path=str(OUTPUT / "search-desktop.png"))
        box = page.locator(".snippet mark").first.bounding_box()
        assert box is not None
        assert pixel(browser, shot, box["x"] + 1, box["y"] + 1) == pytest.approx(HIGHLIGHT, abs=8)
        title = page.locator(".story-title").first.bounding_box()
        assert pixel(browser, shot, title["x"] + 1, title["y"] + 1) != pytest.approx(
            HIGHLIGHT, abs=8
        )
        # The form submitted under the page's Content-Security-Policy: nothing refused.
        assert opened.dialogs == [] and opened.errors == []
    finally:
        page.close()


def test_a_query_it_cannot_run_says_why_on_a_phone(browser, demo) -> None:  # noqa: ANN001, F811
    live, _ = demo
    page = browser.new_page(viewport=PHONE)
    try:
        response = page.goto(live.url("/search?q=lupus%20AND"), wait_until="load")
        assert response is not None and response.status == 400
        error = page.locator(".search-error")
        assert "unexpected end of query" in error.inner_text()
        assert error.evaluate("e => getComputedStyle(e).color") == "rgb(164, 0, 0)"
        assert page.locator("li.result").count() == 0
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page is {width}px wide: it scrolls sideways"
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "search-error-phone.png"))
    finally:
        page.close()


def test_the_results_page_escapes_whatever_the_store_holds() -> None:
    hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>"
    hit = SearchHit(
        "i1",
        hostile,
        "https://example.com/a",
        hostile,
        "s1",
        1.8e9,
        1.0,
        f"before {MARK_START}{hostile}{MARK_END} after",
    )
    page = TEMPLATES.get_template("search.html").render(
        query=hostile,
        chosen_topic=None,
        topic_choices=[],
        error=None,
        results=[_result_view(SearchResult("s1", (hit, hit)))],
    )
    root = html.document_fromstring(page)
    assert not root.xpath("//img | //script")
    assert root.xpath("//li[@class='result']//a[@class='story-title']")[0].text == hostile
    [mark] = root.xpath("//div[@class='snippet']/mark")
    assert mark.text == hostile
    assert root.xpath("//input[@name='q']/@value") == [hostile]
