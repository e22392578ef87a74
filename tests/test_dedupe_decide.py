"""The store's decisions as pure functions: plain dataclasses in, verdicts out, no database."""

from __future__ import annotations

from aggregator.core.dedupe import fingerprint
from aggregator.core.dedupe.decide import choose_primary, decide_story, match_changes, story_row
from aggregator.models import UNFINGERPRINTED, Candidate, MergePolicy, StoryMember

POLICY = MergePolicy()
TITLE = "Nuvexa Bio doses first patient with allogeneic CAR-T NVX-201 in lupus"
LEAD = (
    "Nuvexa Bio today announced that the first patient has been dosed in its phase 1 "
    "study of NVX-201, an allogeneic CAR-T cell therapy, in refractory systemic lupus."
)
RELEASE = fingerprint(TITLE, LEAD)
COPY = fingerprint("PRESS RELEASE: " + TITLE, LEAD)
# The same template about another disease: similar text, but the anchors disagree.
TEMPLATED = fingerprint(
    TITLE.replace("lupus", "myasthenia gravis"), LEAD.replace("systemic lupus", "myasthenia gravis")
)
UNRELATED = fingerprint(
    "Zeta Corp names a new chief financial officer",
    "Zeta Corp appointed a chief financial officer today, effective May 1.",
)


def candidate(
    item_id: str, story_id: str, stored: str, *, link: str | None = None, first_seen: float = 100.0
) -> Candidate:
    return Candidate(item_id, story_id, link, 50.0, first_seen, stored)


def test_a_copy_joins_the_story_of_its_stored_copy() -> None:
    verdict = decide_story(
        "new", None, COPY, 50.0, [candidate("a", "story-a", RELEASE.to_json())], POLICY
    )
    assert (verdict.story_id, verdict.item_id) == ("story-a", "a")
    assert verdict.similarity >= POLICY.threshold and "anchors agree" in verdict.reason


def test_nothing_similar_founds_a_new_story() -> None:
    verdict = decide_story(
        "new", None, COPY, 50.0, [candidate("z", "story-z", UNRELATED.to_json())], POLICY
    )
    assert verdict.story_id is None and verdict.item_id is None
    assert len(verdict.vetoes) == 1 and verdict.vetoes[0].startswith("z: similar 0.")
    assert decide_story("new", None, COPY, 50.0, [], POLICY).story_id is None


def test_a_templated_look_alike_is_vetoed_with_its_reason() -> None:
    verdict = decide_story(
        "new", None, RELEASE, 50.0, [candidate("t", "story-t", TEMPLATED.to_json())], POLICY
    )
    assert verdict.story_id is None
    assert len(verdict.vetoes) == 1 and verdict.vetoes[0].startswith("t: ")
    assert " but " in verdict.vetoes[0]  # similar enough, refused by an anchor


def test_the_most_similar_copy_wins_and_the_threshold_is_the_policys() -> None:
    near = candidate("near", "story-near", RELEASE.to_json())
    reworded = LEAD.replace(
        "in its phase 1 study of NVX-201, an allogeneic",
        "in the ongoing open-label phase 1 trial of NVX-201, its allogeneic",
    )
    farther = candidate("far", "story-far", fingerprint(TITLE, reworded).to_json())
    assert decide_story("new", None, COPY, 50.0, [farther, near], POLICY).story_id == "story-near"
    verdict = decide_story("new", None, COPY, 50.0, [farther], POLICY)
    assert verdict.story_id == "story-far" and 0.5 <= verdict.similarity < 0.7
    # Under a stricter copy threshold the reworded release is no copy, but it still
    # reports the same news at the same time: it joins as the same event.
    strict = decide_story("new", None, COPY, 50.0, [farther], MergePolicy(threshold=0.7))
    assert strict.story_id == "story-far" and strict.reason.startswith("same event: ")


def test_the_same_canonical_link_decides_before_similarity() -> None:
    link = "https://nuvexa.example/news/nvx-201"
    similar = candidate("s", "story-s", RELEASE.to_json())
    later = candidate("l2", "story-late", UNRELATED.to_json(), link=link, first_seen=200.0)
    earlier = candidate("l1", "story-early", UNRELATED.to_json(), link=link, first_seen=150.0)
    verdict = decide_story("new", link, COPY, 50.0, [similar, later, earlier], POLICY)
    assert (verdict.story_id, verdict.reason) == ("story-early", "same canonical link")
    # Without a link of its own the item is judged by similarity only.
    assert decide_story("new", None, COPY, 50.0, [similar, later], POLICY).story_id == "story-s"


def test_the_item_itself_and_unfingerprinted_rows_never_count() -> None:
    link = "https://nuvexa.example/news/nvx-201"
    itself = candidate("new", "story-new", RELEASE.to_json(), link=link)
    outside = candidate("o", "story-o", UNFINGERPRINTED, link=link)
    assert decide_story("new", link, COPY, 50.0, [itself, outside], POLICY).story_id is None


def member(
    item_id: str,
    source: str,
    published: float,
    first_seen: float = 0.0,
    updated: float | None = None,
) -> StoryMember:
    return StoryMember(item_id, source, published, first_seen, updated)


def test_the_primary_is_the_preferred_source_then_the_earliest() -> None:
    copies = [member("b", "GNW", 20.0), member("a", "PRN", 10.0), member("c", "BW", 30.0)]
    assert choose_primary(copies, ()).item_id == "a"
    assert choose_primary(copies, ("BW", "GNW")).item_id == "c"
    assert choose_primary(copies, ("Nobody",)).item_id == "a"
    tied = [member("y", "X", 10.0, first_seen=5.0), member("x", "X", 10.0, first_seen=9.0)]
    assert choose_primary(tied, ()).item_id == "y"  # then the earliest seen
    assert choose_primary([member("q", "X", 1.0), member("p", "X", 1.0)], ()).item_id == "p"


def test_a_story_spans_its_copies_dates() -> None:
    row = story_row(
        "s",
        [
            member("a", "PRN", 10.0, updated=40.0),
            member("b", "GNW", 20.0),
            member("c", "BW", 50.0, updated=None),
        ],
        ("GNW",),
    )
    assert (row.story_id, row.primary_item_id, row.published, row.updated) == ("s", "b", 10.0, 50.0)
    alone = story_row("a", [member("a", "PRN", 10.0, updated=5.0)], ())
    assert (alone.primary_item_id, alone.published, alone.updated) == ("a", 10.0, 10.0)


def test_match_changes_write_the_difference_and_bump_every_feed_showing_the_item() -> None:
    changes = match_changes(
        {"kept": "h1", "edited": "h1", "gone": "h1"}, {"kept": "h1", "edited": "h2", "added": "h3"}
    )
    assert changes.upsert == {"edited": "h2", "added": "h3"}
    assert changes.delete == {"gone"}
    assert changes.bump == {"kept", "edited", "gone", "added"}
    new = match_changes({}, {"t": "h"})
    assert (new.upsert, new.delete, new.bump) == ({"t": "h"}, frozenset(), {"t"})
    assert match_changes({}, {}).bump == frozenset()
