"""A WebSub hub on 127.0.0.1 for tests, written from the W3C Recommendation.

No maintained hub in the registries runs offline, so this one follows the spec's
sections itself:

* 5.1 a subscription request (POST hub.mode=subscribe, hub.callback, hub.topic,
  hub.secret, hub.lease_seconds) is answered 202 and verified afterwards;
* 5.3 verification of intent: GET on the callback with hub.mode, hub.topic,
  hub.challenge and hub.lease_seconds; only a 2xx echoing the challenge exactly
  activates the subscription (5.2: the hub may also deny, with hub.reason);
* 7 content distribution: the topic's content POSTed to each active subscriber's
  callback with a Link header (hub and self) and X-Hub-Signature, the HMAC of the body
  with the subscriber's secret (method chosen per hub: sha1, sha256, sha384, sha512);
* the publish ping most hubs take (hub.mode=publish, hub.url repeated): the hub fetches
  each URL and distributes it.

Every request and every delivery is logged for the tests' assertions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import httpx

from tests.conftest import TOPICS_TOML


@dataclass
class HubSubscription:
    callback: str
    topic: str
    secret: str | None
    lease_seconds: int
    verified_at: float


@dataclass
class Delivery:
    callback: str
    topic: str
    status: int
    at: float


@dataclass
class Hub:
    """The hub's state; `lease_seconds` is what it grants, `algorithm` how it signs."""

    url: str = ""
    lease_seconds: int = 3600
    algorithm: str = "sha256"
    deny: bool = False  # deny every subscription request (5.2)
    subscriptions: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)
    requests: list[dict[str, list[str]]] = field(default_factory=list)
    verifications: list[tuple[str, int, bool]] = field(default_factory=list)  # url, status, ok
    deliveries: list[Delivery] = field(default_factory=list)
    pings: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- 5.1 / 5.3 ----------------------------------------------------------------------

    def handle(self, form: dict[str, list[str]]) -> int:
        """A POST to the hub; its status."""
        with self.lock:
            self.requests.append(form)
        mode = form.get("hub.mode", [""])[0]
        if mode in ("subscribe", "unsubscribe"):
            callback, topic = form.get("hub.callback", [""])[0], form.get("hub.topic", [""])[0]
            if not callback.startswith("http") or not topic:
                return 400
            secret = form.get("hub.secret", [None])[0]
            if secret is not None and len(secret.encode()) >= 200:
                return 400  # 5.1: the secret MUST be less than 200 bytes
            threading.Thread(
                target=self._verify, args=(mode, callback, topic, secret), daemon=True
            ).start()
            return 202
        if mode == "publish":
            urls = form.get("hub.url", []) + form.get("hub.topic", [])
            with self.lock:
                self.pings.append(urls)
            threading.Thread(target=self.publish, args=(urls,), daemon=True).start()
            return 202
        return 400

    def _verify(self, mode: str, callback: str, topic: str, secret: str | None) -> None:
        if self.deny:
            params = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "not today"}
            httpx.get(callback, params=params, timeout=5.0)
            return
        challenge = secrets.token_urlsafe(16)
        params = {
            "hub.mode": mode,
            "hub.topic": topic,
            "hub.challenge": challenge,
            "hub.lease_seconds": str(self.lease_seconds),
        }
        response = httpx.get(callback, params=params, timeout=5.0)
        ok = response.is_success and response.text == challenge
        with self.lock:
            self.verifications.append((callback, response.status_code, ok))
            if ok and mode == "subscribe":
                self.subscriptions[(callback, topic)] = HubSubscription(
                    callback, topic, secret, self.lease_seconds, time.time()
                )
            elif ok:
                self.subscriptions.pop((callback, topic), None)

    # -- 7 ------------------------------------------------------------------------------

    def publish(self, topics: list[str]) -> None:
        """Fetch each topic and deliver it to its subscribers."""
        for topic in topics:
            try:
                response = httpx.get(topic, timeout=5.0)
            except httpx.HTTPError:  # the publisher is gone (a test ended): nothing to send
                continue
            self.distribute(
                topic, response.content, response.headers.get("content-type", "application/xml")
            )

    def distribute(
        self,
        topic: str,
        body: bytes,
        content_type: str,
        sign: Callable[[str | None, bytes], str | None] | None = None,
    ) -> list[int]:
        """POST `body` to every subscriber of `topic`; `sign` overrides the signature."""
        with self.lock:
            subscribers = [sub for sub in self.subscriptions.values() if sub.topic == topic]
        statuses = []
        for sub in subscribers:
            headers = {
                "Content-Type": content_type,
                "Link": f'<{self.url}>; rel="hub", <{topic}>; rel="self"',
            }
            signature = (sign or self.signature)(sub.secret, body)
            if signature is not None:
                headers["X-Hub-Signature"] = signature
            response = httpx.post(sub.callback, content=body, headers=headers, timeout=10.0)
            with self.lock:
                self.deliveries.append(
                    Delivery(sub.callback, topic, response.status_code, time.time())
                )
            statuses.append(response.status_code)
        return statuses

    def signature(self, secret: str | None, body: bytes) -> str | None:
        if secret is None:
            return None
        digest = hmac.new(secret.encode(), body, getattr(hashlib, self.algorithm)).hexdigest()
        return f"{self.algorithm}={digest}"

    def wait(self, check: Callable[[Hub], object], timeout: float = 10.0) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                found = check(self)
            if found:
                return found
            time.sleep(0.02)
        raise AssertionError("the hub never saw what the test waited for")


class _Handler(BaseHTTPRequestHandler):
    hub: Hub

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode(), keep_blank_values=True)
        status = self.hub.handle(form)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def running_hub(**options: object) -> Iterator[Hub]:
    """A hub listening on a free loopback port until the block ends."""
    hub = Hub(**options)  # type: ignore[arg-type]
    handler = type("Handler", (_Handler,), {"hub": hub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    hub.url = f"http://127.0.0.1:{server.server_address[1]}/hub"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Subscriber:
    """A WebSub subscriber on 127.0.0.1: confirms every intent, records every push."""

    url: str = ""
    pushes: list[tuple[bytes, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _SubscriberHandler(BaseHTTPRequestHandler):
    subscriber: Subscriber

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        query = parse_qs(self.path.partition("?")[2])
        body = query.get("hub.challenge", [""])[0].encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.subscriber.lock:
            self.subscriber.pushes.append((body, {k.lower(): v for k, v in self.headers.items()}))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def running_subscriber() -> Iterator[Subscriber]:
    """A subscriber's callback listening on a free loopback port until the block ends."""
    subscriber = Subscriber()
    handler = type("Handler", (_SubscriberHandler,), {"subscriber": subscriber})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    subscriber.url = f"http://127.0.0.1:{server.server_address[1]}/callback"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield subscriber
    finally:
        server.shutdown()
        server.server_close()


def write_websub_config(
    folder: Path, port: int, source: str, extra: str = "", interval: str = "15m"
) -> Path:
    """A config serving on `port` (the callbacks name it) and polling `source` every
    `interval`; `extra` goes into [server]."""
    path = folder / "config.toml"
    path.write_text(
        f"""
[storage]
url = "sqlite:///{folder}/store.db"
retention_days = 3650
[server]
port = {port}
base_url = "http://127.0.0.1:{port}"
{extra}
[fetch]
timeout = 5
deadline = 10
workers = 0
[websub]
fallback_interval = "30m"
[[sources]]
name = "wire"
url = "{source}"
interval = "{interval}"
{TOPICS_TOML}""",
        encoding="utf-8",
    )
    return path
