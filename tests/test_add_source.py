"""`aggregator add-source` and `import-opml` against real sites on a loopback server.

Discovery is driven by real HTML pages and real feeds (the e2e fixtures) served over
HTTP; the config file is a real file with comments, read back by the project's loader;
the last test runs a real `aggregator run --watch` and sees it poll the added source.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aggregator.cli import main
from aggregator.config import ConfigError, FetchConfig, load_config
from aggregator.configedit import NewSource, add_sources
from aggregator.sources.discover import COMMON_PATHS, FOLDER_PATHS, NoFeedFound, discover_feed
from tests.conftest import E2E, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer, Route
from tests.servicerun import free_port, running_service

HTML = "text/html; charset=utf-8"
COMMENTED = """\
# The curator's config: every comment and blank line here must survive.
[storage]
url = "sqlite:///{db}"   # beside this file

[fetch]
timeout = 5   # seconds
deadline = 10

# --- the wires -------------------------------------------------
[[sources]]
name = "Test Wire"
url = "{wire}"   # the main one
tags = ["wire"]

# --- topics ----------------------------------------------------
[[topics]]
slug = "car-t"
title = "CAR-T"
include = ["CAR-T"]
"""


def page(head: str = "", body: str = "<p>Our news</p>") -> bytes:
    return (
        f"<!doctype html><html><head><title>Nuvexa</title>{head}</head><body>{body}</body>"
        "</html>".encode()
    )


@pytest.fixture
def site(feed_server: FeedServer) -> FeedServer:
    """The three fixture feeds, plus a newsroom page that links to its Atom feed by a
    relative href and a blog page that links to nothing."""
    serve_e2e_feeds(feed_server)
    link = '<link rel="alternate" type="application/atom+xml" title="News" href="../newsroom.atom">'
    feed_server.routes["/news/index.html"] = Route(page(link), content_type=HTML)
    feed_server.routes["/blog/"] = Route(page(), content_type=HTML)
    feed_server.routes["/blog/feed"] = Route(
        (E2E / "science.rdf").read_bytes(), content_type="application/rdf+xml"
    )
    return feed_server


@pytest.fixture
def config(site: FeedServer, tmp_path: Path) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(COMMENTED.format(db=tmp_path / "store.db", wire=site.url("/wire.rss")))
    return path


def add(config: Path, *args: str) -> int:
    return main(["add-source", *args, "--config", str(config)])


def test_a_page_leads_to_the_feed_it_links_and_the_file_keeps_its_comments(
    site: FeedServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_text()
    assert add(config, site.url("/news/index.html"), "--tags", "biotech,press", "lupus") == 0

    out = capsys.readouterr().out
    assert "added source 'Nuvexa Newsroom (Atom)'" in out
    assert "found via <link rel=alternate> on the page; 2 entries" in out
    after = config.read_text()
    assert after.startswith(before)  # byte for byte: comments, spacing, order
    assert after[len(before) :].startswith("\n# added by `aggregator add-source` on ")
    added = load_config(config).source("Nuvexa Newsroom (Atom)")
    assert added.url == site.url("/newsroom.atom")  # the relative href, resolved
    assert added.tags == ["biotech", "press", "lupus"]
    assert [r.path for r in site.log] == ["/news/index.html", "/newsroom.atom"]  # no guessing


def test_a_page_without_a_link_falls_back_to_the_common_paths_below_it(
    site: FeedServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert add(config, site.url("/blog/"), "--name", "Science blog") == 0

    assert "found via a common feed path" in capsys.readouterr().out
    assert load_config(config).source("Science blog").url == site.url("/blog/feed")
    tried = [r.path for r in site.log]
    assert tried[0] == "/blog/"
    assert len(tried) <= 1 + len(FOLDER_PATHS) + len(COMMON_PATHS)  # bounded


def test_a_site_root_without_a_link_falls_back_to_its_feed_path(
    site: FeedServer, config: Path
) -> None:
    site.routes["/"] = Route(page(), content_type=HTML)
    site.routes["/feed"] = Route(
        (E2E / "newsroom.atom").read_bytes(), content_type="application/atom+xml"
    )
    assert add(config, site.url("/").removesuffix("/")) == 0
    assert load_config(config).source("Nuvexa Newsroom (Atom)").url == site.url("/feed")


def test_no_feed_anywhere_is_one_line_naming_every_url_looked_at(
    feed_server: FeedServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    feed_server.routes["/about"] = Route(b"We make medicines.", content_type="text/plain")
    feed_server.routes["/feed"] = Route(page(), content_type=HTML)  # a page, not a feed
    before = config.read_bytes()

    assert add(config, feed_server.url("/about")) == 1

    # one line (the loopback server's threads may log a dropped keep-alive beside it)
    error = next(line for line in capsys.readouterr().err.splitlines() if "no feed" in line)
    assert error.startswith(f"no feed found at {feed_server.url('/about')} (looked at: ")
    assert f"{feed_server.url('/about')} (not a feed: " in error
    assert f"{feed_server.url('/feed')} (HTML page, not a feed)" in error
    assert f"{feed_server.url('/rss.xml')} (HTTP 404 Not Found)" in error
    assert config.read_bytes() == before


def test_a_host_that_does_not_answer_is_not_guessed_at(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"http://127.0.0.1:{free_port()}/"
    assert add(config, url) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"no feed found at {url} (looked at: {url} (cannot connect")
    assert "/feed" not in error


def test_duplicates_by_url_and_by_name_are_refused_and_nothing_is_written(
    site: FeedServer, config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_bytes()
    other_spelling = site.url("/wire.rss").replace("http://", "HTTP://") + "/"
    assert add(config, other_spelling) == 1
    assert "is already a source: 'Test Wire'" in capsys.readouterr().err
    assert site.log == []  # refused before any fetch

    assert add(config, site.url("/newsroom.atom"), "--name", "Test Wire") == 1
    assert "the name 'Test Wire' is taken" in capsys.readouterr().err
    assert config.read_bytes() == before

    # a name only taken from the feed's title is numbered instead
    outcome = add_sources(
        config, [NewSource("Test Wire", site.url("/newsroom.atom"), name_chosen=False)], note="test"
    )
    assert [s.name for s in outcome.added] == ["Test Wire 2"]


def test_a_config_that_would_not_load_is_never_written(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    broken = '[[topics]]\nslug = "t"\ntitle = "T"\nsources = ["Nobody"]\ninclude = ["x"]\n'
    path.write_text(broken)
    with pytest.raises(ConfigError) as raised:
        add_sources(path, [NewSource("A", "http://a.test/feed")], note="test")
    assert "no source named 'Nobody'" in str(raised.value)
    assert path.read_text() == broken
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aggregator.toml"]  # no temp left


def test_an_inline_sources_array_gets_the_new_source_in_it(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text('# inline\nsources = [{name = "A", url = "http://a.test/feed"}]  # keep\n')
    add_sources(path, [NewSource('B "quoted"', "http://b.test/rss", ("x",))], note="test")
    text = path.read_text()
    assert text.startswith('# inline\nsources = [{name = "A", url = "http://a.test/feed"}, ')
    assert text.rstrip().endswith("# keep")
    assert [(s.name, s.tags) for s in load_config(path).sources] == [
        ("A", []),
        ('B "quoted"', ["x"]),
    ]


OPML = """<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>My reader's subscriptions</title></head>
  <body>
    <outline text="Science" title="Science">
      <outline text="Biotech">
        <outline type="rss" text="Nuvexa" title="Nuvexa Newsroom" xmlUrl="{newsroom}"/>
        <outline type="rss" text="Gone" xmlUrl="{missing}"/>
      </outline>
      <outline type="rss" text="Science Releases" xmlUrl="{science}"/>
    </outline>
    <outline text="Press">
      <outline type="rss" text="Nuvexa again" xmlurl="{newsroom}"/>
      <outline type="rss" text="Wire" xmlUrl="{wire}"/>
    </outline>
  </body>
