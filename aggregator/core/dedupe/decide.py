"""The store's decisions, as pure functions of the rows it read.

The store fetches what a decision needs (candidate copies, a story's copies, an item's
stored matches), calls one of these, and writes what it returns; it never knows how
the decision is made. So a better method (an event-level story model, say) replaces
the scoring inside `decide_story` without touching SQL, and every rule here is tested
with plain dataclasses (tests/test_dedupe_decide.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aggregator.core.dedupe.core import Fingerprint, MergeProbe, compare
from aggregator.models import (
    UNFINGERPRINTED,
    Candidate,
    MatchChanges,
    MergePolicy,
    StoryMember,
    StoryRow,
    StoryVerdict,
)

__all__ = ["choose_primary", "decide_story", "match_changes", "story_row"]


def decide_story(
    item_id: str,
    canonical_link: str | None,
    fingerprint: Fingerprint,
    candidates: Sequence[Candidate],
    policy: MergePolicy,
) -> StoryVerdict:
    """The story a new (or newly fingerprinted) item joins, from the stored copies the
    store found for it within the dedupe window.

    A copy with the same canonical link decides first (the earliest seen: the first
    given among equals); otherwise the most similar copy that `compare` accepts. Copies
    never fingerprinted (outside the dedupe scope) and the item itself never count.
    """
    usable = [c for c in candidates if c.item_id != item_id and c.fingerprint != UNFINGERPRINTED]
    if canonical_link:
        same_link = [c for c in usable if c.canonical_link == canonical_link]
        if same_link:
            first = min(same_link, key=lambda c: c.first_seen)
            return StoryVerdict(first.story_id, first.item_id, 1.0, "same canonical link")
    return _most_similar(fingerprint, usable, policy)


def _most_similar(
    fingerprint: Fingerprint, candidates: Sequence[Candidate], policy: MergePolicy
) -> StoryVerdict:
    """The copy `compare` merges with the highest similarity (the first of equals)."""
    probe = MergeProbe(fingerprint, policy.threshold)
    best: StoryVerdict | None = None
    vetoes: list[str] = []
    for candidate in candidates:
        if not probe.may_merge(candidate.fingerprint):
            continue  # far from similar, judged from the signature alone
        verdict = compare(
            fingerprint, Fingerprint.from_json(candidate.fingerprint), policy.threshold
        )
        if not verdict.same:
            vetoes.append(f"{candidate.item_id}: {verdict.reason}")
        elif best is None or verdict.similarity > best.similarity:
            best = StoryVerdict(
                candidate.story_id, candidate.item_id, verdict.similarity, verdict.reason
            )
    if best is None:
        return StoryVerdict(None, None, 0.0, "no stored copy is similar enough", tuple(vetoes))
    return StoryVerdict(best.story_id, best.item_id, best.similarity, best.reason, tuple(vetoes))


def choose_primary(copies: Sequence[StoryMember], source_preference: Sequence[str]) -> StoryMember:
    """The copy a story's feed entry shows: the most preferred source's, then the
    earliest published, then the earliest seen (then the smallest id, so every
    process chooses alike)."""
    rank = {name: index for index, name in enumerate(source_preference)}
    return min(
        copies, key=lambda c: (rank.get(c.source, len(rank)), c.published, c.first_seen, c.item_id)
    )


def story_row(
    story_id: str, copies: Sequence[StoryMember], source_preference: Sequence[str]
) -> StoryRow:
    """A story's row from its copies (at least one).

    Published is the earliest copy's; updated the latest of the copies' own dates (an
    entry's updated date, or the time an edit was seen), so it moves only when a copy
    arrives or changes, never merely because time passed.
    """
    return StoryRow(
        story_id=story_id,
        primary_item_id=choose_primary(copies, source_preference).item_id,
        published=min(c.published for c in copies),
        updated=max(max(c.published, c.updated or 0.0) for c in copies),
    )


def match_changes(before: Mapping[str, str], after: Mapping[str, str]) -> MatchChanges:
    """How an item's stored matches (topic -> hits as stored) go from `before` to `after`.

    The item is new or was edited, so every topic it matches now shows a changed
    entry; a topic it no longer matches loses one: all those feeds get a new version.
    """
    changed = {t for t in before.keys() | after.keys() if before.get(t) != after.get(t)}
    return MatchChanges(
        upsert={t: after[t] for t in changed if t in after},
        delete=frozenset(t for t in changed if t not in after),
        bump=frozenset(changed | after.keys()),
    )
