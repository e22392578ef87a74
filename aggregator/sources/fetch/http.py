"""The http and https retriever: conditional GETs with httpx, bodies decoded under the cap.

Many small clients instead of one large pool, TLS loaded once per process, and every
httpx failure turned into a `FetchResult` with a precise error. Bodies are read raw and
decoded by `decode`, so the size cap bounds memory, not just what is kept.
"""

from __future__ import annotations

import functools
import ssl
import zlib

import httpx

from aggregator.config import FetchConfig
from aggregator.models import FetchRequest, FetchResult, FetchStatus
from aggregator.sources.fetch.decode import (
    ACCEPT_ENCODING,
    BadEncoding,
    BodyTooLarge,
    EncodingRefused,
    read_decoded,
)
from aggregator.sources.fetch.freshness import poll_floor_seconds
from aggregator.sources.fetch.retriever import fetch_error
from aggregator.version import __version__

PERMANENT_REDIRECTS = {301, 308}
MAX_CLIENTS = 32
FEED_ACCEPT = (
    "application/atom+xml, application/rss+xml, application/rdf+xml, "
    "application/feed+json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The certificate store, loaded once per process: loading it costs ~20 ms, which
    every client of every cycle would pay again."""
    return httpx.create_ssl_context()


def user_agent(contact: str) -> str:
    """The User-Agent every request carries: who we are and how to reach the operator."""
    return f"newswire-aggregator/{__version__} (+{contact})"


class HttpRetriever:
    """Fetches http and https URLs; requests compete for their host's slots."""

    per_host = True
    deadline = True

    def __init__(self, config: FetchConfig):
        self.config = config
        # Many small clients instead of one large pool: httpx's pool bookkeeping per
        # request grows with the pool's connections times its queued requests (httpx
        # issue 3215). One client per two fetch slots made 1,000 conditional requests
        # over loopback take about 0.9 s of CPU instead of 1.6 s with four clients.
        self._client_count = max(1, min(MAX_CLIENTS, config.concurrency // 2))
        self._clients: list[httpx.AsyncClient] = []

    async def open(self) -> None:
        per_client = self.config.concurrency // self._client_count + 2
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        headers = {
            "User-Agent": user_agent(self.config.contact),
            "Accept": FEED_ACCEPT,
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._clients = [
            httpx.AsyncClient(
                limits=limits,
                timeout=httpx.Timeout(self.config.timeout),
                headers=headers,
                follow_redirects=True,
                max_redirects=self.config.max_redirects,
                verify=tls_context(),
            )
            for _ in range(self._client_count)
        ]

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def _client_for(self, url: str) -> httpx.AsyncClient:
        """Sources are spread over the clients by URL, so even one host's many feeds share
        the work (and a source keeps its client, hence its keep-alive connection)."""
        return self._clients[zlib.crc32(url.encode()) % len(self._clients)]

    async def retrieve(self, request: FetchRequest) -> FetchResult:
        try:
            return await self._get(request)
        except BodyTooLarge:
            return fetch_error(
                request, f"response larger than the {self.config.max_bytes:,}-byte cap: aborted"
            )
        except EncodingRefused as error:
            return fetch_error(request, str(error))
        except BadEncoding as error:
            return fetch_error(request, f"body does not match its Content-Encoding: {error}")
        except httpx.TooManyRedirects:
            return fetch_error(
                request, f"too many redirects (more than {self.config.max_redirects})"
            )
        except httpx.DecodingError as error:
            return fetch_error(request, f"body does not match its Content-Encoding: {error}")
        except httpx.ConnectTimeout:
            return fetch_error(request, f"connect timeout after {self.config.timeout:g}s")
        except httpx.ReadTimeout:
            return fetch_error(request, f"read timeout: no data for {self.config.timeout:g}s")
        except httpx.TimeoutException as error:
            return fetch_error(request, f"timeout: {type(error).__name__}")
        except httpx.ConnectError as error:
            return fetch_error(request, f"cannot connect: {error}")
        except httpx.RemoteProtocolError as error:
            return fetch_error(request, f"protocol error: {error}")
        except httpx.HTTPError as error:
            return fetch_error(request, f"{type(error).__name__}: {error}")
        except OSError as error:
            return fetch_error(request, f"network error: {error}")

    async def _get(self, request: FetchRequest) -> FetchResult:
        headers = {}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        client = self._client_for(request.url)
        async with client.stream("GET", request.url, headers=headers) as response:
            base = _result_from_response(request, response)
            if response.status_code == 304:
                # Read the (empty) body so the connection goes back to the pool; a
                # response left unread closes it, and the next poll pays a new one.
                await response.aread()
                base.status = FetchStatus.NOT_MODIFIED
                return base
            if response.status_code == 410:
                base.status = FetchStatus.GONE
                base.error = "410 Gone: the publisher removed this feed"
                return base
            if response.status_code >= 400 or response.status_code < 200:
                base.status = FetchStatus.ERROR
                base.error = f"HTTP {response.status_code} {response.reason_phrase}".strip()
                return base
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > self.config.max_bytes:
                raise BodyTooLarge
            base.body = await read_decoded(
                response.aiter_raw(),
                response.headers.get("content-encoding"),
                self.config.max_bytes,
            )
            base.bytes_read = len(base.body)
            return base


def _result_from_response(request: FetchRequest, response: httpx.Response) -> FetchResult:
    final_url = str(response.url)
    history = response.history
    permanent = None
    if history and all(hop.status_code in PERMANENT_REDIRECTS for hop in history):
        permanent = final_url
    return FetchResult(
        source=request.source,
        url=request.url,
        status=FetchStatus.OK,
        final_url=final_url,
        http_status=response.status_code,
        content_type=response.headers.get("content-type"),
        headers=dict(response.headers),
        etag=response.headers.get("etag") or request.etag,
        last_modified=response.headers.get("last-modified") or request.last_modified,
        permanent_redirect=permanent,
        retry_after=poll_floor_seconds(response.headers, response.status_code),
    )
