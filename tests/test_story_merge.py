"""Cross-source story merging through the real store (SQLite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from aggregator.models import MergePolicy, TermHit
from aggregator.publish.page import feed_entry
from aggregator.store import open_store
from tests.test_store import make_item, outcome, record

LEAD = (
    "SHANGHAI, Nov. 9, 2026 /PRNewswire/ -- CARsgen Therapeutics Holdings Limited, a company "
    "focused on innovative CAR-T cell therapies, announced that its allogeneic CD19/CD20 CAR-T "
    "product candidate KJ-C2219 has been administered to the first patient with systemic lupus "
    "erythematosus in an investigator-initiated trial."
)
TITLE = ("CARsgen's Allogeneic CD19/CD20 CAR-T Therapy Administers First Dose in a Patient With "
         "Autoimmune Disease")
T0 = datetime(2026, 11, 9, 13, tzinfo=UTC)
HIT = {"t": [TermHit("CAR-T", "title")]}


@pytest.fixture
def store(tmp_path: Path):
    s = open_store(f"sqlite:///{tmp_path}/s.db")
    s.sync_sources([(n, f"https://{n}.example/f") for n in ("PRN", "GNW", "BW", "News")])
    yield s
    s.close()


DEFAULT_POLICY = MergePolicy()


def poll(store, source: str, title: str, lead: str, published: datetime,
         policy: MergePolicy = DEFAULT_POLICY):
    item = make_item(source, f"guid:{source}-{title}", title, lead, published=published)
    return store.record_poll(outcome(source, [record(item, HIT)]), policy), item


def test_later_copies_join_the_story_without_changing_its_id(store) -> None:
    _, first = poll(store, "PRN", TITLE, LEAD, T0)
    report, _ = poll(store, "GNW", "PRESS RELEASE: " + TITLE,
                     LEAD.replace("/PRNewswire/", "(GLOBE NEWSWIRE)"), T0 + timedelta(hours=1))
    assert report.merged == 1
    bw_lead = LEAD.replace("/PRNewswire/ --", "--(BUSINESS WIRE)--")
    report, _ = poll(store, "BW", TITLE + " - Business Wire", bw_lead, T0 + timedelta(hours=2))
    assert report.merged == 1
    stories = store.topic_stories("t", 10)
    assert len(stories) == 1
    assert stories[0].story_id == first.item_id
    assert stories[0].primary.source == "PRN"
    assert sorted(c.source for c in stories[0].copies) == ["BW", "GNW"]


def test_the_feed_entry_is_the_same_whichever_copy_came_first(tmp_path: Path) -> None:
    """Issue 16: a story's identity in the feeds does not depend on arrival order."""
    entry_ids = []
    for order in (("GNW", "PRN"), ("PRN", "GNW")):
        store = open_store(f"sqlite:///{tmp_path}/{'-'.join(order)}.db")
        store.sync_sources([(n, f"https://{n}.example/f") for n in order])
        items = {}
        for source in order:  # the PRN copy is the earlier one
            at = T0 if source == "PRN" else T0 + timedelta(hours=1)
            items[source] = poll(store, source, TITLE, LEAD, at)[1]
        story = store.topic_stories("t", 10)[0]
        assert story.primary.source == "PRN" and story.published == T0.timestamp()
        entry_ids.append(feed_entry(story).entry_id)
        store.close()
    assert entry_ids == [items["PRN"].item_id] * 2


def test_source_preference_chooses_the_primary(store) -> None:
    policy = MergePolicy(source_preference=("BW",))
    _, first = poll(store, "PRN", TITLE, LEAD, T0, policy)
    poll(store, "BW", TITLE, LEAD, T0 + timedelta(hours=3), policy)
    story = store.topic_stories("t", 10)[0]
    assert (story.story_id, story.primary.source) == (first.item_id, "BW")


def test_the_issuers_release_is_primary_over_coverage_that_came_earlier(store) -> None:
    article = ("CARsgen doses first lupus patient with off-the-shelf CD19/CD20 CAR-T",
               "CARsgen Therapeutics has dosed the first patient with systemic lupus "
               "erythematosus with KJ-C2219, an allogeneic CD19/CD20 CAR-T, in an "
               "investigator-initiated trial, the Shanghai company said.")
    _, news = poll(store, "News", *article, T0 - timedelta(hours=2))
    _, release = poll(store, "PRN", TITLE, LEAD, T0)
    [story] = store.topic_stories("t", 10)
    assert story.primary.item_id == release.item_id and story.primary.source == "PRN"
    assert [(c.source, c.coverage) for c in story.copies] == [("News", True)]


def test_templated_releases_stay_distinct(store) -> None:
    poll(store, "PRN", TITLE, LEAD, T0)
    sclerosis = LEAD.replace("systemic lupus erythematosus", "systemic sclerosis")
    poll(store, "PRN", TITLE.replace("Autoimmune Disease", "Systemic Sclerosis"), sclerosis,
         T0 + timedelta(days=6))
    assert len(store.topic_stories("t", 10)) == 2


def test_copies_outside_the_window_stay_distinct(store) -> None:
    policy = MergePolicy(window_seconds=2 * 86400)
    poll(store, "PRN", TITLE, LEAD, T0, policy)
    report, _ = poll(store, "GNW", TITLE, LEAD, T0 + timedelta(days=3), policy)
    assert report.merged == 0
    assert len(store.topic_stories("t", 10)) == 2


def test_same_canonical_link_merges_across_sources(store) -> None:
    _, first = poll(store, "PRN", TITLE, LEAD, T0)
    other = make_item("News", "guid:x", "Totally different headline wording here",
                      "A short unrelated-looking teaser.", published=T0 + timedelta(hours=5))
    other.canonical_link = first.canonical_link
    report = store.record_poll(outcome("News", [record(other, HIT)]), MergePolicy())
    assert report.merged == 1
