"""Finding the feed behind a URL a curator pastes, and checking that it parses.

A curator copies the address of a site, not of its feed. The URL is fetched through the
same fetcher a poll uses (its limits, user agent and redirect rules) and parsed by the
same parsers; when it is an HTML page, the feeds it advertises with
`<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">` are tried in page
order, then a short list of paths where blog engines put their feed (WordPress /feed,
Jekyll /feed.xml, Hugo /index.xml, ...). Both the number of URLs tried and the time spent
are bounded, so a site with no feed costs a few seconds and one clear line, naming every
URL that was looked at.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from aggregator.config import FetchConfig
from aggregator.models import FetchRequest, FetchStatus
from aggregator.sources.fetch import Fetcher
from aggregator.sources.parse import FeedParseError, find_feed_links, parse_feed

# Where blog engines and newsrooms put their feed, most common first; tried below the
# page's own folder first (a /blog/ page's feed is often /blog/feed), then the site root.
COMMON_PATHS = (
    "feed",
    "rss",
    "feed.xml",
    "atom.xml",
    "rss.xml",
    "index.xml",
    "feed.json",
    "news/rss",
)
FOLDER_PATHS = ("feed", "rss", "index.xml")
MAX_ALTERNATES = 4  # of the feeds a page advertises, its first (a page lists its main one first)
MAX_GUESSES = 10
BUDGET_SECONDS = 30.0  # for the whole discovery, however many URLs are tried
_CALLER = "add-source"  # the FetchRequest's source name, seen in nothing but errors


@dataclass(frozen=True, slots=True)
class FoundFeed:
    """A URL whose document parsed as a feed, and how it was found."""

    url: str
    title: str | None
    entries: int
    via: str  # "the URL itself", "<link rel=alternate> on the page", "a common feed path"


class NoFeedFound(Exception):
    """No URL looked at held a feed; the message is one line naming each of them."""


@dataclass(slots=True)
class _Look:
    """One URL fetched and parsed: the feed, or why not, and what a page advertised."""

    url: str
    feed: FoundFeed | None = None
    why: str = ""
    page_url: str = ""  # where the document was finally read from (after redirects)
    reached: bool = False  # the server answered (an HTTP status, even an error)
    alternates: list[str] = field(default_factory=list)


async def _look(fetcher: Fetcher, url: str, via: str) -> _Look:
    result = await fetcher.fetch(FetchRequest(_CALLER, url))
    look = _Look(
        url,
        page_url=result.final_url or url,
        reached=result.http_status is not None or url.startswith("file:"),
    )
    if result.status != FetchStatus.OK or result.body is None:
        look.why = result.error or str(result.status)
        return look
    try:
        parsed = parse_feed(result.body, look.page_url, result.content_type)
    except FeedParseError as error:
        look.why = str(error).split(";")[0]
        look.alternates = error.alternates or find_feed_links(result.body, look.page_url)
        return look
    look.feed = FoundFeed(result.permanent_redirect or url, parsed.title, len(parsed.entries), via)
    return look


def _guesses(page_url: str) -> list[str]:
    """The common feed paths below the page's folder, then at the site's root."""
    parts = urlsplit(page_url)
    if parts.scheme not in ("http", "https"):
        return []
    root = f"{parts.scheme}://{parts.netloc}"
    folder = parts.path.rstrip("/")
    if "." in folder.rsplit("/", 1)[-1]:  # /blog/index.html: its folder is /blog
        folder = folder.rsplit("/", 1)[0]
    below = [f"{root}{folder}/{path}" for path in FOLDER_PATHS] if folder else []
    return below + [f"{root}/{path}" for path in COMMON_PATHS]


async def _first_feed(
    fetcher: Fetcher, urls: Sequence[str], via: str, looked: list[_Look]
) -> FoundFeed | None:
    """The first of `urls`, in their order, that holds a feed; all fetched at once (the
    fetcher's per-host limit keeps that polite)."""
    fresh = [url for url in dict.fromkeys(urls) if url not in {look.url for look in looked}]
    looks = await asyncio.gather(*(_look(fetcher, url, via) for url in fresh))
    looked.extend(looks)
    return next((look.feed for look in looks if look.feed), None)


async def discover_feed(url: str, config: FetchConfig, budget: float = BUDGET_SECONDS) -> FoundFeed:
    """The feed at `url`, or the one its page leads to; raises NoFeedFound."""
    looked: list[_Look] = []
    async with Fetcher(config) as fetcher:
        try:
            async with asyncio.timeout(budget):
                found = await _discover(fetcher, url, looked)
        except TimeoutError:
            raise NoFeedFound(
                f"no feed found at {url} within {budget:g}s (looked at: {_listing(looked)})"
            ) from None
    if found is None:
        raise NoFeedFound(f"no feed found at {url} (looked at: {_listing(looked)})")
    return found


async def _discover(fetcher: Fetcher, url: str, looked: list[_Look]) -> FoundFeed | None:
    first = await _look(fetcher, url, "the URL itself")
    looked.append(first)
    if first.feed or not first.reached:  # a feed, or no server to ask for another URL
        return first.feed
    found = await _first_feed(
        fetcher, first.alternates[:MAX_ALTERNATES], "<link rel=alternate> on the page", looked
    )
    if found:
        return found
    guesses = _guesses(first.page_url)[:MAX_GUESSES]
    return await _first_feed(fetcher, guesses, "a common feed path", looked)


def _listing(looked: list[_Look]) -> str:
    return ", ".join(f"{look.url} ({look.why})" for look in looked) or "nothing answered"


async def check_feeds(urls: Sequence[str], config: FetchConfig) -> dict[str, FoundFeed | str]:
    """Each URL's feed, or why it is none, fetched at once within the fetcher's limits
    (for an OPML file's feeds, whose URLs need no discovery)."""
    async with Fetcher(config) as fetcher:
        looks = await asyncio.gather(
            *(_look(fetcher, url, "the URL itself") for url in dict.fromkeys(urls))
        )
    return {look.url: look.feed or look.why for look in looks}
