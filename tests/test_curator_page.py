"""The curator's actions on the page, end to end over loopback.

Over plain HTTP: no action without a logged-in session, its CSRF token and this site's
origin; a wrong token, a forged cookie or a missing token gets nothing. In headless
Chromium: log in, pin, hide, merge and split through the page's own forms, each
checked in the page's DOM, in the feeds and in screenshots (pixels of the pinned
story's marker); then unhide, and the page reloading itself when a topic changes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import ROOT, run_cli
from tests.liveserver import LiveServer, demo_config, serve
from tests.pngpixels import share

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Locator, Page

TOKEN = "curator-token-for-tests-0123456789"
TOPIC = "car-t-lupus"
PINNED_YELLOW = (0xFF, 0xF2, 0xC2)
OUTPUT = ROOT / "test-output"


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = demo_config(tmp_path_factory.mktemp("curator"))
    run_cli("poll", "--config", str(config))
    return config


@pytest.fixture()
def live(polled: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setenv("AGGREGATOR_ADMIN_TOKEN", TOKEN)
    with serve(polled) as server:
        yield server


def feed_titles(live: LiveServer) -> list[str]:
    with live.client() as client:
        return [item["title"] for item in client.get(f"/feeds/{TOPIC}.json").json()["items"]]


def logged_in(live: LiveServer) -> tuple[httpx.Client, str]:
    """A client holding a session cookie, and the CSRF token of that session."""
    client = live.client()
    answer = client.post("/login", data={"token": TOKEN})
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    page = client.get("/").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    return client, csrf


def story_ids(live: LiveServer) -> list[str]:
    return [story.primary.item_id for story in live.service.store.topic_stories(TOPIC, 50)]


def test_no_action_without_session_csrf_token_or_our_origin(live: LiveServer) -> None:
    before = feed_titles(live)
    story = story_ids(live)[0]
    form = {"topic": TOPIC, "story": story}
    with live.client() as anonymous:
        assert anonymous.post("/actions/hide", data=form).status_code == 403
        wrong = anonymous.post("/login", data={"token": TOKEN[:-1] + "x"})
        assert wrong.status_code == 403 and "set-cookie" not in wrong.headers
        assert 'action="/login"' in anonymous.get("/").text
        assert 'action="/actions/' not in anonymous.get("/").text
    client, csrf = logged_in(live)
    try:
        assert client.post("/actions/hide", data=form).status_code == 403  # no CSRF token
        assert (
            client.post("/actions/hide", data={**form, "csrf": csrf[:-2] + "xx"}).status_code == 403
        )
        foreign = client.post(
            "/actions/hide", data={**form, "csrf": csrf}, headers={"Origin": "https://evil.example"}
        )
        assert foreign.status_code == 403
        session = client.cookies["aggregator_session"]
        forged = live.client(cookies={"aggregator_session": session[:-3] + "abc"})
        with forged:
            assert forged.post("/actions/hide", data={**form, "csrf": csrf}).status_code == 403
        assert feed_titles(live) == before  # nothing happened
        done = client.post("/actions/hide", data={**form, "csrf": csrf})
        assert done.status_code == 303
        assert len(feed_titles(live)) == len(before) - 1
        client.post("/actions/unhide", data={**form, "csrf": csrf})
        assert feed_titles(live) == before
        out = client.post("/logout", data={"csrf": csrf})
        assert out.status_code == 303 and "aggregator_session" not in client.cookies
        assert client.post("/actions/hide", data={**form, "csrf": csrf}).status_code == 403
    finally:
        client.close()


def test_without_an_admin_token_the_page_offers_no_actions(
    polled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AGGREGATOR_ADMIN_TOKEN", raising=False)
    with serve(polled) as live, live.client() as client:
        page = client.get("/").text
        # the search box is the one form (GET); no login, no action
        assert page.count("<form") == 1 and 'action="/search" method="get"' in page
        assert 'method="post"' not in page
        assert client.post("/login", data={"token": ""}).status_code == 403


# -- in a real browser ------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed")
    from tests.test_browser import CHROMIUM_ARGS

    with playwright_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, timeout=60_000
        )
        try:
            yield instance
        finally:
            instance.close()


def titles(page: Page) -> list[str]:
    return page.locator(f"#topic-{TOPIC} li.story .story-title").all_inner_texts()


def story(page: Page, title: str) -> Locator:
    """The page's story whose title is `title` (merge lists carry every title too)."""
    exact = page.locator(".story-title").filter(has_text=re.compile(f"^{re.escape(title)}$"))
    return page.locator(f"#topic-{TOPIC} li.story").filter(has=exact)


