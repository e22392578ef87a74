"""What a curator sees of match strength (issue 17): `explain` and `preview --rejected`,
on a real RSS feed polled into a real SQLite store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import run_cli, write_config
from tests.feedserver import FeedServer, Route
from tests.harness import Entry, rss

TOPIC = """
[[topics]]
slug = "car-t"
title = "CAR-T"
include = ["CAR-T"]
"""
# The issuer's "About" paragraph: it repeats in every release, and says CAR-T.
ABOUT = (
    "Kelvara Bio is a clinical-stage biotechnology company developing CAR-T therapies "
    "for autoimmune disease, headquartered in Cambridge, Massachusetts."
)
NOW = datetime.now(UTC).replace(microsecond=0)


def release(n: int, title: str, lead: str) -> Entry:
    body = f"<p>{lead}</p><p>The company will host a call at 8:00 a.m.</p><p>{ABOUT}</p>"
    return Entry(
        guid=f"kv-{n}",
        title=title,
        published=NOW - timedelta(hours=n),
        link=f"https://wire.example/kelvara-{n}",
        summary=body,
    )


def test_explain_and_preview_show_scores_locations_and_what_was_dropped(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.routes["/wire.rss"] = Route(
        rss(
            [
                release(
                    1,
                    "Kelvara Doses First Patient With CAR-T KLV-101 in Lupus",
                    "Kelvara Bio today dosed the first patient with KLV-101, its CAR-T therapy.",
                ),
                release(
                    2,
                    "Kelvara Bio Names Dana Whitcombe Chief Financial Officer",
                    "Kelvara Bio today named Dana Whitcombe chief financial officer.",
                ),
            ]
        )
    )
    config = write_config(
        tmp_path / "config.toml", {"Wire": feed_server.url("/wire.rss")}, topics=TOPIC
    )
    run_cli("poll", "--config", str(config))

    preview = run_cli("preview", "car-t", "--rejected", "--config", str(config)).stdout
    kept, rejected = preview.split("would be published in car-t")
    assert "Kelvara Doses First Patient" in kept
    assert "matched: CAR-T (title), CAR-T (lead), CAR-T (boilerplate); score" in kept
    assert "Chief Financial Officer" not in kept
    assert "1 items have the topic's terms but were not kept (min_score 1.8)" in rejected
    assert "Kelvara Bio Names Dana Whitcombe Chief Financial Officer" in rejected
    assert "include: score 0.10 below 1.80 (min_score): 'CAR-T' in boilerplate" in rejected

    explained = run_cli("explain", "https://wire.example/kelvara-2", "--config", str(config)).stdout
    assert "topic car-t: does not match (score 0.10, min_score 1.8)" in explained
    # learned from the store: the About paragraph repeats across the issuer's releases
    assert "boilerplate 0.10  'CAR-T'  «…Bio is a clinical-stage biotechnology" in explained
