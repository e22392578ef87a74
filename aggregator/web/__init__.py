"""The HTTP layer: topic feeds for readers, a page for the curator, health and metrics.

Thin on purpose: every feed response is a cached `RenderedFeed` plus validators, so
a reader's poll costs a dictionary lookup and, usually, a 304.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from xml.sax.saxutils import quoteattr

from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from aggregator import metrics
from aggregator.feeds import PageOutOfRange, RenderedFeed, UnknownTopic
from aggregator.publish import feed_url
from aggregator.render import FORMATS
from aggregator.service import Service

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    wanted = etag.strip('"')
    for candidate in header.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag == wanted or tag.rsplit("-", 1)[0] == wanted:
            return True
    return False


def _not_modified(request: Request, rendered: RenderedFeed) -> bool:
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return _etag_matches(if_none_match, rendered.etag)
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since:
        try:
            since = parsedate_to_datetime(if_modified_since)
            modified = parsedate_to_datetime(rendered.last_modified)
        except (TypeError, ValueError):
            return False
        return modified <= since
    return False


def _choose_encoding(accept: str) -> str | None:
    offered = {}
    for part in accept.split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        offered[name.strip().lower()] = quality
    from aggregator.feeds import brotli

    if brotli is not None and offered.get("br", 0) > 0:
        return "br"
    if offered.get("gzip", 0) > 0:
        return "gzip"
    return None


def create_app(service: Service, *, run_scheduler: bool | None = None) -> Starlette:
    """The ASGI app for `service`; the scheduler runs inside it for roles all/worker."""
    if run_scheduler is None:
        run_scheduler = service.role in ("all", "worker")

    def cache_seconds() -> int:
        intervals = [s.interval or service.config.fetch.default_interval
                     for s in service.config.sources if s.enabled]
        return int(min(max(min(intervals, default=900.0) / 2, 30), 3600))

    async def topic_feed(request: Request) -> Response:
        slug, fmt = request.path_params["slug"], request.path_params["fmt"]
        if fmt not in FORMATS:
            return PlainTextResponse(f"unknown format {fmt!r}", status_code=404)
        try:
            page = int(request.query_params.get("page", "1"))
            limit = request.query_params.get("limit")
            limit_value = int(limit) if limit is not None else None
        except ValueError:
            return PlainTextResponse("page and limit must be whole numbers", status_code=400)
        try:
            rendered = service.feeds.get(slug, fmt, page, limit_value)
        except UnknownTopic:
            metrics.FEED_REQUESTS.labels(fmt, "404").inc()
            return PlainTextResponse(f"no topic {slug!r}", status_code=404)
        except PageOutOfRange as error:
            return PlainTextResponse(str(error), status_code=404)
        headers = {
            "ETag": rendered.etag,
            "Last-Modified": rendered.last_modified,
            "Cache-Control": f"public, max-age={cache_seconds()}",
            "Vary": "Accept-Encoding",
        }
        if _not_modified(request, rendered):
            metrics.FEED_REQUESTS.labels(fmt, "304").inc()
            return Response(status_code=304, headers=headers)
        body = rendered.body
        encoding = _choose_encoding(request.headers.get("accept-encoding", ""))
        if encoding:
            body = rendered.encoding(encoding)
            headers["Content-Encoding"] = encoding
            headers["ETag"] = rendered.etag[:-1] + f'-{encoding}"'
        metrics.FEED_REQUESTS.labels(fmt, "200").inc()
        return Response(body, media_type=FORMATS[fmt], headers=headers)

    async def opml(request: Request) -> Response:
        base = service.config.server.public_base()
        outlines = "\n".join(
            f'    <outline type="rss" text={quoteattr(t.title)} title={quoteattr(t.title)} '
            f'xmlUrl={quoteattr(feed_url(base, t.slug, "atom"))} '
            f'htmlUrl={quoteattr(base + "/#topic-" + t.slug)}/>'
            for t in service.config.topics
        )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">\n'
            "  <head><title>newswire-aggregator topics</title></head>\n"
            f"  <body>\n{outlines}\n  </body>\n</opml>\n"
        )
        return Response(body, media_type="text/x-opml; charset=utf-8")

    async def index(request: Request) -> Response:
        html = await asyncio.to_thread(_render_index, service)
        return HTMLResponse(html)

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await asyncio.to_thread(service.readiness)
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    async def metrics_endpoint(request: Request) -> Response:
        await asyncio.to_thread(service.refresh_topic_gauges)
        return Response(generate_latest(metrics.REGISTRY), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if run_scheduler:
            service.start_scheduler()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/feeds/{slug}.{fmt}", topic_feed, methods=["GET", "HEAD"]),
        Route("/feeds.opml", opml, methods=["GET", "HEAD"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _ago(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    seconds = max(0, time.time() - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def _render_index(service: Service) -> str:
    config = service.config
    topics = []
    for topic in config.topics:
        stories = service.store.topic_stories(topic.slug, limit=20)
        topics.append({
            "config": topic,
            "stories": stories,
            "feeds": {fmt: feed_url(config.server.public_base(), topic.slug, fmt)
                      for fmt in FORMATS},
        })
    template = TEMPLATES.get_template("index.html")
    return template.render(
        topics=topics,
        sources=service.store.source_states([s.name for s in config.sources]),
        ago=_ago,
        iso=lambda ts: datetime.fromtimestamp(ts, tz=UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )
