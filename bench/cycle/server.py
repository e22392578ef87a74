"""The benchmark's feed server: precomputed responses over asyncio, in its own process.

Run: python -m bench.cycle.server CORPUS_DIR   (prints the port it listens on)

A newswire's CDN answers a conditional request in microseconds; a test server in
Python that builds headers per request (http.server, a full ASGI stack) would make
the server the bottleneck and the benchmark measure it. So every response (200 with
ETag and Last-Modified, or 304) is built once as bytes and a request costs a dict
lookup and one write. HTTP/1.1 keep-alive; GET only.

`GET /_control/version?v=1` switches the feeds that have a version 1 to it (the
"10% changed" cycle); `v=0` switches back.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from email.utils import formatdate
from pathlib import Path

Responses = dict[bytes, tuple[bytes, bytes, bytes, bytes]]  # path -> etag, lm, 200, 304


def build(folder: Path, version: int, generated: float) -> Responses:
    """Precomputed responses of every feed as it is in `version`."""
    responses: Responses = {}
    for spec in json.loads((folder / "manifest.json").read_text()):
        name = spec["path"].rsplit("/", 1)[1]
        changed = version == 1 and spec["changed"]
        body = (folder / ("v1" if changed else "v0") / name).read_bytes()
        etag = b'"' + hashlib.sha1(body).hexdigest()[:16].encode() + b'"'
        modified = formatdate(generated + (3600 if changed else 0), usegmt=True).encode()
        label = spec["content_type"]  # as a careless server may send it, or not at all
        content_type = b"Content-Type: " + label.encode() + b"\r\n" if label else b""
        head = (
            b"HTTP/1.1 200 OK\r\n"
            + content_type
            + b"ETag: "
            + etag
            + b"\r\nLast-Modified: "
            + modified
            + b"\r\nContent-Length: "
            + str(len(body)).encode()
            + b"\r\n\r\n"
        )
        not_modified = (
            b"HTTP/1.1 304 Not Modified\r\nETag: " + etag + b"\r\nContent-Length: 0\r\n\r\n"
        )
        responses[spec["path"].encode()] = (etag, modified, head + body, not_modified)
    return responses


class FeedServer:
    def __init__(self, folder: Path):
        generated = (folder / "manifest.json").stat().st_mtime
        self.versions = [build(folder, 0, generated), build(folder, 1, generated)]
        self.current = self.versions[0]

    def respond(self, head: bytes) -> bytes:
        request_line, _, header_block = head.partition(b"\r\n")
        target = request_line.split(b" ")[1] if request_line.count(b" ") >= 2 else b"/"
        path, _, query = target.partition(b"?")
        if path == b"/_control/version":
            self.current = self.versions[1 if query == b"v=1" else 0]
            return b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"
        feed = self.current.get(path)
        if feed is None:
            return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
        etag, modified, full, not_modified = feed
        headers = {}
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        if_none_match = headers.get(b"if-none-match")
        if if_none_match == etag or (
            if_none_match is None and headers.get(b"if-modified-since") == modified
        ):
            return not_modified
        return full


class Connection(asyncio.Protocol):
    def __init__(self, server: FeedServer):
        self.server = server
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            self.transport.write(self.server.respond(head))


async def serve(folder: Path) -> None:
    server = FeedServer(folder)
    loop = asyncio.get_running_loop()
    listener = await loop.create_server(lambda: Connection(server), "127.0.0.1", 0, backlog=1024)
    print(listener.sockets[0].getsockname()[1], flush=True)
    await listener.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(Path(sys.argv[1])))
