"""Per-topic webhooks end to end over loopback: the service polls a real feed server,
and a receiver in the test checks each POST's HMAC-SHA256 signature, answers the first
one with a 500 (the delivery is tried again) and the rest with 204; /readyz reports the
deliveries. The receiver holds its first answer until the test has read the new stories
from the service's feed: a slow receiver never holds up polling or serving."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from aggregator.run.service import Service
from tests.conftest import write_config
from tests.feedserver import FeedServer, Route
from tests.liveserver import serve, story_feed

SECRET = "s3cret-for-the-receiver-only"
TOPIC = """
[[topics]]
slug = "car-t"
title = "CAR-T"
include = ["CAR-T"]
webhook = "{url}"
"""


@dataclass
class Receiver:
    """A webhook endpoint on 127.0.0.1 that records every POST and its answer."""

    release_first: threading.Event = field(default_factory=threading.Event)
    received: list[tuple[dict[str, str], bytes, int]] = field(default_factory=list)
    arrived: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.arrived += 1
                    first = receiver.arrived == 1
                if first:
                    receiver.release_first.wait(20)
                status = 500 if first else 204
                with receiver.lock:
                    receiver.received.append((dict(self.headers), body, status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release_first.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def wait_for(check, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
    return result


def quick_retries(service: Service) -> None:
    service.notifier.backoff_first = 0.2


def test_new_stories_are_posted_signed_and_retried_after_a_500(
    tmp_path: Path, monkeypatch: object
) -> None:
    monkeypatch.setenv("AGGREGATOR_WEBHOOK_SECRET_CAR_T", SECRET)  # type: ignore[attr-defined]
    with FeedServer() as feeds, Receiver() as receiver:
        feeds.routes["/wire.rss"] = Route(story_feed(3))
        config = write_config(
            tmp_path / "config.toml",
            {"Wire": feeds.url("/wire.rss")},
            topics=TOPIC.format(url=receiver.url),
        )
        with serve(config, role="all", setup=quick_retries) as live:
            client = live.client()
            feed = wait_for(
                lambda: json.loads(client.get("/feeds/car-t.json").content)["items"] or None
            )
            # The poll committed and the feed is served while the receiver still holds
            # the first delivery that reached it.
            assert len(feed) == 3 and all(status != 500 for *_, status in receiver.received)
            receiver.release_first.set()
            wait_for(lambda: len(receiver.received) == 4)
            ready = wait_for(
                lambda: (
                    (r := client.get("/readyz").json())["webhooks"]["car-t"]["delivered"] == 3 and r
                )
            )
            page = client.get("/").text
            client.close()

    for headers, body, _ in receiver.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(headers["X-Aggregator-Signature"], expected)
        assert headers["Content-Type"] == "application/json"
    deliveries = [headers["X-Aggregator-Delivery"] for headers, _, _ in receiver.received]
    assert sorted(status for _, _, status in receiver.received) == [204, 204, 204, 500]
    refused_id = next(h for h, _, status in receiver.received if status == 500)
    assert deliveries.count(refused_id["X-Aggregator-Delivery"]) == 2  # it came again
    assert len(set(deliveries)) == 3
    payloads = {json.loads(body)["title"] for _, body, _ in receiver.received}
    assert payloads == {item["title"] for item in feed}
    [refused] = [body for _, body, status in receiver.received if status == 500]
    first = json.loads(refused)
    assert first["topic"]["slug"] == "car-t" and first["link"].startswith("https://wire.")
    status = ready["webhooks"]["car-t"]
    assert status["pending"] == 0 and status["failed"] == 0
    assert status["last_delivered"] is not None
    assert "webhook: 3 delivered, 0 pending, 0 given up; last delivered" in page
    assert "last error" not in page and status["last_error"] is None  # the retry cleared it


def test_a_forged_body_fails_the_signature_check() -> None:
    from aggregator.run.webhooks import sign

    body = b'{"title": "real"}'
    assert sign(SECRET, body) != sign(SECRET, b'{"title": "forged"}')
    assert sign(SECRET, body) != sign("another-secret-of-16+", body)
