"""How long a publisher asks us to wait before polling again, from its HTTP headers."""

from __future__ import annotations

import email.utils
from datetime import UTC

import httpx

from aggregator import clock


def poll_floor_seconds(headers: httpx.Headers | dict[str, str], status: int) -> float | None:
    """The earliest the publisher wants to be asked again, from its own headers.

    Retry-After counts on 429/503; otherwise Cache-Control max-age, then Expires.
    """
    lowered = {key.lower(): value for key, value in headers.items()}
    if status in (429, 503) and "retry-after" in lowered:
        return _seconds_until(lowered["retry-after"])
    cache_control = lowered.get("cache-control", "")
    for directive in cache_control.split(","):
        name, _, value = directive.strip().partition("=")
        if name.lower() == "max-age" and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"'))
    if "expires" in lowered:
        return _seconds_until(lowered["expires"])
    return None


def _seconds_until(value: str) -> float | None:
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - clock.utcnow()).total_seconds())
