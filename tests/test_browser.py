"""The curator's page in a real browser: Debian's Chromium, headless, driven by Playwright.

It loads the demo (the shipped sample feeds, polled into a fresh store), shows the demo
topic's stories, every feed link it offers answers 200, it fits a phone's screen, and a
page built from hostile feeds runs nothing. Screenshots go to test-output/ to look at.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import ROOT, run_cli, write_config
from tests.feedserver import FeedServer
from tests.liveserver import LiveServer, demo_config, free_port, serve
from tests.xssfeeds import load_vectors, serve_hostile_feeds, topics_toml

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed (pip install -e .[dev])"
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"
)
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
OUTPUT = ROOT / "test-output"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                              headless=True, timeout=60_000)
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The shipped demo config, polled, served on the port its links name."""
    port = free_port()
    config = demo_config(tmp_path_factory.mktemp("demo"), port=port)
    run_cli("poll", "--config", str(config))
    with serve(config, port=port) as live:
        yield live


@dataclass
class Visit:
    """A page opened on "/", with every dialog and console error it produced."""

    page: Page
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def visit(browser: Browser, live: LiveServer, viewport: dict[str, int]) -> Visit:
    opened = Visit(browser.new_page(viewport=viewport))
    page = opened.page
    page.on("dialog", lambda dialog: (opened.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("console", lambda msg: msg.type == "error" and opened.errors.append(msg.text))
    page.on("pageerror", lambda error: opened.errors.append(str(error)))
    response = page.goto(live.url("/"), wait_until="load")
    assert response is not None and response.status == 200
    return opened


def test_demo_page_shows_the_topic_stories_and_its_links_resolve(
    browser: Browser, demo: LiveServer
) -> None:
    opened = visit(browser, demo, DESKTOP)
    page = opened.page
    try:
        assert page.title() == "newswire-aggregator"
        feed = json.loads(demo.client().get("/feeds/car-t-lupus.json").content)
        expected = [item["title"] for item in feed["items"]][:20]
        assert len(expected) >= 3
        section = page.locator("#topic-car-t-lupus")
        assert section.locator("h2").inner_text() == "CAR-T in lupus"
        assert section.locator(".story-title").all_inner_texts() == expected
        assert section.locator(".also-on").count() >= 1  # merged wire copies
        assert section.locator(".terms span").first.inner_text()
        health = page.locator("table.health tbody tr")
        assert health.count() == 5
        links = page.eval_on_selector_all(
            "nav a, .feeds a", "anchors => anchors.map(a => a.href)")
        feed_links = [link for link in links if "/feeds" in link]
        assert len(feed_links) == 2 * 3 + 1  # two topics, three formats, and the OPML
        for link in feed_links:
            assert link.startswith(demo.base), link  # the public base is this server
            answer = page.request.get(link)
            assert answer.status == 200, link
        for anchor in (link for link in links if "#" in link):
            assert page.locator(f"[id='{anchor.split('#', 1)[1]}']").count() == 1
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "index-desktop.png"), full_page=True)
        assert opened.dialogs == [] and opened.errors == []
    finally:
        page.close()


def test_demo_page_is_readable_on_a_phone(browser: Browser, demo: LiveServer) -> None:
    page = visit(browser, demo, PHONE).page
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"page is {width}px wide: it scrolls sideways"
        size = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.story-title')).fontSize)")
        assert size >= 14
        first_cell = page.locator("table.health tbody tr").first.locator("td").nth(1)
        assert first_cell.is_visible()
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "index-phone.png"), full_page=True)
    finally:
        page.close()


def test_page_built_from_hostile_feeds_runs_nothing(browser: Browser, tmp_path: Path) -> None:
    vectors = load_vectors()
    with FeedServer() as feeds:
        config = write_config(tmp_path / "config.toml", serve_hostile_feeds(feeds, vectors),
                              topics=topics_toml(2 * len(vectors) + 3))
        run_cli("poll", "--config", str(config))
    with serve(config) as live:
        opened = visit(browser, live, DESKTOP)
        page = opened.page
        try:
            page.wait_for_timeout(500)  # give onload/onerror/ontoggle a chance to fire
            stories = page.locator("section[id^='topic-xssgroup'] li.story").count()
            assert stories == 2 * len(vectors) + 3  # every hostile entry is on the page
            # Nothing ran, and nothing even tried: a handler or script that got through
            # would show as a dialog, or as a Content-Security-Policy refusal.
            assert opened.dialogs == []
            assert opened.errors == []
            OUTPUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT / "index-hostile.png"), full_page=False)
        finally:
            page.close()
