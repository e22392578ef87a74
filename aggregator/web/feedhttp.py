"""Serving a cached feed over HTTP: content coding, validators and 304s.

A reader's poll is the hot path of the whole service, and almost every poll is a
304. So the endpoint is a bare ASGI app (no Request object, no per-request header
parsing beyond the three headers it reads), the response headers of each rendering
are built once per content coding and status, and requests are counted in a plain
dictionary that the /metrics endpoint folds into Prometheus. Only a cache miss (the
topic changed, or the one-second topic-version check is due) leaves the event loop,
to a thread that reads the store and renders.
"""

from __future__ import annotations

import asyncio
import functools
from collections import Counter
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qsl

from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from aggregator import metrics
from aggregator.publish.cache import ENCODINGS, PageOutOfRange, RenderedFeed, UnknownTopic
from aggregator.publish.render import FORMATS
from aggregator.run.service import Service

RawHeaders = list[tuple[bytes, bytes]]


@functools.lru_cache(maxsize=256)
def choose_encoding(accept_encoding: str) -> str | None:
    """The content coding to send for an Accept-Encoding value (None: identity).

    The highest q-value wins, brotli before gzip on a tie; `*` stands for any coding
    not named. Readers send a handful of distinct values, hence the cache.
    """
    offered: dict[str, float] = {}
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        offered[name.strip()] = quality
    best, best_quality = None, 0.0
    for coding in ENCODINGS:
        quality = offered.get(coding, offered.get("*", 0.0))
        if quality > best_quality:
            best, best_quality = coding, quality
    return best


@functools.lru_cache(maxsize=256)
def _http_date(value: str) -> float | None:
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def etag_matches(if_none_match: str, rendered: RenderedFeed) -> bool:
    """If-None-Match uses weak comparison (RFC 9110 13.1.2), and every encoding of one
    rendering carries the same content, so any of their ETags matches."""
    if if_none_match.strip() == "*":
        return True
    wanted = rendered.etag.strip('"')
    for candidate in if_none_match.split(","):
        tag = candidate.strip().removeprefix("W/").strip('"')
        if tag == wanted or tag.split("-", 1)[0] == wanted:
            return True
    return False


def not_modified(if_none_match: str | None, if_modified_since: str | None,
                 rendered: RenderedFeed) -> bool:
    """Whether the client's validators still hold: If-None-Match, when sent, decides
    alone; otherwise If-Modified-Since (RFC 9110 13.2.2)."""
    if if_none_match is not None:
        return etag_matches(if_none_match, rendered)
    if if_modified_since:
        since = _http_date(if_modified_since)
        return since is not None and rendered.modified <= since
    return False


def _conditional_headers(raw: RawHeaders) -> tuple[str, str | None, str | None]:
    """Accept-Encoding, If-None-Match and If-Modified-Since of a request (ASGI header
    names are lower case; repeated list headers are joined, as RFC 9110 allows)."""
    accept, if_none_match, if_modified_since = [], [], None
    for name, value in raw:
        if name == b"accept-encoding":
            accept.append(value.decode("latin-1"))
        elif name == b"if-none-match":
            if_none_match.append(value.decode("latin-1"))
        elif name == b"if-modified-since":
            if_modified_since = value.decode("latin-1")
    return (",".join(accept), ",".join(if_none_match) if if_none_match else None,
            if_modified_since)


def _page_and_limit(query_string: bytes) -> tuple[int, int | None, tuple[str, ...]]:
    """?page= and ?limit=, whole numbers from 1 (ValueError otherwise), and which of the
    two the URL named, in its order, for the self link to repeat."""
    if not query_string:
        return 1, None, ()
    pairs = parse_qsl(query_string.decode("latin-1"))
    query = dict(pairs)  # the last of a repeated parameter counts
    page, limit = query.get("page", "1"), query.get("limit")
    numbers = [int(page), None if limit is None else int(limit)]
    if numbers[0] < 1 or (numbers[1] is not None and numbers[1] < 1):
        raise ValueError(query_string)
    named = tuple(dict.fromkeys(name for name, _ in pairs if name in ("page", "limit")))
    return numbers[0], numbers[1], named


