"""/feeds.opml with the validators, 304s and content codings of the feeds.

The list changes only when the config does (topics, public base URL), so it is
rendered once per loaded config; Last-Modified is when this process first served
that content, and stays put across a reload that leaves the bytes alone.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from aggregator import clock
from aggregator.publish.cache import RenderedFeed, rendered_feed
from aggregator.publish.opml import render_opml
from aggregator.run.service import Service
from aggregator.web.feedhttp import send_rendered

OPML_TYPE = "text/x-opml; charset=utf-8"


class OpmlEndpoint:
    """The ASGI endpoint for /feeds.opml."""

    def __init__(self, service: Service) -> None:
        self.service = service
        self._config: object = None
        self._rendered: RenderedFeed | None = None

    def current(self) -> RenderedFeed:
        """The rendering for the running config (a reload swaps the config object)."""
        config = self.service.config
        previous = self._rendered
        if previous is None or self._config is not config:
            body = render_opml(config.topics, config.server.public_base())
            if previous is None or previous.body != body:
                self._rendered = rendered_feed(body, float(int(clock.now())), 0, previous)
            self._config = config
        assert self._rendered is not None
        return self._rendered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_rendered(self.current(), OPML_TYPE, self.service.feeds.max_age, scope, send)
