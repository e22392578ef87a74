"""Poll cycles over loopback: URL lifecycle, health, identities, workers and batched writes."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import aggregator.core.process
import aggregator.run.workers
from aggregator import clock
from aggregator.clock import ManualClock
from aggregator.config import parse_config
from aggregator.core.dedupe import Fingerprint
from aggregator.core.match import compile_topics
from aggregator.models import Item, ItemRecord, MergePolicy, PollOutcome, RawEntry
from aggregator.run.cycle import Pipeline, SourceReport, rematch_changed_topics
from aggregator.run.workers import shutdown_pool
from aggregator.run.writes import BatchWriter
from aggregator.store import StoreError
from aggregator.store.sqlite import SQLiteStore
from tests.conftest import run_cli
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, Harness, rss
from tests.test_store import make_item, outcome

FEED = rss([Entry("a", "Kestrel Bio doses first patient"), Entry("b", "Tessaly files BLA")])


def sources_json(harness: Harness) -> dict[str, dict[str, object]]:
    output = run_cli("sources", "--json", "--config", str(harness.config_path)).stdout
    return {row["name"]: row for row in json.loads(output)}


# -- URL lifecycle --------------------------------------------------------------------------

@pytest.mark.parametrize("status", [301, 308])
def test_a_permanent_redirect_moves_the_source_and_says_so(
    feed_server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, status: int
) -> None:
    old, new = feed_server.url("/old.xml"), feed_server.url("/new.xml")
    feed_server.routes["/old.xml"] = Route(status=status, redirect_to=new)
    feed_server.routes["/new.xml"] = Route(FEED)
    with Harness(tmp_path, {"Wire": old}) as harness:
        with caplog.at_level(logging.WARNING, logger="aggregator.poll"):
            report = harness.cycle()
        assert report.sources[0].redirected_to == new and report.sources[0].new == 2
        assert f"source Wire moved permanently: {old} -> {new}" in caplog.text
        state = harness.state("Wire")
        assert (state.url, state.current_url, state.redirected_from) == (old, new, old)

        harness.cycle()
        assert len(feed_server.requests_to("/old.xml")) == 1  # asked at its new address
        assert feed_server.requests_to("/new.xml")[-1].status == 304
        health = sources_json(harness)["Wire"]
        assert (health["url"], health["redirected_from"]) == (new, old)
    table = run_cli("sources", "--config", str(harness.config_path),
                    env={"COLUMNS": "400"}).stdout
    assert f"moved from {old}" in table
    assert "next poll" in table and health["next_poll"] in table  # when it is asked again


def test_a_temporary_redirect_keeps_the_configured_url(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/old.xml"] = Route(status=302, redirect_to=feed_server.url("/new.xml"))
    feed_server.routes["/new.xml"] = Route(FEED)
    with Harness(tmp_path, {"Wire": feed_server.url("/old.xml")}) as harness:
        harness.cycle()
        state = harness.state("Wire")
        assert state.current_url == feed_server.url("/old.xml") and state.redirected_from is None


def test_gone_disables_the_source(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.routes["/gone.xml"] = Route(b"removed", status=410, content_type="text/plain")
    feed_server.routes["/live.xml"] = Route(FEED)
    sources = {"Gone": feed_server.url("/gone.xml"), "Live": feed_server.url("/live.xml")}
    with Harness(tmp_path, sources) as harness:
        first = {r.source: r for r in harness.cycle().sources}
        assert first["Gone"].status == "gone" and first["Live"].status == "new"
        state = harness.state("Gone")
        assert not state.enabled
        assert state.disabled_reason == "410 Gone: the publisher removed this feed"

        second = {r.source: r for r in harness.cycle().sources}
        assert second["Gone"].error == "disabled: 410 Gone: the publisher removed this feed"
        assert len(feed_server.requests_to("/gone.xml")) == 1
        health = sources_json(harness)["Gone"]
        assert health["enabled"] is False and health["last_status"] == "gone"


def test_an_html_page_is_reported_with_the_feed_it_advertises(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/news"] = Route(
        b"<html><head><link rel='alternate' type='application/atom+xml' title='News' "
        b"href='/news/feed.atom'><link rel='stylesheet' href='/s.css'></head></html>",
        content_type="text/html")
    harness = Harness(tmp_path, {"Site": feed_server.url("/news")})
    harness.store.close()
    result = run_cli("poll", "--config", str(harness.config_path), check=False)
    assert result.returncode == 4  # its only source failed
    output = result.stdout
    assert (f"Site: error: HTML page, not a feed; it advertises feeds: "
            f"{feed_server.url('/news/feed.atom')}") in output


# -- health -------------------------------------------------------------------------------

def test_health_is_stored_per_source(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.routes["/good.xml"] = Route(FEED)
    feed_server.routes["/bad.xml"] = Route(b"oops", status=500, content_type="text/plain")
    sources = {"Good": feed_server.url("/good.xml"), "Bad": feed_server.url("/bad.xml")}
    with Harness(tmp_path, sources) as harness:
        before = time.time()
        harness.cycle()
        harness.cycle()
        good, bad = harness.state("Good"), harness.state("Bad")
        health = sources_json(harness)
    assert good.last_attempt and good.last_attempt >= before
    assert good.last_success == good.last_attempt and good.last_status == "unchanged"
    assert good.last_http_status == 304 and good.consecutive_failures == 0
    assert good.items_last_7_days == 2 and good.fetch_count == 2
    assert good.mean_fetch_seconds is not None and 0 < good.mean_fetch_seconds < 5
    assert bad.last_success is None and bad.last_status == "error"
    assert bad.consecutive_failures == 2 and bad.last_error == "HTTP 500 Internal Server Error"
    assert bad.last_http_status == 500
    fields = {"name", "url", "enabled", "last_attempt", "last_success", "last_status",
              "last_http_status", "consecutive_failures", "last_error", "items_last_7_days",
              "mean_fetch_ms", "next_poll"}
    assert fields <= set(health["Good"])
    assert health["Good"]["items_last_7_days"] == 2 and health["Good"]["mean_fetch_ms"] > 0
    assert health["Bad"]["consecutive_failures"] == 2 and health["Bad"]["last_success"] == "-"
    assert health["Bad"]["last_error"] == "HTTP 500 Internal Server Error"


# -- identities and dates -----------------------------------------------------------------

def test_entries_without_dates_guids_or_links_get_stable_ids_and_first_seen_dates(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    dated = datetime(2026, 3, 1, 12, tzinfo=UTC)
    entries = [
        Entry("guid-only", "Has a GUID but no date"),
        Entry(None, "Has only a link", dated, link="https://wire.example/n/1?utm_source=rss"),
        Entry(None, "Has neither GUID nor link", dated),
        Entry(None, None, summary="Nothing but a description of a new CAR-T trial."),
        Entry("future", "Dated next year", datetime.now(UTC) + timedelta(days=365)),
    ]
    feed_server.routes["/feed.xml"] = route = Route(rss(entries))
    url = feed_server.url("/feed.xml")
    with Harness(tmp_path / "one", {"Wire": url}) as one, \
            clock.use(ManualClock(time.time())) as now:
        one.cycle()
        first = {item["item_key"]: item for item in one.items("Wire")}
        route.body = rss([Entry("new", "A later story", dated), *entries])
        now.advance(60)  # the second poll is a minute later: first seen must not move
        one.cycle()
        second = {item["item_key"]: item for item in one.items("Wire")}
    assert set(first) == {"guid:guid-only", "link:https://wire.example/n/1", "guid:future",
                          f"hash:{first_hash(first, 'Has neither GUID nor link')}",
                          f"hash:{first_hash(first, 'Nothing but a description')}"}
    assert set(second) == set(first) | {"guid:new"}
    for key, item in first.items():
        assert second[key]["item_id"] == item["item_id"]  # stable across polls
        assert second[key]["published"] == item["published"]  # first seen, not last seen
    undated = [first["guid:guid-only"], first["guid:future"],
               first[f"hash:{first_hash(first, 'Nothing but a description')}"]]
    assert all(item["published"] == item["first_seen"] for item in undated)
    assert first["link:https://wire.example/n/1"]["published"] == dated.timestamp()
    assert first[f"hash:{first_hash(first, 'Nothing but a description')}"]["title"] == (
        "Nothing but a description of a new CAR-T trial.")

    with Harness(tmp_path / "two", {"Wire": url}) as two:  # another store, same ids
        two.cycle()
        assert {i["item_key"]: i["item_id"] for i in two.items("Wire")} == {
            key: item["item_id"] for key, item in second.items()}


def first_hash(items: dict[str, dict[str, object]], title_start: str) -> str:
    return next(key for key, item in items.items()
                if str(item["title"]).startswith(title_start)).removeprefix("hash:")


# -- processing -----------------------------------------------------------------------------

def wire_feeds(server: FeedServer, count: int) -> dict[str, str]:
    now = datetime.now(UTC)
    sources = {}
    for index in range(count):
        entries = [Entry(f"w{index}-{k}", f"Wire {index} story {k} on CAR-T in lupus",
                         now - timedelta(hours=k), summary=f"Text {index} {k} of a release.")
                   for k in range(5)]
        server.routes[f"/w{index}.xml"] = Route(rss(entries))
        sources[f"Wire {index}"] = server.url(f"/w{index}.xml")
    return sources


def stored_state(harness: Harness) -> list[tuple[object, ...]]:
    with harness.store.transaction(write=False) as cur:
        cur.execute("SELECT i.item_id, i.story_id, i.title, i.summary_html, i.fingerprint, "
                    "m.topic, m.hits FROM items i LEFT JOIN matches m ON m.item_id = i.item_id "
                    "ORDER BY i.item_id, m.topic")
        return [tuple(row) for row in cur.fetchall()]


def test_worker_processes_store_what_the_polling_process_stores(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    sources = wire_feeds(feed_server, 10)  # enough sources for a cycle to use workers
    try:
        with Harness(tmp_path / "workers", sources, fetch={"workers": 2}) as pooled:
            report = pooled.cycle()
            assert report.count("new") == 10 and report.total("new") == 50
            in_workers = stored_state(pooled)
            # The workers never load the config models: pydantic is ~11 MB per process.
            pool = aggregator.run.workers._shared_pool(2)
            maps = [Path(f"/proc/{pid}/maps").read_text() for pid in pool._processes]
            assert len(maps) == 2 and all("_pydantic_core" not in text for text in maps)
            assert all("lxml" in text for text in maps)  # the probe sees their imports
    finally:
        shutdown_pool()
    with Harness(tmp_path / "thread", sources, fetch={"workers": 0}) as threaded:
        threaded.cycle()
        assert stored_state(threaded) == in_workers
    assert any(row[5] == "car-t-lupus" for row in in_workers)


def test_idle_document_workers_stop_and_the_next_large_cycle_starts_them_again(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aggregator.run.workers, "POOL_IDLE_SECONDS", 0.5)
    sources = wire_feeds(feed_server, 10)  # enough sources for a cycle to use workers
    try:
        with Harness(tmp_path / "first", sources, fetch={"workers": 2}) as first:
            first.cycle()
        pool = aggregator.run.workers._pool
        assert pool is not None
        workers = list(pool._processes)
        deadline = time.monotonic() + 10
        while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert aggregator.run.workers._pool is None and not any(_running(p) for p in workers)
        with Harness(tmp_path / "again", sources, fetch={"workers": 2}) as again:
            assert again.cycle().total("new") == 50
        assert aggregator.run.workers._pool is not None and aggregator.run.workers._pool is not pool
    finally:
        shutdown_pool()


def test_a_worker_spawned_by_the_aggregator_command_does_not_load_the_cli() -> None:
    # A spawned worker runs its parent's main module first, as "__mp_main__": for the
    # service that is the `aggregator` console script, which must stay light.
    script = Path(sys.executable).parent / "aggregator"
    assert script.exists(), "the package is installed with its console script"
    probe = (f"import runpy, sys; runpy.run_path({str(script)!r}, run_name='__mp_main__'); "
             "print(sorted({'aggregator.cli', 'pydantic', 'httpx'} & set(sys.modules)))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            check=True, timeout=30).stdout.strip()
    assert loaded == "[]"


POOL_THEN_WAIT = """
import os, sys, time
from aggregator.run.workers import _shared_pool
pool = _shared_pool(2)
list(pool.map(abs, [-1, -2, -3, -4]))  # the workers have started and taken work
print(" ".join(str(pid) for pid in pool._processes), flush=True)
time.sleep(60)
"""


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting for init to reap it is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_document_workers_exit_when_the_polling_process_is_killed() -> None:
    polling = subprocess.Popen([sys.executable, "-c", POOL_THEN_WAIT], stdout=subprocess.PIPE,
                               text=True, cwd=Path(__file__).resolve().parent.parent)
    try:
        assert polling.stdout is not None
        workers = [int(pid) for pid in polling.stdout.readline().split()]
        assert len(workers) == 2 and all(_running(pid) for pid in workers)
    finally:
        polling.kill()  # SIGKILL: no atexit, no pool shutdown
        polling.wait(10)
    deadline = time.monotonic() + 10
    while any(_running(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    orphans = [pid for pid in workers if _running(pid)]
    for pid in orphans:  # leave the machine clean even when the test fails
        os.kill(pid, signal.SIGKILL)
    assert not orphans


def test_unchanged_entries_are_not_processed_again(
    feed_server: FeedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # CAR-T: the harness's topics' terms occur in them, so they are fingerprinted.
    entries = [Entry(f"e{k}", f"CAR-T story {k}", datetime(2026, 3, 1, k, tzinfo=UTC))
               for k in range(6)]
    feed_server.routes["/feed.xml"] = route = Route(rss(entries))
    normalized: list[str | None] = []
    fingerprinted: list[str] = []
    normalize, fingerprint = (aggregator.core.process.normalize_entry,
                              aggregator.core.process.fingerprint_item)

    def counting_normalize(source: str, entry: RawEntry, seen_at: datetime) -> Item:
        normalized.append(entry.guid)
        return normalize(source, entry, seen_at)

    def counting_fingerprint(item: Item) -> Fingerprint:
        fingerprinted.append(item.key)
        return fingerprint(item)

    monkeypatch.setattr(aggregator.core.process, "normalize_entry", counting_normalize)
    monkeypatch.setattr(aggregator.core.process, "fingerprint_item", counting_fingerprint)
    url = feed_server.url("/feed.xml")
    with Harness(tmp_path / "one", {"Wire": url}) as harness:
        harness.cycle()
        assert len(normalized) == len(fingerprinted) == 6
        normalized.clear()
        fingerprinted.clear()
        edited = Entry("e2", "CAR-T story 2, corrected", entries[2].published)
        route.body = changed = rss([Entry("e6", "CAR-T story 6"), *entries[:2], edited,
                                    *entries[3:]])
        report = harness.cycle().sources[0]
        assert sorted(normalized) == ["e2", "e6"] and sorted(fingerprinted) == [
            "guid:e2", "guid:e6"]
        assert (report.status, report.new, report.updated, report.entries) == ("new", 1, 1, 7)
    normalized.clear()
    fingerprinted.clear()
    with Harness(tmp_path / "two", {"Wire": url}) as restarted:  # a new process: store hashes
        route.body = rss(entries)
        restarted.cycle()
        route.body = changed
        restarted.pipeline = Pipeline(restarted.config, restarted.store)
        restarted.cycle()
    assert len(normalized) == 6 + 7 and sorted(fingerprinted[6:]) == ["guid:e2", "guid:e6"]


FIRST, SECOND = Entry("dup", "The first entry"), Entry("dup", "The second entry")


def repoll_a_repeated_key(feed_server: FeedServer, tmp_path: Path,
                          then: list[Entry]) -> tuple[list[str], SourceReport]:
    """Poll a feed whose two entries share a key, then the feed `then`: the stored
    titles and the second poll's report."""
    feed_server.routes["/feed.xml"] = route = Route(rss([FIRST, SECOND]))
    with Harness(tmp_path, {"Wire": feed_server.url("/feed.xml")}) as harness:
        harness.cycle()
        route.body = rss(then)
        report = harness.cycle().sources[0]
        return [item["title"] for item in harness.items("Wire")], report


