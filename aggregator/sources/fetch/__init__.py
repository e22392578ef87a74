"""Fetching feed documents without ever raising: a registry of retrievers by URL scheme.

One `Fetcher` serves a whole cycle. It picks the retriever for each URL's scheme
(`http` for http and https, `file` for local files; `RETRIEVERS` is the registry) and
applies the limits every retriever shares: a global bound on concurrent fetches, a
per-host bound for retrievers that talk to remote hosts (so a newswire never sees more
than a couple of connections from us), and a total deadline for those that could
trickle. Every failure is a `FetchResult` with a precise error, so one bad source never
disturbs the rest of the cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

from aggregator.config import FetchConfig
from aggregator.models import FetchRequest, FetchResult
from aggregator.sources.fetch.file import FileRetriever
from aggregator.sources.fetch.freshness import poll_floor_seconds
from aggregator.sources.fetch.http import HttpRetriever, user_agent
from aggregator.sources.fetch.retriever import Retriever, fetch_error

__all__ = ["RETRIEVERS", "Fetcher", "Retriever", "poll_floor_seconds", "user_agent"]

RETRIEVERS: dict[str, type[Retriever]] = {
    "http": HttpRetriever,
    "https": HttpRetriever,
    "file": FileRetriever,
}


class Fetcher:
    """Polls sources; use as `async with Fetcher(config) as fetcher`."""

    def __init__(self, config: FetchConfig):
        self.config = config
        self._global = asyncio.Semaphore(config.concurrency)
        self._per_host: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(config.per_host)
        )
        # One retriever of each kind per cycle: http and https share the clients.
        kinds = {kind: kind(config) for kind in dict.fromkeys(RETRIEVERS.values())}
        self._retrievers = {scheme: kinds[kind] for scheme, kind in RETRIEVERS.items()}

    async def __aenter__(self) -> Fetcher:
        for retriever in self._distinct():
            await retriever.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await asyncio.gather(*(retriever.aclose() for retriever in self._distinct()))

    def _distinct(self) -> list[Retriever]:
        return list({id(kind): kind for kind in self._retrievers.values()}.values())

    def _retriever(self, url: str) -> Retriever | None:
        return self._retrievers.get(urlsplit(url).scheme.lower())

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        """Hold a fetch slot for `url`: one of its host's (for remote schemes), then a
        global one.

        The host's slot comes first: a source queued behind its busy host must not hold a
        global slot that other hosts' sources could use meanwhile. A caller may hold the
        slot past the fetch, until the document is processed, which bounds the documents
        being fetched and processed to the global limit (see `fetch_in_slot`).
        """
        retriever = self._retriever(url)
        if retriever is not None and retriever.per_host:
            async with self._per_host[urlsplit(url).hostname or ""], self._global:
                yield
        else:
            async with self._global:
                yield

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """Fetch one source in a slot of its own; every outcome, including every error, is
        a FetchResult."""
        async with self.slot(request.url):
            return await self.fetch_in_slot(request)

    async def fetch_in_slot(self, request: FetchRequest) -> FetchResult:
        """`fetch`, for a caller that holds `slot(request.url)`."""
        started = time.perf_counter()
        retriever = self._retriever(request.url)
        if retriever is None:
            scheme = urlsplit(request.url).scheme.lower()
            result = fetch_error(request, f"unsupported URL scheme {scheme!r}")
        elif retriever.deadline:
            result = await self._within_deadline(retriever, request)
        else:
            result = await retriever.retrieve(request)
        result.elapsed = time.perf_counter() - started
        return result

    async def _within_deadline(self, retriever: Retriever, request: FetchRequest) -> FetchResult:
        try:
            async with asyncio.timeout(self.config.deadline):
                return await retriever.retrieve(request)
        except TimeoutError:
            return fetch_error(
                request, f"deadline exceeded: no complete response within {self.config.deadline:g}s"
            )
