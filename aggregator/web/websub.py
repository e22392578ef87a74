"""The WebSub callback, /websub/<sub_id>: a hub's verification (GET) and pushes (POST).

See aggregator.run.websub for what is answered and why. A pushed body is read up to
`[fetch] max_bytes`, the limit a polled document has.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from aggregator.run.service import Service


class WebSubCallback:
    """The endpoint; one per app."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def handle(self, request: Request) -> Response:
        sub_id = request.path_params["sub_id"]
        if request.method == "GET":
            status, text = await asyncio.to_thread(
                self.service.websub.verify, sub_id, dict(request.query_params)
            )
            return PlainTextResponse(text, status)
        limit = self.service.config.fetch.max_bytes
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return PlainTextResponse(f"more than {limit} bytes", 413)
        status = await self.service.take_push(
            sub_id,
            bytes(body),
            request.headers.get("x-hub-signature"),
            request.headers.get("content-type"),
        )
        return Response(status_code=status)