def test_a_repeated_key_keeps_the_first_entry_when_only_a_later_one_changes(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    titles, report = repoll_a_repeated_key(
        feed_server, tmp_path, [FIRST, Entry("dup", "The second entry, edited")])
    assert titles == ["The first entry"]
    assert (report.status, report.entries) == ("unchanged", 1)


def test_a_later_entry_sharing_a_key_is_written_once_it_stands_alone(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    # The entry that lost the key is now the only one.
    titles, report = repoll_a_repeated_key(feed_server, tmp_path, [SECOND])
    assert titles == ["The second entry"]
    assert (report.status, report.updated) == ("updated", 1)


def test_sources_queued_behind_a_busy_host_leave_the_other_hosts_free(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    if socket.gethostbyname("localhost") != "127.0.0.1":
        pytest.skip("localhost does not resolve to 127.0.0.1 here")
    busy = {}
    for n in range(6):  # listed first, one host, one request at a time: ~3 s in all
        feed_server.routes[f"/busy-{n}.xml"] = Route(FEED, delay=0.5)
        busy[f"Busy {n}"] = feed_server.url(f"/busy-{n}.xml")
    feed_server.routes["/other.xml"] = Route(FEED)
    other = f"http://localhost:{feed_server.port}/other.xml"
    finished: list[str] = []
    with Harness(tmp_path, {**busy, "Other": other},
                 fetch={"concurrency": 2, "per_host": 1, "workers": 0}) as harness:
        asyncio.run(harness.pipeline.run_cycle(on_source=lambda r: finished.append(r.source)))
    assert sorted(finished) == sorted([*busy, "Other"])
    # Waiting for 127.0.0.1, the busy sources hold no global slot: the other host's
    # source is polled at once, before even the first busy one (0.5 s) is answered.
    assert finished[0] == "Other"


def test_the_next_sources_are_fetched_while_a_poll_is_being_written(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """A slow write must not idle fetching and processing: with one fetch slot, the
    second source is fetched while the first one's write is still running."""
    feed_server.routes["/first.xml"] = Route(FEED)
    feed_server.routes["/second.xml"] = Route(FEED)
    sources = {"First": feed_server.url("/first.xml"), "Second": feed_server.url("/second.xml")}
    with Harness(tmp_path, sources, fetch={"concurrency": 1, "workers": 0}) as harness:
        record_polls = harness.store.record_polls
        fetched_during_write: list[bool] = []

        def slow_record_polls(outcomes, policy):  # type: ignore[no-untyped-def]
            if not fetched_during_write:  # the first write waits for the second fetch
                deadline = time.monotonic() + 5
                while not feed_server.requests_to("/second.xml") and time.monotonic() < deadline:
                    time.sleep(0.01)
                fetched_during_write.append(bool(feed_server.requests_to("/second.xml")))
            return record_polls(outcomes, policy)

        harness.store.record_polls = slow_record_polls  # type: ignore[method-assign]
        report = asyncio.run(harness.pipeline.run_cycle())
    assert [r.status for r in report.sources] == ["new", "new"]
    assert fetched_during_write == [True]


class PoisonedStore(SQLiteStore):
    """A store that cannot write one source's poll (as a bug or a constraint would)."""

    def _write_source(self, cur, outcome, report):  # type: ignore[no-untyped-def]
        if outcome.source == "Poison":
            raise ValueError("cannot store this poll")
        super()._write_source(cur, outcome, report)


def test_one_unwritable_poll_does_not_sink_its_batch(tmp_path: Path) -> None:
    store = PoisonedStore(tmp_path / "store.db")
    store.migrate()
    names = ["One", "Poison", "Two"]
    store.sync_sources([(name, f"http://127.0.0.1/{name}") for name in names])

    async def write_all() -> list[object]:
        async with BatchWriter(store, MergePolicy()) as writer:
            return await asyncio.gather(*(
                writer.write(PollOutcome(name, time.time(), "not_modified", 0.1, time.time()))
                for name in names), return_exceptions=True)

    one, poison, two = asyncio.run(write_all())
    assert isinstance(poison, ValueError)
    assert not isinstance(one, Exception) and not isinstance(two, Exception)
    states = {state.name: state for state in store.source_states()}
    assert states["One"].last_status == "unchanged" and states["Two"].fetch_count == 1
    assert states["Poison"].fetch_count == 0
    store.close()


class UnreachableStore(SQLiteStore):
    """A store whose database went away: every write fails, after a moment."""

    def record_polls(self, outcomes, policy):  # type: ignore[no-untyped-def]
        time.sleep(0.05)
        raise StoreError("the database is unreachable")


def test_a_cycle_the_store_ends_leaves_no_poll_waiting(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/fast.xml"] = Route(FEED)
    feed_server.routes["/slow.xml"] = Route(FEED, delay=0.5)  # fetched after the failure
    with Harness(tmp_path, {"Fast": feed_server.url("/fast.xml"),
                            "Slow": feed_server.url("/slow.xml")}) as harness:
        store = UnreachableStore(tmp_path / "store.db")
        pipeline = Pipeline(harness.config, store)

        async def cycle_then_leftovers() -> list[asyncio.Task[object]]:
            with pytest.raises(StoreError):
                await asyncio.wait_for(pipeline.run_cycle(), 10)
            return [task for task in asyncio.all_tasks()
                    if task is not asyncio.current_task() and not task.done()]

        assert asyncio.run(cycle_then_leftovers()) == []
        store.close()


def test_a_stopped_writer_refuses_writes_instead_of_hanging(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "store.db")
    store.migrate()

    async def write_after_close() -> None:
        async with BatchWriter(store, MergePolicy()) as writer:
            pass
        await asyncio.wait_for(
            writer.write(PollOutcome("Late", time.time(), "not_modified", 0.1, time.time())), 5)

    with pytest.raises(StoreError, match="cycle ended"):
        asyncio.run(write_after_close())
    store.close()


def test_a_new_topic_merges_out_of_scope_copies_across_re_match_pages(tmp_path: Path) -> None:
    """The re-match reads stored items a page at a time, oldest first, and joins the
    out-of-scope ones page by page: copies in later pages join the story the first
    copy founded, and every match points at that story."""
    title = "Orbital Pharma Completes Enrollment in Phase 3 Psoriasis Trial of ORB-114"
    text = ("Orbital Pharma today announced that it has completed enrollment of 640 "
            "patients in its Phase 3 trial of ORB-114 in moderate to severe psoriasis.")
    first = datetime.now(UTC) - timedelta(days=1)
    copies = [make_item(f"Wire {n}", f"guid:{n}", prefix + title, text,
                        published=first + timedelta(hours=n))
              for n, prefix in enumerate(["", "PRESS RELEASE: ", "", "UPDATE: "])]
    store = SQLiteStore(tmp_path / "store.db")
    store.migrate()
    store.sync_sources([(item.source, f"https://{n}.example/f") for n, item in
                        enumerate(copies)])
    for item in copies:  # out of every topic's scope when stored: a story each
        store.record_poll(outcome(item.source, [ItemRecord(item, None, {})]), MergePolicy())
    config = parse_config({
        "sources": [{"name": item.source, "url": f"https://{n}.example/f"}
                    for n, item in enumerate(copies)],
        "topics": [{"slug": "psoriasis", "title": "Psoriasis", "include": ["psoriasis"]}],
    })
    store.items_since = functools.partial(SQLiteStore.items_since, store, batch=1)
    try:
        assert rematch_changed_topics(config, store, compile_topics(config.topics)) == {
            "psoriasis": 4}
        [story] = store.topic_stories("psoriasis", 10)
        assert story.story_id == copies[0].item_id
        assert sorted(copy.source for copy in story.copies) == ["Wire 1", "Wire 2", "Wire 3"]
        with store.transaction(write=False) as cur:
            cur.execute("SELECT DISTINCT story_id FROM matches")
            assert cur.fetchall() == [(copies[0].item_id,)]
    finally:
        store.close()
