"""Sources end to end over loopback into a real store: JSON Feed, hostile DTDs anywhere in
the prolog, a bad character reference among good entries, and local files.

Each case polls real documents through the whole pipeline (fetch, parse, normalize,
dedupe, match, store) with `Harness`, and reads back what the store and the topic
feeds hold, so a format is proven to be read the way RSS is, not just parsed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, Route
from tests.harness import Entry, Harness, rss
from tests.test_hostile import billion_laughs, xxe

STORY = "Nuvexa doses first lupus patient with CAR-T NVX-201"
TEXT = (
    "Nuvexa Bio today dosed the first patient with systemic lupus erythematosus in its "
    "phase 1 trial of NVX-201, an autologous CAR-T cell therapy."
)
PUBLISHED = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def json_feed(version: str) -> bytes:
    author = (
        {"authors": [{"name": "Wire Desk"}]}
        if version == "1.1"
        else {"author": {"name": "Wire Desk"}}
    )
    return json.dumps(
        {
            "version": f"https://jsonfeed.org/version/{version}",
            "title": "JSON Wire",
            "home_page_url": "https://json.example/",
            "items": [
                {
                    "id": "nvx-1",
                    "url": "https://json.example/nvx-1",
                    "title": STORY,
                    "content_text": TEXT,
                    "date_published": "2026-11-20T09:30:00Z",
                    "tags": ["Cell therapy"],
                    **author,
                },
                {
                    "id": 2,
                    "url": "https://json.example/bakery",
                    "title": "Granite Foods & Sons",
                    "content_html": "<p>Bread, buns and rolls.</p>",
                    "summary": "A <bakery>",
                    "date_modified": "2026-11-21T10:00:00+01:00",
                },
            ],
        }
    ).encode()


@pytest.mark.parametrize("version", ["1", "1.1"])
def test_a_json_feed_source_is_polled_matched_and_merged_like_rss(
    feed_server: FeedServer, tmp_path: Path, version: str
) -> None:
    feed_server.routes["/feed.json"] = Route(
        json_feed(version), content_type="application/feed+json"
    )
    feed_server.routes["/wire.xml"] = Route(
        rss(
            [
                Entry(
                    "rss-1",
                    STORY,
                    published=PUBLISHED,
                    link="https://rss.example/nvx",
                    summary=TEXT,
                )
            ]
        )
    )
    sources = {"JSON Wire": feed_server.url("/feed.json"), "RSS Wire": feed_server.url("/wire.xml")}
    with Harness(tmp_path, sources) as harness:
        report = harness.cycle()
        statuses = {r.source: (r.status, r.error) for r in report.sources}
        assert statuses["JSON Wire"] == ("new", None)
        state = harness.state("JSON Wire")
        assert state.last_problem is None and state.consecutive_failures == 0
        items = {item["item_key"]: item for item in harness.items("JSON Wire")}
        assert sorted(items) == ["guid:2", "guid:nvx-1"]
        story = items["guid:nvx-1"]
        assert story["title"] == STORY and story["link"] == "https://json.example/nvx-1"
        assert "autologous CAR-T" in story["summary_html"]
        assert items["guid:2"]["title"] == "Granite Foods & Sons"
        assert items["guid:2"]["summary_html"] == "A &lt;bakery&gt;"  # text stays text

        with harness.store.transaction(write=False) as cur:
            cur.execute(
                "SELECT source, story_id, published FROM items WHERE item_key IN "
                "('guid:nvx-1', 'guid:rss-1') ORDER BY source"
            )
            (_, json_story, json_published), (_, rss_story, _) = cur.fetchall()
        assert json_story == rss_story  # dedupe: one story, two copies
        assert json_published == PUBLISHED.timestamp()
        topic = json.loads(harness.render("car-t-lupus", "json"))
        assert [item["title"] for item in topic["items"]] == [STORY]  # matched, merged


@pytest.mark.parametrize(
    "body, message",
    [
        (
            json.dumps({"rss": {"version": "2.0", "channel": {"title": "W", "item": []}}}),
            "RSS-in-JSON, not a feed this service reads",
        ),
        (
            json.dumps({"status": "ok", "articles": []}),
            "JSON, not a feed: an object without a JSON Feed version (its keys: 'status', "
            "'articles')",
        ),
        (json.dumps([{"title": "x"}]), "JSON, not a feed: the document is a JSON array"),
        (
            json.dumps({"version": "https://jsonfeed.org/version/2", "items": []}),
            "JSON Feed version '2' is not one this service reads",
        ),
    ],
)
def test_other_json_is_refused_with_a_message_that_says_what_it_is(
    feed_server: FeedServer, tmp_path: Path, body: str, message: str
) -> None:
    feed_server.routes["/feed.json"] = Route(body.encode(), content_type="application/json")
    with Harness(tmp_path, {"Other": feed_server.url("/feed.json")}) as harness:
        harness.cycle()
        state = harness.state("Other")
        assert state.last_status == "error" and harness.items("Other") == []
        assert state.last_error is not None and message in state.last_error, state.last_error


def padded(document: bytes, padding: bytes) -> bytes:
    """`document` with `padding` between its XML declaration and its DOCTYPE."""
    declaration, rest = document.split(b"\n", 1)
    return declaration + b"\n" + padding + b"\n" + rest


def test_a_hostile_dtd_anywhere_in_the_prolog_is_refused(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    long_comment = b"<!--" + b"x" * 70_000 + b"-->"
    markup_comment = b"<!-- <b>a tag in a comment is no root element</b> -->"
    cases = {
        "Laughs After Comment": (padded(billion_laughs(), long_comment), "billion-laughs"),
        "XXE After Comment": (padded(xxe(secret), long_comment), "an XXE document"),
        "Laughs After Markup": (padded(billion_laughs(), markup_comment), "billion-laughs"),
        "Laughs After PIs": (padded(billion_laughs(), b"<?pi x?>\n" * 20_000), "billion-laughs"),
    }
    for name, (body, _) in cases.items():
        feed_server.routes[f"/{len(name)}-{name[:3]}.xml"] = Route(body)
    sources = {name: feed_server.url(f"/{len(name)}-{name[:3]}.xml") for name in cases}
    with Harness(tmp_path / "run", sources) as harness:
        harness.cycle()
        for name, (_, kind) in cases.items():
            state = harness.state(name)
            assert state.last_status == "error", (name, state.last_problem)
            assert state.last_error and state.last_error.startswith("refused: "), name
            assert kind in state.last_error, (name, state.last_error)
            assert harness.items(name) == [], name


def test_one_bad_character_reference_keeps_every_valid_entry(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    entries = [Entry("1", "First story"), Entry("2", "bad @REF@ ref"), Entry("3", "Third story")]
    feed_server.routes["/feed.xml"] = Route(rss(entries).replace(b"@REF@", b"&#xD800;"))
    with Harness(tmp_path, {"Wire": feed_server.url("/feed.xml")}) as harness:
        report = harness.cycle()
        assert [(r.status, r.error) for r in report.sources] == [("new", None)]
        titles = [item["title"] for item in harness.items("Wire")]
        assert titles == ["First story", "bad \ufffd ref", "Third story"]
        problem = harness.state("Wire").last_problem
        assert problem is not None and "&#xD800;" in problem and "U+FFFD" in problem


@pytest.mark.parametrize("name", ["wire.xml", "wire.rss", "wire.atom", "wire"])
def test_a_file_source_shows_no_false_warning(tmp_path: Path, name: str) -> None:
    path = tmp_path / "feeds" / name
    path.parent.mkdir()
    # UTF-8 without an encoding declaration: XML's own default, whatever the suffix.
    path.write_bytes(
        rss([Entry("1", "Café opens in Zürich")]).replace(
            b'<?xml version="1.0" encoding="utf-8"?>\n', b""
        )
    )
    with Harness(tmp_path / "run", {"Local": path.as_uri()}) as harness:
        report = harness.cycle()
        assert [(r.status, r.error) for r in report.sources] == [("new", None)]
        assert harness.state("Local").last_problem is None
        assert [item["title"] for item in harness.items("Local")] == ["Café opens in Zürich"]
