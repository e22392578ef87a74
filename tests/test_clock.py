"""The service's one clock (issue 15 point 16): tests move time by hand instead of sleeping.

The service here is real (its SQLite store, its loopback HTTP fetches); only the clock
it reads is a `ManualClock`, so hours of schedule pass in milliseconds.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator import clock
from aggregator.clock import ManualClock, SystemClock
from aggregator.config import load_config
from aggregator.run.service import Service
from tests.conftest import write_config
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, rss

DAY = 86400.0


def test_a_manual_clock_moves_only_when_told() -> None:
    manual = ManualClock(1_000.0)
    assert (manual.now(), manual.monotonic()) == (1_000.0, 0.0)
    manual.advance(90)
    manual.sleep(30)  # a blocking wait passes at once, as time on this clock
    assert (manual.now(), manual.monotonic()) == (1_120.0, 120.0)
    with pytest.raises(ValueError):
        manual.advance(-1)


def test_use_swaps_the_clock_for_a_block_and_restores_it() -> None:
    assert isinstance(clock.current(), SystemClock)
    with clock.use(ManualClock(0.0)) as manual:
        assert clock.now() == 0.0 and clock.utcnow() == datetime(1970, 1, 1, tzinfo=UTC)
        manual.advance(DAY)
        assert clock.utcnow() == datetime(1970, 1, 2, tzinfo=UTC)
    assert isinstance(clock.current(), SystemClock)
    assert abs(clock.now() - time.time()) < 60


@pytest.fixture
def service(feed_server: FeedServer, tmp_path: Path) -> Service:
    """A worker service polling one quiet feed every 2 minutes (no max_interval)."""
    quiet = [
        Entry(f"q{k}", f"Story {k}", datetime.now(UTC) - timedelta(days=2 * k + 1))
        for k in range(3)
    ]
    feed_server.routes["/quiet.xml"] = Route(rss(quiet))
    config_path = write_config(tmp_path / "config.toml", {"Quiet": feed_server.url("/quiet.xml")})
    config_path.write_text(
        config_path.read_text().replace('name = "Quiet"', 'name = "Quiet"\ninterval = "2m"')
    )
    service = Service(load_config(config_path), config_path, role="worker")
    service.prepare()
    yield service
    service.store.close()


def test_a_quiet_source_is_polled_again_when_its_interval_has_passed(
    service: Service, feed_server: FeedServer
) -> None:
    """Issue 15 point 13 as the running service sees it: two minutes, not six hours."""
    # A whole second: the poll's datetime (to the microsecond) is exactly the clock's.
    with clock.use(ManualClock(float(int(time.time())))) as manual:
        asyncio.run(service.poll_due())
        assert len(feed_server.requests_to("/quiet.xml")) == 1
        manual.advance(119)
        asyncio.run(service.poll_due())  # not due yet: nothing is fetched
        assert len(feed_server.requests_to("/quiet.xml")) == 1
        manual.advance(1)
        asyncio.run(service.poll_due())
        assert len(feed_server.requests_to("/quiet.xml")) == 2
        state = service.store.source_state("Quiet")
        assert state is not None and state.next_poll == pytest.approx(manual.now() + 120)


def test_a_lease_held_by_another_worker_lapses_on_the_clock(service: Service) -> None:
    with clock.use(ManualClock(time.time())) as manual:
        lease = service.lease_seconds
        assert service.store.claim_due_sources("other", clock.now(), lease, ["Quiet"], 10)
        assert asyncio.run(service.poll_due()) is None  # the other worker holds it
        manual.advance(lease + 1)
        report = asyncio.run(service.poll_due())
        assert report is not None and [r.source for r in report.sources] == ["Quiet"]


def test_retention_purges_by_the_clock(service: Service) -> None:
    with clock.use(ManualClock(time.time())) as manual:
        asyncio.run(service.poll_due())
        assert service.store.counts()["items"] == 3
        manual.advance((service.config.storage.retention_days - 4) * DAY)
        asyncio.run(service.purge())  # published 1, 3 and 5 days before: one is now past it
        assert service.store.counts()["items"] == 2
        manual.advance(3 * DAY)
        asyncio.run(service.purge())
        assert service.store.counts()["items"] == 0
