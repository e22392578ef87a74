"""When to poll a source next: adaptive intervals, publisher hints and backoff.

Pure arithmetic on numbers the caller passes (no clock reads), so every rule is
easy to test:

* A source that answers is polled within [base, maximum]: `base` is its configured
  interval, `maximum` the ceiling the curator allows it to stretch to (equal to `base`
  unless a max_interval is configured, see Config.poll_bounds).
* Within those bounds it is polled about twice per item it publishes: the mean gap
  between its entries' own dates over the last week, halved. A busy wire is asked
  every `base` seconds, a feed that posts twice a week every `maximum`.
* Without dates to go by (a 304, a feed without dates) a quiet answer stretches the
  previous interval by GROWTH and an answer with news returns to `base`.
* The publisher's cache hints (Cache-Control max-age, Expires, RSS <ttl>) are lower
  bounds, themselves capped by `maximum`: a one-year max-age cannot silence a source,
  nor a one-hour one stretch a feed the curator wants every two minutes.
* A failing source backs off exponentially with jitter, up to `cap` (backoff_max);
  Retry-After on 429/503 is a floor there, capped by `cap` too.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

GROWTH = 1.5  # an unchanged feed is asked a little less often each time
JITTER = 0.2  # ±20% so failing sources do not retry in lock-step
POLLS_PER_ITEM = 2.0  # poll about twice per expected new entry
RATE_WINDOW = 7 * 86400.0  # entries older than this say nothing about today's pace
MIN_DATED_ENTRIES = 2


def mean_gap_seconds(
    published: Iterable[float], now: float, window: float = RATE_WINDOW
) -> float | None:
    """Mean seconds between a feed's entries over the last `window`, or None if it has
    fewer than two dated entries in it.

    The span runs from the oldest recent entry to `now`, not to the newest entry, so a
    feed that has gone quiet since its last post is seen as slower, not as fast.
    """
    recent = [t for t in published if now - window <= t <= now]
    if len(recent) < MIN_DATED_ENTRIES:
        return None
    return max(now - min(recent), 1.0) / len(recent)


def next_interval(
    *,
    base: float,
    maximum: float,
    previous: float | None,
    changed: bool,
    mean_gap: float | None = None,
    publisher_floor: float | None = None,
    ttl_minutes: int | None = None,
) -> float:
    """Seconds until the next poll of a source that answered (200 or 304)."""
    if mean_gap is not None:
        interval = mean_gap / POLLS_PER_ITEM
    elif changed or previous is None:
        interval = base
    else:
        interval = previous * GROWTH
    ceiling = max(base, maximum)
    interval = min(ceiling, max(base, interval))
    hint = max(publisher_floor or 0.0, (ttl_minutes or 0) * 60.0)
    return max(interval, min(hint, ceiling))


def backoff_interval(
    *,
    base: float,
    failures: int,
    cap: float,
    publisher_floor: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next attempt after `failures` consecutive failures (>= 1):
    base, 2×base, 4×base… each ±JITTER, never beyond `cap`; Retry-After is a floor."""
    rng = rng or random
    exponent = min(max(failures - 1, 0), 30)
    delay = min(cap, base * (2**exponent))
    delay *= 1 + rng.uniform(-JITTER, JITTER)
    return max(min(delay, cap), min(publisher_floor or 0.0, cap))
