"""The file retriever: local files behave like a server with validators, so demos and
tests poll them cheaply, and their content type comes from the file's suffix."""

from __future__ import annotations

import email.utils
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from aggregator.config import FetchConfig
from aggregator.models import FetchRequest, FetchResult, FetchStatus
from aggregator.sources.fetch.retriever import fetch_error


class FileRetriever:
    """Reads file: URLs; no host to be polite to, nothing that could trickle."""

    per_host = False
    deadline = False

    def __init__(self, config: FetchConfig):
        self.config = config

    async def open(self) -> None:
        pass

    async def aclose(self) -> None:
        pass

    async def retrieve(self, request: FetchRequest) -> FetchResult:
        path = Path(url2pathname(urlsplit(request.url).path))
        try:
            stat = path.stat()
            result = FetchResult(
                source=request.source,
                url=request.url,
                status=FetchStatus.NOT_MODIFIED,
                final_url=request.url,
                etag=f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"',
                last_modified=email.utils.format_datetime(
                    datetime.fromtimestamp(int(stat.st_mtime), tz=UTC), usegmt=True
                ),
            )
            if request.etag == result.etag:
                return result
            if stat.st_size > self.config.max_bytes:
                return fetch_error(
                    request, f"file larger than the {self.config.max_bytes:,}-byte cap"
                )
            result.body = path.read_bytes()
        except FileNotFoundError:
            return fetch_error(request, f"no such file: {path}")
        except OSError as error:
            return fetch_error(request, f"cannot read {path}: {error.strerror or error}")
        result.status = FetchStatus.OK
        result.bytes_read = len(result.body)
        result.content_type = content_type(path)
        return result


# Our own table, not `mimetypes`: a system mime.types may map ".xml" to text/xml,
# which without a charset means US-ASCII and would misreport every non-ASCII file.
SUFFIX_TYPES = {
    ".xml": "application/xml",
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".json": "application/json",
}


def content_type(path: Path) -> str | None:
    """What a server would say the file is, from its suffix; None when the suffix says
    nothing, and the parser then goes by the content alone."""
    return SUFFIX_TYPES.get(path.suffix.lower())
