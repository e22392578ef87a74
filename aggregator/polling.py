"""When to poll a source next: adaptive intervals, publisher hints and backoff.

Pure arithmetic, no clock reads beyond what the caller passes, so it is easy to test.
"""

from __future__ import annotations

import random

GROWTH = 1.5  # an unchanged feed is asked a little less often each time
JITTER = 0.2  # ±20% so failing sources do not retry in lock-step


def next_interval(
    *,
    base: float,
    maximum: float,
    previous: float | None,
    changed: bool,
    publisher_floor: float | None = None,
    ttl_minutes: int | None = None,
) -> float:
    """Seconds until the next poll of a source that answered.

    A source that published something is asked again after `base` (the configured
    interval, which is also the minimum); each quiet answer stretches the interval by
    GROWTH up to `maximum`. The publisher's own hints (Cache-Control max-age, Expires,
    Retry-After, RSS <ttl>) are a lower bound.
    """
    if changed or previous is None:
        interval = base
    else:
        interval = min(maximum, max(base, previous * GROWTH))
    floors = [publisher_floor or 0.0, (ttl_minutes or 0) * 60.0]
    return max(interval, *floors)


def backoff_interval(
    *,
    base: float,
    failures: int,
    cap: float,
    publisher_floor: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next attempt after `failures` consecutive failures (>= 1)."""
    rng = rng or random
    exponent = min(max(failures - 1, 0), 30)
    delay = min(cap, base * (2**exponent))
    delay *= 1 + rng.uniform(-JITTER, JITTER)
    return max(min(delay, cap), publisher_floor or 0.0)
