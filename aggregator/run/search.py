"""One search of the stored items, as `aggregator search` and the page's search box run
it: the text parsed with the topics' query language, the config's [terms] groups
resolved, and every way it can be wrong turned into one `SearchError` with a message
for the curator."""

from __future__ import annotations

from dataclasses import dataclass

from aggregator.config import Config
from aggregator.core.match.query import QuerySyntaxError, parse_query
from aggregator.store import SQLStore
from aggregator.store.fulltext import SearchQueryError
from aggregator.store.search import SearchResult

MAX_RESULTS = 200


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """What to search for: `text` in the query language; `topic` keeps what that topic
    took, `since` what was published since then (seconds since the epoch)."""

    text: str
    topic: str | None = None
    since: float = 0.0
    limit: int = 20


class SearchError(ValueError):
    """A search that cannot run as asked; `position` is where in the query, if known."""

    def __init__(self, message: str, position: int | None = None) -> None:
        self.message = message
        self.position = position
        super().__init__(message)


def search_stored(store: SQLStore, config: Config, request: SearchRequest) -> list[SearchResult]:
    """The best stories for `request`, best first; SearchError when it cannot run."""
    if request.topic is not None and request.topic not in {t.slug for t in config.topics}:
        raise SearchError(f"no topic {request.topic!r}")
    if not 1 <= request.limit <= MAX_RESULTS:
        raise SearchError(f"the limit is 1 to {MAX_RESULTS} stories, not {request.limit}")
    try:
        tree = parse_query(request.text)
    except QuerySyntaxError as error:
        raise SearchError(error.message, error.position) from None
    try:
        return store.search(
            tree,
            groups=config.terms,
            topic=request.topic,
            since=request.since,
            limit=request.limit,
        )
    except SearchQueryError as error:
        raise SearchError(str(error)) from None
