"""Logging set-up: readable text for people, one JSON object per event for collectors.

Events carry their data as `extra` fields (a source poll logs source, status,
duration_ms, bytes, new, updated, ...), so the JSON form needs no message parsing and
the text form shows the same fields as `key=value`.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
# uvicorn repeats its message with ANSI colours as `color_message`: noise in both forms.
_DROPPED = {"color_message"}


def _extra_fields(record: logging.LogRecord) -> Iterator[tuple[str, Any]]:
    """The fields a caller attached with `extra=`, in the order given."""
    for key, value in record.__dict__.items():
        if key not in _STANDARD and key not in _DROPPED and not key.startswith("_"):
            yield key, value


class JsonFormatter(logging.Formatter):
    """One JSON object per line with the record's extra fields (source, status, ...)."""

    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        event.update(_extra_fields(record))
        if record.exc_info:
            event["exception"] = self.formatException(record.exc_info)
        return json.dumps(event, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`time level logger: message key=value ...` for people."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        extras = [
            f"{key}={value}"
            for key, value in _extra_fields(record)
            if key != "event" and value is not None
        ]
        return f"{base} {' '.join(extras)}" if extras else base


def setup_logging(fmt: str = "text", level: str = "INFO") -> None:
    """Send every log record, and Python warnings, to stderr in `fmt` ("text" or "json")."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.captureWarnings(True)  # a stray warning must not break one-JSON-per-line
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "apscheduler.scheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
