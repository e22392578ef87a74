"""Field values as every parser hands them on: HTML or escaped text, aware UTC dates,
positive TTLs, so entries read the same whichever format they came from."""

from __future__ import annotations

import calendar
import html
from datetime import UTC, datetime
from typing import Any


def as_html(value: str | None, mime: str | None) -> str | None:
    """A decoded text/plain value re-escaped so it stays text; HTML as it is."""
    if value is None:
        return None
    return html.escape(value, quote=False) if mime == "text/plain" else value


def to_datetime(parsed: Any) -> datetime | None:
    """feedparser's UTC time tuple as an aware datetime; None when absent or absurd."""
    if not parsed:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def positive_int(value: Any) -> int | None:
    """An RSS <ttl> as minutes; None unless it is a positive integer."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None
