"""/search?q=QUERY[&topic=SLUG]: the page's search box, over the store's full-text
index (see `aggregator.run.search`). Titles, sources and snippets come from hostile
feeds: the template escapes every piece, and the matched words are marked up only after
the snippet is split into (text, matched) pieces, so no stored text is ever markup."""

from __future__ import annotations

import asyncio

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from aggregator.models import utc_datetime
from aggregator.run.search import SearchError, SearchRequest, search_stored
from aggregator.run.service import Service
from aggregator.store.search import SearchResult, snippet_parts

RESULTS_ON_PAGE = 50
MAX_QUERY_CHARS = 500


class SearchEndpoint:
    """The search page: results for `q`, or what is wrong with it (status 400)."""

    def __init__(self, service: Service, templates: Environment, headers: dict[str, str]):
        self.service = service
        self.templates = templates
        self.headers = headers

    async def page(self, request: Request) -> Response:
        query = request.query_params.get("q", "").strip()[:MAX_QUERY_CHARS]
        topic = request.query_params.get("topic") or None
        html, status = await asyncio.to_thread(self.render, query, topic)
        return HTMLResponse(html, status_code=status, headers=self.headers)

    def render(self, query: str, topic: str | None) -> tuple[str, int]:
        config = self.service.config
        results: list[SearchResult] = []
        error, status = None, 200
        if not query:
            error, status = "Type something to search for.", 400
        else:
            request = SearchRequest(query, topic, limit=RESULTS_ON_PAGE)
            try:
                results = search_stored(self.service.store, config, request)
            except SearchError as problem:
                where = (
                    "" if problem.position is None else f" (at character {problem.position + 1})"
                )
                error, status = f"{problem.message}{where}", 400
        html = self.templates.get_template("search.html").render(
            query=query,
            chosen_topic=topic,
            topic_choices=config.topics,
            results=[_result_view(result) for result in results],
            error=error,
        )
        return html, status


def _result_view(result: SearchResult) -> dict[str, object]:
    best = result.best
    published = utc_datetime(best.published)
    return {
        "title": best.title,
        "link": best.link,
        "source": best.source,
        "story_id": result.story_id,
        "published_iso": published.isoformat().replace("+00:00", "Z"),
        "published_text": published.strftime("%Y-%m-%d %H:%M UTC"),
        "snippet": snippet_parts(best.snippet),
        "copies": result.hits[1:],
    }