</opml>
"""


@pytest.fixture
def opml(site: FeedServer, tmp_path: Path) -> Path:
    path = tmp_path / "subscriptions.opml"
    path.write_text(
        OPML.format(
            newsroom=site.url("/newsroom.atom"),
            missing=site.url("/gone.rss"),
            science=site.url("/science.rdf"),
            wire=site.url("/wire.rss"),
        )
    )
    return path


def test_import_opml_files_folders_as_tags_and_skips_known_feeds(
    site: FeedServer, config: Path, opml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = config.read_text()
    assert main(["import-opml", str(opml), "--config", str(config), "--tags", "imported"]) == 0

    out = capsys.readouterr().out
    sources = {s.name: s for s in load_config(config).sources}
    assert sources["Nuvexa Newsroom"].tags == ["Science", "Biotech", "Press", "imported"]
    assert sources["Science Releases"].tags == ["Science", "imported"]
    assert sources["Gone"].url == site.url("/gone.rss")  # not fetched without --check
    assert f"skipped {site.url('/wire.rss')}: already a source: 'Test Wire'" in out
    assert f"listed 2 times: {site.url('/newsroom.atom')}" in out
    assert "4 feeds listed; 3 added" in out and "1 skipped as duplicates" in out
    assert config.read_text().startswith(before)
    assert site.log == []

    # importing the same file again adds nothing and writes nothing
    unchanged = config.read_bytes()
    assert main(["import-opml", str(opml), "--config", str(config)]) == 0
    assert "0 added" in capsys.readouterr().out
    assert config.read_bytes() == unchanged


def test_import_opml_check_adds_only_feeds_that_parse(
    site: FeedServer, config: Path, opml: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-opml", str(opml), "--check", "--config", str(config)]) == 3

    out = capsys.readouterr().out
    assert f"not a feed, not added: {site.url('/gone.rss')} (HTTP 404 Not Found)" in out
    assert {s.name for s in load_config(config).sources} == {
        "Test Wire",
        "Nuvexa Newsroom",
        "Science Releases",
    }


def test_a_watching_service_polls_a_source_added_while_it_runs(
    site: FeedServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.toml", {"Test Wire": site.url("/wire.rss")})
    with running_service(config, "--watch") as service:
        service.wait_for_event(lambda e: e.get("source") == "Test Wire", 20, "the first poll")

        result = run_cli("add-source", site.url("/news/index.html"), "--config", str(config))
        assert "added source 'Nuvexa Newsroom (Atom)'" in result.stdout

        polled = service.wait_for_event(
            lambda e: e.get("source") == "Nuvexa Newsroom (Atom)",
            20,
            "the added source's first poll",
        )
        assert (polled["status"], polled["new"]) == ("new", 2)
        assert any(e["message"] == "config file changed: reloading" for e in service.events())


def test_discovery_gives_up_within_its_time_budget(feed_server: FeedServer) -> None:
    feed_server.routes["/slow"] = Route(page(), content_type=HTML, delay=3)
    started = time.monotonic()
    with pytest.raises(NoFeedFound, match=r"no feed found at .*/slow within 0.5s"):
        asyncio.run(discover_feed(feed_server.url("/slow"), FetchConfig(), budget=0.5))
    assert time.monotonic() - started < 2


def test_the_first_source_creates_the_config_the_service_would_read(
    site: FeedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "new.toml"
    monkeypatch.setenv("AGGREGATOR_CONFIG", str(path))
    assert main(["add-source", site.url("/wire.rss")]) == 0
    assert "(a new file)" in capsys.readouterr().out
    assert [s.url for s in load_config(path).sources] == [site.url("/wire.rss")]

    typo = tmp_path / "typo.toml"  # a --config that does not exist is not created
    assert main(["add-source", site.url("/newsroom.atom"), "--config", str(typo)]) == 1
    assert not typo.exists()


def test_commands_adding_at_once_all_land(tmp_path: Path) -> None:
    path = tmp_path / "aggregator.toml"
    path.write_text("# shared by several scripts\n")

    def adder(worker: int) -> None:
        for number in range(5):
            url = f"http://w{worker}.test/feed/{number}"
            add_sources(path, [NewSource(f"w{worker}-{number}", url)], note="test")

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(adder, range(4)))
    assert len(load_config(path).sources) == 20


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (page(), "not OPML: the document's root is not <opml>"),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<opml><body/></opml>",
            "entit",
        ),
    ],
)
def test_a_file_that_is_no_subscription_list_is_refused_in_one_line(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: bytes,
    message: str,
) -> None:
    before = config.read_bytes()
    listing = tmp_path / "list.opml"
    listing.write_bytes(content)
    assert main(["import-opml", str(listing), "--config", str(config)]) == 1
    error = capsys.readouterr().err
    assert error.startswith(f"{listing}: ") and message in error and error.count("\n") == 1
    assert config.read_bytes() == before
