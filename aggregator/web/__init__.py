"""The HTTP layer: topic feeds for readers, a page for the curator, health and metrics.

Thin on purpose: every feed response is a cached `RenderedFeed` plus validators, so
a reader's poll costs a dictionary lookup and, usually, a 304 (see `feedhttp`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from aggregator import clock, metrics
from aggregator.core.match import distinct_hits, story_score
from aggregator.models import SourceState, StoredStory, utc_datetime
from aggregator.publish.page import feed_url
from aggregator.publish.render import FORMATS
from aggregator.run.service import Service
from aggregator.web.curator import COOKIE, CuratorAuth, curator_routes
from aggregator.web.feedhttp import FeedEndpoint
from aggregator.web.opml import OpmlEndpoint
from aggregator.web.search import SearchEndpoint
from aggregator.web.websub import WebSubCallback

TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
# The page shows text from hostile feeds (escaped by Jinja); this policy is the second
# line: no inline script, plugin, frame, foreign form target or base URL could run even
# if some got in. The only script is the page's own /static/page.js (refreshing); forms
# submit only here (the search box, the curator's actions).
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "script-src 'self'; connect-src 'self'; base-uri 'none'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    # Links out send no Referer; the page's own forms keep their Origin (checked by
    # aggregator.web.curator: with "no-referrer" a browser would send "Origin: null").
    "Referrer-Policy": "same-origin",
}
STORIES_ON_PAGE = 20
STATIC = Path(__file__).parent / "static"
#: How often the page asks whether a topic changed (seconds; `?refresh=N` overrides).
REFRESH_SECONDS = 15


def create_app(service: Service, *, run_scheduler: bool | None = None) -> Starlette:
    """The ASGI app for `service`; the scheduler runs inside it for roles all/worker."""
    if run_scheduler is None:
        run_scheduler = service.role in ("all", "worker")

    feeds = FeedEndpoint(service)
    auth = CuratorAuth.from_environ(os.environ)
    page_script = (STATIC / "page.js").read_bytes()

    async def index(request: Request) -> Response:
        session = auth.session(request.cookies.get(COOKIE))
        refresh = request.query_params.get("refresh", "")
        html = await asyncio.to_thread(
            _render_index,
            service,
            {
                "enabled": auth.enabled,
                "csrf": session.csrf if session else None,
                "refresh": int(refresh) if refresh.isdigit() else REFRESH_SECONDS,
            },
        )
        headers = {**PAGE_HEADERS, "Cache-Control": "no-store"} if session else PAGE_HEADERS
        return HTMLResponse(html, headers=headers)

    async def topic_versions(request: Request) -> Response:
        """Each topic's feed version: the page reloads when one moves."""
        versions = await asyncio.to_thread(
            lambda: {
                topic.slug: service.feeds.version(topic.slug) for topic in service.config.topics
            }
        )
        return JSONResponse(versions, headers={"Cache-Control": "no-store"})

    async def script(request: Request) -> Response:
        return Response(
            page_script,
            media_type="text/javascript",
            headers={"Cache-Control": "max-age=300", **PAGE_HEADERS},
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks = await asyncio.to_thread(service.readiness)
        return JSONResponse(checks, status_code=200 if checks["ready"] else 503)

    async def metrics_endpoint(request: Request) -> Response:
        feeds.flush_metrics()
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

    routes = [  # the feeds first: nearly every request is a reader's poll
        Route("/feeds/{slug}.{fmt}", feeds, methods=["GET", "HEAD"]),
        Route("/", index, methods=["GET", "HEAD"]),
        Route("/feeds.opml", OpmlEndpoint(service), methods=["GET", "HEAD"]),
        Route("/search", SearchEndpoint(service, TEMPLATES, PAGE_HEADERS).page, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET", "HEAD"]),
        Route("/readyz", readyz, methods=["GET", "HEAD"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        Route("/websub/{sub_id}", WebSubCallback(service).handle, methods=["GET", "POST"]),
        Route("/topics/versions", topic_versions, methods=["GET"]),
        Route("/static/page.js", script, methods=["GET", "HEAD"]),
        *curator_routes(service, auth),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _span(seconds: float) -> str:
    """A duration in its largest whole unit: 3d, 5h, 2m, 40s."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def _ago(timestamp: float | None) -> str:
    if not timestamp:
        return "never"
    return f"{_span(max(0.0, clock.now() - timestamp))} ago"


def _next_poll(source: SourceState) -> str:
    """When the source is polled next, as the curator reads it: "in 2m", "due now"."""
    if not source.enabled:
        return "never (disabled)"
    wait = source.next_poll - clock.now()
    return f"in {_span(wait)}" if wait >= 1 else "due now"


def _render_index(service: Service, curator: dict[str, object]) -> str:
    """The page; `curator` says whether actions are on, the logged-in session's CSRF
    token (None: not logged in) and the refresh period."""
    config = service.config
    base = config.server.public_base()
    webhooks = service.webhook_status()
    topics = []
    for topic in config.topics:
        stories = service.store.topic_stories(topic.slug, limit=STORIES_ON_PAGE)
        curated = service.store.curated_stories(topic.slug)
        pinned = {c.story_id for c in curated if c.action == "pin"}
        topics.append(
            {
                "config": topic,
                "version": service.feeds.version(topic.slug),
                "stories": [_story_view(story, story.story_id in pinned) for story in stories],
                "hidden": [c for c in curated if c.action == "hide"],
                "count": service.store.topic_story_count(topic.slug),
                "feeds": {fmt: feed_url(base, topic.slug, fmt) for fmt in FORMATS},
                "webhook": webhooks.get(topic.slug),
            }
        )
    template = TEMPLATES.get_template("index.html")
    return template.render(
        topics=topics,
        topic_choices=config.topics,
        sources=service.store.source_states([s.name for s in config.sources]),
        ago=_ago,
        next_poll=_next_poll,
        curator=curator,
    )


def _story_view(story: StoredStory, pinned: bool = False) -> dict[str, object]:
    """What the page shows of one story: its score, and one chip per matched term and
    location (strongest first), styled by location, a snippet of the text around the
    hit beside it. Hits stored before locations show their fields, as they did."""
    chips: dict[tuple[str, str], dict[str, str]] = {}
    for hit in distinct_hits(story.hits):
        where = hit.location or hit.field
        if (hit.term, where) in chips:
            continue
        detail = f"in {where}" + (f" ({hit.note})" if hit.note else "")
        if hit.synonym_of:
            detail += f"; synonym of {hit.synonym_of}"
        chips[(hit.term, where)] = {
            "term": hit.term, "location": where, "detail": detail, "snippet": hit.snippet,
            "passing": "passing" if hit.note else "",
        }
    score = story_score(story.hits)
    published = utc_datetime(story.published)
    return {
        "title": story.primary.title,
        "link": story.primary.link,
        "source": story.primary.source,
        "published_iso": published.isoformat().replace("+00:00", "Z"),
        "published_text": published.strftime("%Y-%m-%d %H:%M UTC"),
        "chips": list(chips.values()),
        "score": None if score is None else f"{score:.1f}",
        "copies": story.copies,
        "item_id": story.primary.item_id,
        "pinned": pinned,
    }
