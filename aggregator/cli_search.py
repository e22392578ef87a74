"""`aggregator search QUERY`: the stored items that match a query in the topics'
language, best first, one line per story with its copies, from the store's full-text
index (so it answers in milliseconds however much is stored)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aggregator import clock
from aggregator.config import parse_duration, plural

if TYPE_CHECKING:
    from aggregator.store.search import SearchResult

EXIT_BAD_SEARCH = 2


def parse_since(value: str) -> float:
    """--since: a span back from now ("90m", "7d") or an ISO 8601 date or time (UTC
    unless it names a zone); seconds since the epoch."""
    try:
        return clock.now() - parse_duration(value)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a span or a date: {value!r} (e.g. 7d, 12h, 2026-11-01, 2026-11-01T09:00Z)"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


def cmd_search(args: argparse.Namespace) -> int:
    from aggregator.cli import _load, _open_for_reading, _print_story
    from aggregator.run.search import SearchError, SearchRequest, search_stored
    from aggregator.store.search import snippet_parts

    config = _load(args)
    store, _ = _open_for_reading(config)
    request = SearchRequest(args.query, args.topic, args.since or 0.0, args.limit)
    try:
        results = search_stored(store, config, request)
    except SearchError as error:
        print(f"search: {error.message}", file=sys.stderr)
        if error.position is not None:
            print(f"  {args.query}\n  {' ' * error.position}^", file=sys.stderr)
        return EXIT_BAD_SEARCH
    finally:
        store.close()
    if args.json:
        json.dump([_as_json(result) for result in results], sys.stdout, indent=2)
        print()
        return 0
    for result in results:
        best = result.best
        snippet = "".join(
            f"[{text}]" if found else text for text, found in snippet_parts(best.snippet)
        )
        extra = [f"story {result.story_id}; score {best.score:.3g}"]
        extra += [" ".join(snippet.split())] if snippet.strip() else []
        extra += [f"also on {hit.source}: {hit.link or hit.title}" for hit in result.hits[1:]]
        _print_story(best.title, best.source, best.published, extra)
    print(plural(len(results), "story", "stories"))
    return 0


def _as_json(result: SearchResult) -> dict[str, object]:
    """A result for --json: the snippet as plain text."""
    from aggregator.store.search import snippet_parts

    return {
        "story_id": result.story_id,
        "items": [
            {**asdict(hit), "snippet": "".join(text for text, _ in snippet_parts(hit.snippet))}
            for hit in result.hits
        ],
    }


def add_commands(command: object) -> None:
    """Register `search` with the CLI's `command(name, handler, help)`."""
    search = command(  # type: ignore[operator]
        "search",
        cmd_search,
        'Search the stored items with the topics\' query language (words, "phrases", '
        "AND/OR/NOT, field:prefixes, @groups), best first.",
    )
    search.add_argument("query", help="e.g. '\"CAR-T\" AND lupus NOT title:mouse'")
    search.add_argument("--topic", metavar="SLUG", help="only what this topic took")
    search.add_argument(
        "--since",
        type=parse_since,
        metavar="WHEN",
        help="only items published since: a span (7d, 12h) or a date",
    )
    search.add_argument("--limit", type=int, default=20, help="most stories (default 20)")
    search.add_argument("--json", action="store_true", help="machine-readable output")
