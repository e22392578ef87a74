"""Publish-to-feed latency: WebSub push against polling, all on 127.0.0.1.

Run: python bench/bench_websub.py [--trials 3] [--interval 10]

What: a publisher (tests/feedserver.py) adds one CAR-T-in-lupus story to its RSS feed;
the latency is the time from that moment to the story's first appearance in the
service's Atom topic feed (read every 10 ms). The service runs as `aggregator run`
would (role all: scheduler and web app in one process) in two set-ups:

* push: the feed names a hub (tests/websubhub.py, written from the W3C spec); the
  service subscribed at start. Publishing is the feed change plus the ping to the hub
  (hub.mode=publish); the hub fetches the feed and POSTs it, signed, to the callback.
* poll: no hub; the source is polled every `--interval` seconds (the scheduler looks
  for due sources every 5 s) and each story is published at a random point of that
  schedule, so it waits on average about half an interval plus half a tick.

Each set-up runs `--trials` publications (median reported) on a fresh store; a trial
gives up after interval + 15 s, so the whole bench is bounded (under two minutes with
the defaults). Target: push median under 1 s, and below the polling median.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.feedserver import FeedServer, Route  # noqa: E402
from tests.liveserver import free_port, serve, story_feed  # noqa: E402
from tests.websubhub import running_hub, write_websub_config  # noqa: E402

PUSH_TARGET_SECONDS = 1.0
SETTLE_TIMEOUT = 30.0


def wait_until(check: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `check()` holds (checked every 10 ms), or None past `timeout`."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if check():
            return time.perf_counter() - started
        time.sleep(0.01)
    return None


def run(mode: str, trials: int, interval: float) -> list[float | None]:
    """Latencies of `trials` publications in `mode` ("push" or "poll")."""
    latencies: list[float | None] = []
    with tempfile.TemporaryDirectory() as folder, FeedServer() as publisher, running_hub() as hub:
        topic = publisher.url("/wire.rss")
        headers = {"Link": f'<{hub.url}>; rel="hub", <{topic}>; rel="self"'}
        publisher.routes["/wire.rss"] = Route(
            story_feed(1), headers=headers if mode == "push" else {}
        )
        port = free_port()
        config = write_websub_config(Path(folder), port, topic, interval=f"{interval}s")
        with serve(config, port=port, role="all") as live:
            feed = live.url("/feeds/car-t-lupus.atom")
            store = live.service.store
            settled = wait_until(
                lambda: (
                    store.topic_story_count("car-t-lupus") == 1
                    and (mode == "poll" or any(s.state == "active" for s in store.subscriptions()))
                ),
                SETTLE_TIMEOUT,
            )
            if settled is None:
                raise SystemExit(f"{mode}: the first poll (and subscription) never settled")
            rng = random.Random(19)
            for trial in range(trials):
                if mode == "poll":  # publish at a random point of the poll schedule
                    time.sleep(rng.uniform(0, interval))
                marker = f"study {trial + 1} in lupus"
                publisher.routes["/wire.rss"].body = story_feed(trial + 2)
                published = time.perf_counter()
                if mode == "push":  # the publisher pings its hub, as WebSub publishers do
                    threading.Thread(target=hub.publish, args=([topic],), daemon=True).start()
                seen = wait_until(lambda m=marker: m in httpx.get(feed).text, interval + 15)
                latencies.append(None if seen is None else time.perf_counter() - published)
                print(
                    f"  {mode} trial {trial + 1}: "
                    + ("timed out" if seen is None else f"{latencies[-1] * 1000:.0f} ms"),
                    flush=True,
                )
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--interval", type=float, default=10.0, help="poll interval, seconds")
    args = parser.parse_args()
    medians = {}
    for mode in ("push", "poll"):
        latencies = run(mode, args.trials, args.interval)
        done = [value for value in latencies if value is not None]
        medians[mode] = statistics.median(done) if len(done) == len(latencies) else None
    print(f"\n{'mode':<6}{'median publish-to-feed':>26}")
    for mode, median in medians.items():
        shown = "timed out" if median is None else f"{median * 1000:.0f} ms"
        print(f"{mode:<6}{shown:>26}")
    push, poll = medians["push"], medians["poll"]
    ok = push is not None and push < PUSH_TARGET_SECONDS and (poll is None or push < poll)
    print(
        f"target: push < {PUSH_TARGET_SECONDS:.0f} s and below polling: "
        + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
