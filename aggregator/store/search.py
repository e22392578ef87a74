"""Searching stored items with the database's own full-text index: FTS5 on SQLite
(bm25 ranking), the weighted `search_vector` on PostgreSQL (ts_rank), both built by
migration 0006. The query is the topics' language, parsed by the caller and translated
by `fulltext`; results are ranked items gathered into their stories."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aggregator.core.match.query import Node
from aggregator.store.engine import Cursor, StoreEngine, retried
from aggregator.store.fulltext import FTS5_WEIGHTS, expand_groups, fts5_match, ts_condition

#: Around the matched words of a snippet: control characters, which feed text all but
#: never holds (a stray one only misplaces a highlight: every piece is escaped anyway),
#: so a page can mark the words up while escaping every piece of the text.
MARK_START, MARK_END = "\x02", "\x03"
#: Items read per story asked for: copies of one story collapse into one result. Each
#: item read costs its snippet (~0.08 ms on SQLite), so not many more than are shown.
ITEMS_PER_STORY = 3
_ITEM = "i.item_id, i.title, i.link, i.source, i.story_id, i.published"
_HEADLINE = (
    f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=24, MinWords=10, "
    "MaxFragments=1, FragmentDelimiter=…"
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One stored item a search found; `snippet` marks the matched words with
    MARK_START/MARK_END (see `snippet_parts`)."""

    item_id: str
    title: str
    link: str | None
    source: str
    story_id: str
    published: float
    score: float  # higher is better; comparable within one search only
    snippet: str


@dataclass(frozen=True, slots=True)
class SearchResult:
    """A story a search found: its best-ranked copy first, then its other matching copies."""

    story_id: str
    hits: tuple[SearchHit, ...]

    @property
    def best(self) -> SearchHit:
        return self.hits[0]


def snippet_parts(snippet: str) -> list[tuple[str, bool]]:
    """A snippet as (text, is_match) pieces, for a page to escape and mark up."""
    parts: list[tuple[str, bool]] = []
    for number, piece in enumerate(snippet.replace(MARK_END, MARK_START).split(MARK_START)):
        if piece:
            parts.append((piece, number % 2 == 1))
    return parts


class Search(StoreEngine):
    """search."""

    @retried
    def search(
        self,
        query: Node,
        *,
        groups: Mapping[str, Sequence[str]] | None = None,
        topic: str | None = None,
        since: float = 0.0,
        limit: int = 20,
    ) -> list[SearchResult]:
        """The `limit` best stories for a parsed query, best first.

        Raises `SearchQueryError` for a query the index cannot run (a lone NOT, an
        unknown @group). `topic` keeps items that topic took; `since` those published
        since then.
        """
        tree = expand_groups(query, groups or {})
        filters, params = ["i.published >= ?"], [since]
        if topic is not None:
            filters.append("i.item_id IN (SELECT item_id FROM matches WHERE topic = ?)")
            params.append(topic)
        with self.transaction(write=False) as cur:
            read = self._search_sqlite if self.engine == "sqlite" else self._search_postgres
            rows = read(cur, tree, " AND ".join(filters), params, limit * ITEMS_PER_STORY)
        return _by_story([SearchHit(*row) for row in rows], limit)

    def _search_sqlite(
        self, cur: Cursor, tree: Node, filters: str, params: list[Any], rows: int
    ) -> list[Any]:
        weights = ", ".join(str(weight) for weight in FTS5_WEIGHTS)
        cur.execute(
            f"SELECT {_ITEM}, -bm25(items_fts, {weights}) AS score, "
            "snippet(items_fts, -1, ?, ?, '…', 24) "
            "FROM items_fts JOIN items AS i ON i.rowid = items_fts.rowid "
            f"WHERE items_fts MATCH ? AND {filters} "
            "ORDER BY score DESC, i.published DESC LIMIT ?",
            (MARK_START, MARK_END, fts5_match(tree), *params, rows),
        )
        return cur.fetchall()

    def _search_postgres(
        self, cur: Cursor, tree: Node, filters: str, params: list[Any], rows: int
    ) -> list[Any]:
        condition = ts_condition(tree)
        # The headline (costly: it parses the text again, ~0.4 ms a row per 2,000
        # characters) only for the rows kept, and from the summary and the body's opening.
        cur.execute(
            f"SELECT {_ITEM}, found.score, ts_headline('english', "
            "i.summary_text || ' ' || left(i.content_text, 2000), "
            f"{condition.rank}, ?) "
            f"FROM (SELECT i.item_id, ts_rank(i.search_vector, {condition.rank}) AS score "
            f"FROM items AS i WHERE {condition.where} AND {filters} "
            "ORDER BY score DESC, i.published DESC LIMIT ?) AS found "
            "JOIN items AS i ON i.item_id = found.item_id "
            "ORDER BY found.score DESC, i.published DESC",
            (
                *condition.rank_params,
                _HEADLINE,
                *condition.rank_params,
                *condition.where_params,
                *params,
                rows,
            ),
        )
        return cur.fetchall()


def _by_story(hits: list[SearchHit], limit: int) -> list[SearchResult]:
    """Ranked items gathered into their stories, in the order of each story's best."""
    stories: dict[str, list[SearchHit]] = {}
    for hit in hits:
        stories.setdefault(hit.story_id, []).append(hit)
    return [
        SearchResult(story_id, tuple(copies)) for story_id, copies in list(stories.items())[:limit]
    ]