def response_headers(rendered: RenderedFeed, content_type: str, encoding: str | None,
                     status: int, max_age: int) -> RawHeaders:
    """The headers of one response for `rendered`, built once per coding and status.

    A 304 carries what the 200 would have (ETag, Last-Modified, Cache-Control, Vary),
    so a cache can refresh its stored copy, but no body headers.
    """
    key = (encoding, status)
    prepared = rendered.http_headers.get(key)
    if prepared is None:
        prepared = [
            (b"etag", rendered.etag_for(encoding).encode("latin-1")),
            (b"last-modified", rendered.last_modified.encode("latin-1")),
            (b"cache-control", f"public, max-age={max_age}".encode("latin-1")),
            (b"vary", b"Accept-Encoding"),
        ]
        if rendered.links:  # WebSub discovery (hub and self) by header, as 4 prefers
            prepared.append((b"link", rendered.links.encode("latin-1")))
        if status == 200:
            body = rendered.body if encoding is None else rendered.encoded[encoding]
            prepared += [(b"content-type", content_type.encode("latin-1")),
                         (b"content-length", str(len(body)).encode("latin-1"))]
            if encoding is not None:
                prepared.append((b"content-encoding", encoding.encode("latin-1")))
        rendered.http_headers[key] = prepared
    return prepared


async def send_rendered(rendered: RenderedFeed, content_type: str, max_age: int,
                        scope: Scope, send: Send) -> int:
    """Answer the request in `scope` with `rendered`: a 304 when the client's validators
    hold, else the body in the best content coding it accepts; return the status."""
    accept, if_none_match, if_modified_since = _conditional_headers(scope["headers"])
    encoding = choose_encoding(accept)
    if not_modified(if_none_match, if_modified_since, rendered):
        status, body = 304, b""
    else:
        status = 200
        body = rendered.body if encoding is None else rendered.encoded[encoding]
    headers = response_headers(rendered, content_type, encoding, status, max_age)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


class FeedEndpoint:
    """The ASGI endpoint for /feeds/<slug>.<fmt>."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self.requests: Counter[tuple[str, int]] = Counter()  # (format, status) -> count

    def flush_metrics(self) -> None:
        """Move the request counts into the Prometheus counter (before a scrape)."""
        counts, self.requests = self.requests, Counter()
        for (fmt, status), count in counts.items():
            metrics.FEED_REQUESTS.labels(fmt, str(status)).inc(count)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = scope["path_params"]
        slug, fmt = params["slug"], params["fmt"]
        if fmt not in FORMATS:
            await PlainTextResponse(f"unknown format {fmt!r}", 404)(scope, receive, send)
            return
        try:
            page, limit, named = _page_and_limit(scope["query_string"])
        except ValueError:
            await self._plain(fmt, 400, "page and limit must be whole numbers from 1",
                              scope, receive, send)
            return
        feeds = self.service.feeds  # a config reload swaps it; use one for the whole request
        rendered = feeds.cached(slug, fmt, page, limit, named)
        if rendered is None:
            try:
                rendered = await asyncio.to_thread(feeds.get, slug, fmt, page, limit, named)
            except UnknownTopic:
                await self._plain(fmt, 404, f"no topic {slug!r}", scope, receive, send)
                return
            except PageOutOfRange as error:
                await self._plain(fmt, 404, str(error), scope, receive, send)
                return
        status = await send_rendered(rendered, FORMATS[fmt], feeds.max_age, scope, send)
        self.requests[(fmt, status)] += 1

    async def _plain(self, fmt: str, status: int, message: str, scope: Scope,
                     receive: Receive, send: Send) -> None:
        self.requests[(fmt, status)] += 1
        await PlainTextResponse(message, status)(scope, receive, send)
