"""The service's web app under a real uvicorn on 127.0.0.1, for tests that speak HTTP.

`serve(config_path)` opens the store a test populated (with real polls), builds the
app exactly as `aggregator run --role web` does, and serves it on a free loopback
port from a background thread; leaving the block stops uvicorn, which runs the app's
lifespan shutdown and closes the store.
"""

from __future__ import annotations

import random
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import httpx
import uvicorn

from aggregator.config import load_config
from aggregator.run.service import Service
from aggregator.web import create_app

START_TIMEOUT = 15.0
_SYLLABLES = ["ka", "lo", "mi", "ne", "tra", "vo", "zu", "pel", "rin", "sa", "dor", "qui",
              "fen", "bra", "tu", "xo", "gal", "hem", "jo", "wy"]


class LiveServer:
    def __init__(self, service: Service, port: int) -> None:
        self.service = service
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def client(self, **kwargs: object) -> httpx.Client:
        """An HTTP client for this server that sends no Accept-Encoding unless told."""
        headers = {"Accept-Encoding": "identity", **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return httpx.Client(base_url=self.base, timeout=10.0, headers=headers, **kwargs)

    def metric(self, name: str, **labels: str) -> float:
        """The current value of one sample from /metrics (0 when absent)."""
        text = httpx.get(self.url("/metrics"), timeout=10.0).text
        wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
        for line in text.splitlines():
            match = re.fullmatch(rf"{re.escape(name)}(?:\{{(.*)\}})? (\S+)", line)
            if match and ",".join(sorted((match.group(1) or "").split(","))) == wanted:
                return float(match.group(2))
        return 0.0


@contextmanager
def serve(config_path: Path, *, version_ttl: float | None = None, port: int = 0,
          role: str = "web", setup: Callable[[Service], None] | None = None,
          ) -> Iterator[LiveServer]:
    """Serve `config_path`'s store over HTTP on 127.0.0.1 (role web: no polling; "all"
    polls too); on a free port unless `port` is given (to match a config whose links
    name it). `setup` adjusts the service before it starts."""
    service = Service(load_config(config_path), config_path, role=role)
    service.prepare()
    if setup is not None:
        setup(service)
    if version_ttl is not None:
        service.feeds.version_ttl = version_ttl
    server = uvicorn.Server(uvicorn.Config(
        create_app(service), host="127.0.0.1", port=port, lifespan="on", log_config=None,
        access_log=False,
    ))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(service, server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)


def story_feed(count: int, *, first: int = 0, newest: datetime | None = None,
               words: int = 40) -> bytes:
    """An RSS 2.0 feed of `count` distinct CAR-T-in-lupus stories, newest first.

    Every story has its own guid, link, date and wording (`words` random words from a
    fixed seed per story), so none is a near-duplicate of another and each is one story.
    """
    newest = newest or datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    items = []
    for number in range(first, first + count):
        rng = random.Random(number)
        name = "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()
        text = " ".join(
            "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 3)))
            for _ in range(words)
        )
        published = newest - timedelta(hours=number)
        items.append(
            "<item>"
            f"<title>{name} Bio starts CAR-T study {number} in lupus</title>"
            f"<link>https://wire.example.com/news/story-{number}.html</link>"
            f'<guid isPermaLink="false">story-{number}</guid>'
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
            f"<description>{escape(f'<p>{name} Bio: {text}.</p>')}</description>"
            "</item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        "<title>Story Wire</title><link>https://wire.example.com/</link>"
        f"<description>Generated stories</description>{''.join(items)}</channel></rss>"
    ).encode()


def free_port() -> int:
    """A loopback port nobody listens on now (for configs that must name their port)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def demo_config(folder: Path, *, port: int = 8080) -> Path:
    """The shipped config/demo.toml, storing into `folder` and serving on `port`."""
    from tests.conftest import ROOT

    text = (ROOT / "config" / "demo.toml").read_text(encoding="utf-8")
    text = text.replace('url = "sqlite:///../data/demo.db"', f'url = "sqlite:///{folder}/demo.db"')
    text = text.replace('"../samples/', f'"{ROOT}/samples/')
    text = text.replace("port = 8080", f"port = {port}")
    path = folder / "demo.toml"
    path.write_text(text, encoding="utf-8")
    return path
