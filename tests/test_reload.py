"""Config reload without a restart, on SIGHUP and with --watch, in a real process.

Sources and topics change while the service keeps serving; a config with mistakes is
rejected with every mistake logged, and the running config stays in force.
"""

from __future__ import annotations

import signal
from pathlib import Path

from lxml import etree

from tests.conftest import TOPICS_TOML, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.servicerun import ServiceProcess, running_service, wait_until

ATOM = "{http://www.w3.org/2005/Atom}"
CAR_T_TOPIC = """
[[topics]]
slug = "car-t"
title = "CAR-T cell therapy"
include = ["@car_t"]
"""
MISTAKES = """
[[topics]]
slug = "Not A Slug"
title = "Broken"
include = ["ferry"]
"""


def entry_titles(service: ServiceProcess, slug: str) -> list[str]:
    status, body = service.get(f"/feeds/{slug}.atom")
    assert status == 200, body
    return [e.findtext(f"{ATOM}title") for e in etree.fromstring(body).findall(f"{ATOM}entry")]


def reloaded(service: ServiceProcess, count: int) -> bool:
    return sum(e["message"].startswith("config reload") for e in service.events()) >= count


def test_sighup_adds_a_source_and_a_topic(feed_server: FeedServer, tmp_path: Path) -> None:
    feeds = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", {"Test Wire": feeds["Test Wire"]})
    with running_service(config) as service:
        service.wait_for_event(lambda e: e.get("source") == "Test Wire", 20, "the first poll")
        assert service.get("/feeds/car-t.atom")[0] == 404
        assert feed_server.requests_to("/newsroom.atom") == []

        write_config(config, {"Test Wire": feeds["Test Wire"],
                              "Nuvexa Newsroom": feeds["Nuvexa Newsroom"]},
                     topics=TOPICS_TOML + CAR_T_TOPIC)
        service.signal(signal.SIGHUP)
        service.wait_for_event(lambda e: e["message"].startswith("config reloaded"), 10,
                               "the reload")
        # The new topic is matched against stored items at once, and the new source
        # is polled on the next tick without a restart.
        assert entry_titles(service, "car-t")
        polled = service.wait_for_event(lambda e: e.get("source") == "Nuvexa Newsroom", 20,
                                        "the new source's poll")
        assert (polled["status"], polled["new"]) == ("new", 2)
        assert len(feed_server.requests_to("/wire.rss")) == 1  # the old one was not re-polled


def test_bad_config_is_rejected_and_the_old_one_keeps_running(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    with running_service(config) as service:
        wait_until(lambda: len(service.poll_events()) == 3, 20, "the first cycle")
        before = entry_titles(service, "car-t-lupus")
        good = config.read_text()

        config.write_text(good + MISTAKES + "\n[dedupe]\nthreshold = 2\n")
        service.signal(signal.SIGHUP)
        rejected = service.wait_for_event(
            lambda e: e["message"].startswith("config reload rejected"), 10, "the rejection")

        assert rejected["level"] == "error"
        assert "topics[1].slug: not a slug: 'Not A Slug'" in rejected["message"]
        assert "dedupe.threshold: " in rejected["message"]
        assert service.get("/healthz")[0] == 200
        assert service.get("/readyz")[0] == 200
        assert entry_titles(service, "car-t-lupus") == before
        assert service.get("/feeds/not-a-slug.atom")[0] == 404

        config.write_text(good + CAR_T_TOPIC)  # fixed: the next reload takes it
        service.signal(signal.SIGHUP)
        wait_until(lambda: reloaded(service, 2), 10, "the second reload")
        assert service.get("/feeds/car-t.atom")[0] == 200


def test_watch_reloads_when_the_file_changes(feed_server: FeedServer, tmp_path: Path) -> None:
    feeds = serve_e2e_feeds(feed_server)
    config = write_config(tmp_path / "config.toml", feeds)
    with running_service(config, "--watch") as service:
        wait_until(lambda: len(service.poll_events()) == 3, 20, "the first cycle")
        assert service.get("/feeds/car-t.atom")[0] == 404

        write_config(config, feeds, topics=TOPICS_TOML + CAR_T_TOPIC)  # no signal
        service.wait_for_event(lambda e: e["message"].startswith("config reloaded"), 15,
                               "the watcher's reload")
        assert service.get("/feeds/car-t.atom")[0] == 200
        assert any(e["message"] == "config file changed: reloading" for e in service.events())
