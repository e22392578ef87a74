"""When a source is polled next: the pure rules, then the stored next_poll over loopback."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from aggregator.sources.fetch import poll_floor_seconds
from aggregator.sources.polling import backoff_interval, mean_gap_seconds, next_interval
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, Harness, rss

NOW = 1_800_000_000.0
HOUR = 3600.0
DAY = 86400.0
BOUNDS = {"base": 300.0, "maximum": 6 * HOUR}


# -- the publishing rate ------------------------------------------------------------------

def test_mean_gap_counts_from_the_oldest_recent_entry_to_now() -> None:
    hourly = [NOW - HOUR * k for k in range(1, 11)]  # ten entries, an hour apart
    assert mean_gap_seconds(hourly, NOW) == pytest.approx(HOUR)
    quiet_since = [t - 5 * DAY for t in hourly]  # same pace, but nothing for five days
    assert mean_gap_seconds(quiet_since, NOW) == pytest.approx((5 * DAY + 10 * HOUR) / 10)


def test_mean_gap_ignores_old_and_future_entries_and_needs_two() -> None:
    assert mean_gap_seconds([], NOW) is None
    assert mean_gap_seconds([NOW - HOUR], NOW) is None
    assert mean_gap_seconds([NOW - 30 * DAY, NOW - 40 * DAY, NOW + DAY], NOW) is None
    assert mean_gap_seconds([NOW - 2 * HOUR, NOW - HOUR, NOW - 30 * DAY], NOW) == HOUR


def test_busy_wires_are_polled_at_the_base_interval_quiet_feeds_at_the_maximum() -> None:
    assert next_interval(**BOUNDS, previous=None, changed=True, mean_gap=60) == 300
    assert next_interval(**BOUNDS, previous=None, changed=True, mean_gap=2 * HOUR) == HOUR
    assert next_interval(**BOUNDS, previous=None, changed=True, mean_gap=3 * DAY) == 6 * HOUR


def test_without_dates_quiet_answers_stretch_the_interval() -> None:
    assert next_interval(**BOUNDS, previous=None, changed=False) == 300
    assert next_interval(**BOUNDS, previous=1000, changed=False) == 1500
    assert next_interval(**BOUNDS, previous=1000, changed=True) == 300
    assert next_interval(**BOUNDS, previous=5 * HOUR, changed=False) == 6 * HOUR


def test_the_configured_interval_is_the_minimum_even_above_the_maximum() -> None:
    assert next_interval(base=7 * HOUR, maximum=6 * HOUR, previous=None,
                         changed=True, mean_gap=60) == 7 * HOUR


def test_without_stretching_the_configured_interval_is_also_the_ceiling() -> None:
    """Issue 15 point 13: `interval = "2m"` must not turn into hours."""
    fixed = {"base": 120.0, "maximum": 120.0}
    assert next_interval(**fixed, previous=None, changed=True, mean_gap=3 * DAY) == 120
    assert next_interval(**fixed, previous=120, changed=False) == 120
    assert next_interval(**fixed, previous=6 * HOUR, changed=False) == 120
    assert next_interval(**fixed, previous=None, changed=True, publisher_floor=6 * HOUR) == 120
    assert next_interval(**fixed, previous=None, changed=True, ttl_minutes=60) == 120


def test_publisher_hints_are_lower_bounds_capped_by_the_ceiling() -> None:
    assert next_interval(**BOUNDS, previous=None, changed=True, publisher_floor=2 * HOUR) == (
        2 * HOUR)
    assert next_interval(**BOUNDS, previous=None, changed=True, ttl_minutes=90) == 90 * 60
    assert next_interval(**BOUNDS, previous=None, changed=True, publisher_floor=60) == 300
    assert next_interval(**BOUNDS, previous=None, changed=True,
                         publisher_floor=365 * DAY) == 6 * HOUR


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(5)
    delays = [backoff_interval(base=60, failures=n, cap=HOUR, rng=rng) for n in range(1, 10)]
    for failures, delay in enumerate(delays[:6], start=1):
        expected = 60 * 2 ** (failures - 1)
        assert 0.8 * expected <= delay <= 1.2 * expected
    assert all(delay <= HOUR for delay in delays) and delays[-1] >= 0.8 * HOUR
    spread = {backoff_interval(base=60, failures=3, cap=HOUR, rng=random.Random(seed))
              for seed in range(20)}
    assert len(spread) == 20  # failing sources do not retry in lock-step


def test_retry_after_is_a_floor_on_the_backoff() -> None:
    assert backoff_interval(base=60, failures=1, cap=DAY, publisher_floor=HOUR) == HOUR
    assert backoff_interval(base=60, failures=1, cap=HOUR, publisher_floor=DAY) == HOUR


# -- the publisher's headers --------------------------------------------------------------

def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


def test_retry_after_counts_on_429_and_503_only() -> None:
    assert poll_floor_seconds({"Retry-After": "120"}, 429) == 120
    assert poll_floor_seconds({"retry-after": http_date(600)}, 503) == pytest.approx(600, abs=2)
    assert poll_floor_seconds({"Retry-After": "120"}, 200) is None
    assert poll_floor_seconds({"Retry-After": "soon"}, 429) is None


def test_cache_control_max_age_then_expires() -> None:
    assert poll_floor_seconds({"Cache-Control": "public, max-age=1800"}, 200) == 1800
    assert poll_floor_seconds({"Cache-Control": "max-age=60", "Expires": http_date(900)},
                              200) == 60
    assert poll_floor_seconds({"Expires": http_date(900)}, 200) == pytest.approx(900, abs=2)
    assert poll_floor_seconds({"Expires": http_date(-900)}, 200) == 0
    assert poll_floor_seconds({"Expires": "0"}, 200) == 0
    assert poll_floor_seconds({"Cache-Control": "no-cache"}, 200) is None


# -- end to end: what the store schedules ------------------------------------------------

def recent(count: int, every: timedelta) -> list[Entry]:
    now = datetime.now(UTC)
    return [Entry(f"e{k}", f"Story {k}", now - every * (k + 1)) for k in range(count)]


def scheduled(harness: Harness, name: str) -> float:
    state = harness.state(name)
    assert state.last_attempt is not None
    return state.next_poll - state.last_attempt


def test_stored_next_poll_honours_every_publisher_hint(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    busy = rss(recent(20, timedelta(minutes=1)))  # alone it would be polled every 60 s
    feed_server.routes["/max-age.xml"] = Route(busy, headers={"Cache-Control": "max-age=7200"})
    feed_server.routes["/expires.xml"] = Route(busy, headers={"Expires": http_date(3 * HOUR)})
    feed_server.routes["/ttl.xml"] = Route(rss(recent(20, timedelta(minutes=1)), ttl=150))
    feed_server.routes["/429.xml"] = Route(b"slow down", status=429, content_type="text/plain",
                                           headers={"Retry-After": "5400"})
    feed_server.routes["/503.xml"] = Route(b"down", status=503, content_type="text/plain",
                                           headers={"Retry-After": http_date(2 * HOUR)})
    feed_server.routes["/plain.xml"] = Route(busy)
    names = ["max-age", "expires", "ttl", "429", "503", "plain"]
    sources = {name: feed_server.url(f"/{name}.xml") for name in names}
    with Harness(tmp_path, sources, fetch={"default_interval": 60,
                                           "max_interval": DAY}) as harness:
        harness.cycle()
        assert scheduled(harness, "max-age") == pytest.approx(7200, abs=1)
        assert scheduled(harness, "expires") == pytest.approx(3 * HOUR, abs=5)
        assert scheduled(harness, "ttl") == pytest.approx(150 * 60, abs=1)
        assert scheduled(harness, "429") == pytest.approx(5400, abs=1)
        assert scheduled(harness, "503") == pytest.approx(2 * HOUR, abs=5)
        assert scheduled(harness, "plain") == pytest.approx(60, abs=1)
        assert harness.state("429").last_error == "HTTP 429 Too Many Requests"


def test_stored_interval_follows_the_publishing_rate(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/busy.xml"] = Route(rss(recent(30, timedelta(minutes=2))))
    feed_server.routes["/hourly.xml"] = Route(rss(recent(24, timedelta(hours=1))))
    feed_server.routes["/quiet.xml"] = Route(rss(recent(3, timedelta(days=2))))
    sources = {name: feed_server.url(f"/{name}.xml") for name in ("busy", "hourly", "quiet")}
    with Harness(tmp_path, sources, fetch={"default_interval": 300,
                                           "max_interval": 6 * HOUR}) as harness:
        harness.cycle()
        assert scheduled(harness, "busy") == pytest.approx(300, abs=1)
        assert scheduled(harness, "hourly") == pytest.approx(HOUR / 2, rel=0.02)
        assert scheduled(harness, "quiet") == pytest.approx(6 * HOUR, abs=1)

        harness.cycle()  # 304s: the publisher said nothing new, so ask a little less often
        assert harness.state("hourly").last_http_status == 304
        assert scheduled(harness, "hourly") == pytest.approx(HOUR / 2 * 1.5, rel=0.02)


def test_a_failing_source_backs_off_exponentially(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/broken.xml"] = Route(b"oops", status=500, content_type="text/plain")
    with Harness(tmp_path, {"broken": feed_server.url("/broken.xml")},
                 fetch={"default_interval": 60, "backoff_max": 200}) as harness:
        delays = []
        for _ in range(4):
            harness.cycle()
            delays.append(scheduled(harness, "broken"))
        state = harness.state("broken")
    assert state.consecutive_failures == 4 and state.last_error == "HTTP 500 Internal Server Error"
    assert 48 <= delays[0] <= 72 and 96 <= delays[1] <= 144
    assert delays[2] <= 200 and delays[3] <= 200


def test_a_configured_interval_is_the_ceiling_unless_stretching_is_allowed(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Issue 15 point 13: a quiet feed (or one with a long max-age) configured at 2
    minutes is polled every 2 minutes; `max_interval` is how a curator lets it stretch."""
    quiet = rss(recent(3, timedelta(days=2)))  # alone it would be polled every 6 h or more
    feed_server.routes["/quiet.xml"] = Route(quiet)
    feed_server.routes["/cached.xml"] = Route(quiet, headers={"Cache-Control": "max-age=21600"})
    feed_server.routes["/stretchy.xml"] = Route(quiet)
    names = ["quiet", "cached", "stretchy"]
    sources = {name: feed_server.url(f"/{name}.xml") for name in names}
    every_2m = {"interval": 120.0}
    with Harness(tmp_path, sources, per_source={
        "quiet": every_2m, "cached": every_2m,
        "stretchy": {**every_2m, "max_interval": 6 * HOUR},
    }) as harness:
        for _ in range(3):  # the first answer, then 304s: still every 2 minutes
            harness.cycle()
            assert scheduled(harness, "quiet") == pytest.approx(120, abs=1)
            assert scheduled(harness, "cached") == pytest.approx(120, abs=1)
            assert scheduled(harness, "stretchy") == pytest.approx(6 * HOUR, abs=1)
        assert harness.state("quiet").last_http_status == 304


def test_a_schedule_from_a_laxer_config_is_brought_forward(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """A poll stored 6 h out under the old default is pulled in to the configured
    interval when the service (or any command) starts with the current config."""
    feed_server.routes["/quiet.xml"] = Route(rss(recent(3, timedelta(days=2))))
    sources = {"quiet": feed_server.url("/quiet.xml")}
    with Harness(tmp_path, sources, fetch={"max_interval": 6 * HOUR},
                 per_source={"quiet": {"interval": 120.0}}) as lax:
        lax.cycle()
        assert scheduled(lax, "quiet") == pytest.approx(6 * HOUR, abs=1)
    with Harness(tmp_path, sources, per_source={"quiet": {"interval": 120.0}}) as strict:
        assert scheduled(strict, "quiet") == pytest.approx(120, abs=1)
        assert strict.state("quiet").poll_interval == 120