def test_log_in_pin_hide_merge_split_in_chromium(browser: Browser, live: LiveServer) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    OUTPUT.mkdir(exist_ok=True)
    try:
        page.goto(live.url("/"))
        assert page.locator("form.login").is_visible()
        assert page.locator(".actions").count() == 0
        page.fill("form.login input[name=token]", TOKEN)
        page.click("form.login button")
        page.wait_for_selector("form.session")
        assert page.context.cookies()[0]["httpOnly"] is True
        assert page.evaluate("document.cookie") == ""  # the session is out of scripts' reach
        before = titles(page)
        assert before == feed_titles(live) and len(before) >= 5

        last = before[-1]
        story(page, last).locator("button.pin").click()
        page.wait_for_load_state()
        assert titles(page)[0] == last
        assert feed_titles(live)[0] == last  # the feed was re-rendered with it first
        pinned = story(page, last)
        assert pinned.locator(".pinned-mark").inner_text() == "pinned"
        assert pinned.locator("button.unpin").count() == 1
        assert share(pinned.locator(".pinned-mark").screenshot(), PINNED_YELLOW) > 0.5
        page.screenshot(path=str(OUTPUT / "curator-pinned.png"))

        hidden = before[1]
        story(page, hidden).locator("button.hide").click()
        page.wait_for_load_state()
        assert hidden not in titles(page) and hidden not in feed_titles(live)
        assert page.locator("li.hidden-story").first.text_content().strip().startswith(hidden)

        # Two stories of one copy each: merged, one shows the other as a copy.
        alone = [
            t for t in titles(page) if t != last and story(page, t).locator(".also-on").count() == 0
        ]
        first, second = alone[:2]
        merge = story(page, first).locator("form[action='/actions/merge']")
        merge.locator("select").select_option(label=second)
        merge.locator("button.merge").click()
        page.wait_for_load_state()
        [shown] = [t for t in (first, second) if t in titles(page)]
        other = second if shown == first else first
        copies = story(page, shown).locator(".also-on")
        assert copies.locator("a").count() == 1 and copies.locator("button.split").count() == 1
        merged_feed = feed_titles(live)
        assert len(merged_feed) == len(before) - 2 and other not in merged_feed
        page.screenshot(path=str(OUTPUT / "curator-merged.png"))

        copies.locator("button.split").click()
        page.wait_for_load_state()
        assert {first, second} <= set(titles(page))
        assert story(page, first).locator(".also-on").count() == 0
        assert len(feed_titles(live)) == len(merged_feed) + 1
        explained = run_cli(
            "explain", story_ids(live)[0], "--config", str(live.service.config_path)
        ).stdout
        assert f"topic {TOPIC}: pinned by the curator" in explained

        page.locator("details.hidden-stories summary").click()
        page.locator("li.hidden-story button.unhide").click()
        page.wait_for_load_state()
        assert hidden in titles(page)
        story(page, last).locator("button.unpin").click()
        page.wait_for_load_state()
        assert titles(page) == feed_titles(live) == before
        assert errors == []
    finally:
        page.close()


def test_the_page_reloads_itself_when_a_topic_changes(browser: Browser, live: LiveServer) -> None:
    page = browser.new_page()
    try:
        page.goto(live.url("/?refresh=1"))
        shown = titles(page)
        store, newest = live.service.store, story_ids(live)[0]
        try:
            with page.expect_event("load", timeout=10_000):
                store.curate(TOPIC, newest, "hide")  # as `aggregator hide` would, elsewhere
            assert titles(page) == shown[1:]
        finally:
            store.uncurate(TOPIC, newest, "hide")
    finally:
        page.close()
