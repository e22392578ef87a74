"""What every retriever is, whatever its URL scheme: a thing that turns a request into a
`FetchResult` without raising, under the cycle's shared fetch limits."""

from __future__ import annotations

from typing import Protocol

from aggregator.config import FetchConfig
from aggregator.models import FetchRequest, FetchResult, FetchStatus


class Retriever(Protocol):
    """Retrieves documents for some URL schemes; `Fetcher` owns one of each kind per cycle.

    `per_host` says whether requests compete for their host's slots (a remote server's
    politeness limit) besides the global ones; `deadline` whether the fetch is bounded by
    the total deadline (a remote server can trickle, a local file cannot).
    """

    per_host: bool
    deadline: bool

    def __init__(self, config: FetchConfig) -> None: ...

    async def open(self) -> None: ...

    async def aclose(self) -> None: ...

    async def retrieve(self, request: FetchRequest) -> FetchResult: ...


def fetch_error(request: FetchRequest, message: str) -> FetchResult:
    """A failed fetch: the message says precisely what went wrong."""
    return FetchResult(
        source=request.source, url=request.url, status=FetchStatus.ERROR, error=message
    )
