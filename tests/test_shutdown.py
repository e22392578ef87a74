"""Graceful stop: SIGTERM/SIGINT during a poll, over real HTTP and a real process.

A stopping service takes no new polls, gives the poll in flight `shutdown_grace`
seconds, then cancels it; every source's poll is one transaction, so the store holds
each source's poll whole or not at all, the process exits 0, and the next poll
completes the set exactly once.
"""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer, Route
from tests.servicerun import ServiceProcess, running_service

FAST_ITEMS = {"Test Wire": 3, "Nuvexa Newsroom": 2, "Science Releases": 2}
SLOW = "Slow Harbour Wire"
SLOW_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel>
<title>Slow Harbour Wire</title><link>https://harbour.example.com/</link>
<description>Port news</description>
<item><title>Harbour authority approves a second ferry terminal</title>
<link>https://harbour.example.com/news/ferry-terminal</link><guid>harbour-1</guid>
<pubDate>Mon, 03 Nov 2025 10:00:00 GMT</pubDate>
<description>The terminal opens in spring with four berths.</description></item>
<item><title>Dredging of the outer channel finishes early</title>
<link>https://harbour.example.com/news/dredging</link><guid>harbour-2</guid>
<pubDate>Tue, 04 Nov 2025 09:30:00 GMT</pubDate>
<description>Container ships with deeper drafts can now call at night.</description></item>
</channel></rss>
"""


def slow_setup(server: FeedServer, tmp_path: Path, delay: float) -> Path:
    """The three e2e feeds, answered at once, and one that waits `delay` seconds."""
    sources = serve_e2e_feeds(server)
    server.routes["/slow.rss"] = Route(SLOW_FEED, delay=delay)
    sources[SLOW] = server.url("/slow.rss")
    return write_config(tmp_path / "config.toml", sources)


def stored(config: Path) -> dict[str, dict[str, object]]:
    """Each source's row of `aggregator sources --json`, by name."""
    rows = json.loads(run_cli("sources", "--json", "--config", str(config)).stdout)
    return {row["name"]: row for row in rows}


def wait_for_fast_sources(service: ServiceProcess) -> None:
    """Return once the fast sources are committed, i.e. while the slow one is in flight."""
    for name in FAST_ITEMS:
        service.wait_for_event(
            lambda e, name=name: e.get("event") == "poll" and e["source"] == name, 20,
            f"the poll event of {name}",
        )


def stop_and_time(service: ServiceProcess, sig: int) -> tuple[int, float]:
    started = time.monotonic()
    service.signal(sig)
    code = service.wait_exit(timeout=30)
    return code, time.monotonic() - started


def test_sigterm_past_the_grace_cancels_the_slow_poll_and_loses_nothing(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    grace = 1.5
    config = slow_setup(feed_server, tmp_path, delay=20)
    with running_service(config, env={"AGGREGATOR_SHUTDOWN_GRACE": str(grace)}) as service:
        wait_for_fast_sources(service)
        code, took = stop_and_time(service, signal.SIGTERM)
        log = service.log_text()

    assert code == 0, log
    assert grace * 0.9 <= took < grace + 10, f"stopped after {took:.1f}s"
    assert "cancelling it" in log
    assert not [e for e in service.events() if e["level"] == "error"]  # a stop, not a failure
    assert not any(e["source"] == SLOW for e in service.poll_events())

    rows = stored(config)
    for name, count in FAST_ITEMS.items():  # whole
        assert rows[name]["items_last_7_days"] == count
        assert rows[name]["last_status"] is not None
    assert rows[SLOW]["items_last_7_days"] == 0  # or nothing at all
    assert rows[SLOW]["last_attempt"] == "-"

    feed_server.routes["/slow.rss"].delay = 0
    output = run_cli("poll", "--config", str(config)).stdout
    assert f"{SLOW}: 2 new" in output
    for name in FAST_ITEMS:
        assert f"{name}: unchanged: 0 new, 0 updated" in output
    after = stored(config)
    assert {name: row["items_last_7_days"] for name, row in after.items()} == {
        **FAST_ITEMS, SLOW: 2,
    }


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_lets_the_poll_in_flight_finish_within_the_grace(
    feed_server: FeedServer, tmp_path: Path, sig: int
) -> None:
    delay = 3.0
    config = slow_setup(feed_server, tmp_path, delay=delay)
    with running_service(config) as service:  # default grace: 8 s
        wait_for_fast_sources(service)
        code, took = stop_and_time(service, sig)
        lines = service.events()

    assert code == 0, "\n".join(map(str, lines))
    assert took < delay + 5, f"stopped after {took:.1f}s"
    messages = [e["message"] for e in lines]
    shutting_down = messages.index("Shutting down")
    slow_poll = next(i for i, e in enumerate(lines)
                     if e.get("event") == "poll" and e["source"] == SLOW)
    assert slow_poll > shutting_down, "the slow poll should end after the signal"
    assert lines[slow_poll]["status"] == "new" and lines[slow_poll]["new"] == 2
    assert not any("cancelling" in m for m in messages)
    assert messages[-1] == "stopped"
    assert stored(config)[SLOW]["items_last_7_days"] == 2

