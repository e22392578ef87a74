"""The store's decisions, as pure functions of the rows it read.

The store fetches what a decision needs (candidate copies, a story's copies, an item's
stored matches), calls one of these, and writes what it returns; it never knows how
the decision is made. So a better method (an event-level story model, say) replaces
the scoring inside `decide_story` without touching SQL, and every rule here is tested
with plain dataclasses (tests/test_dedupe_decide.py).
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence

from aggregator.core.dedupe.core import Fingerprint, MergeProbe, compare
from aggregator.core.dedupe.event import EVENT_HOURS, EventEvidence, TermStats, weigh_event
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
    published: float,
    candidates: Sequence[Candidate],
    policy: MergePolicy,
    *,
    members: Mapping[str, Sequence[Candidate]] | None = None,
    stats: TermStats | None = None,
    apart: Collection[str] = frozenset(),
) -> StoryVerdict:
    """The story a new (or newly fingerprinted) item joins, from the stored copies the
    store found for it by its index keys within the dedupe window.

    A copy with the same canonical link decides first (the earliest seen). Otherwise
    each candidate is judged as a *copy* (MinHash similarity, anchors agree: `compare`)
    or as a *report of the same event* (`weigh_event`: text and names shared, close in
    time, no veto), and the story of the strongest is joined if none of its copies
    (`members`, by story id) vetoes the item: a story grows only by items compatible
    with all it holds, so one bridging item never chains two events together.
    `apart` holds the items a curator split from this one; they never count. `stats`
    are the document frequencies the event evidence weighs words with.
    """
    stats = stats or TermStats()
    usable = [c for c in candidates if c.item_id != item_id and c.item_id not in apart
              and c.fingerprint != UNFINGERPRINTED]
    if canonical_link:
        same_link = [c for c in usable if c.canonical_link == canonical_link]
        if same_link:
            first = min(same_link, key=lambda c: c.first_seen)
            return StoryVerdict(first.story_id, first.item_id, 1.0, "same canonical link")
    judge = _Judge(fingerprint, published, policy, stats)
    # story -> (rank, similarity, item, reason): copies rank above reports of the event
    best: dict[str, tuple[float, float, str, str]] = {}
    for candidate in usable:
        rank, similarity, reason = judge.strength(candidate)
        if rank > best.get(candidate.story_id, (0.0, 0.0, "", ""))[0]:
            best[candidate.story_id] = (rank, similarity, candidate.item_id, reason)
        elif rank == 0.0:
            judge.refused.append(f"{candidate.item_id}: {reason}")
    for story_id, (_, similarity, copy_id, reason) in sorted(best.items(),
                                                              key=lambda kv: -kv[1][0]):
        against = judge.against_story((members or {}).get(story_id, ()), apart)
        if against is None:
            return StoryVerdict(story_id, copy_id, similarity, reason, tuple(judge.refused))
        judge.refused.append(f"story {story_id}: {against}")
    return StoryVerdict(None, None, 0.0, "no stored copy reports the same news",
                        tuple(judge.refused))


@functools.lru_cache(maxsize=512)
def decoded(stored_json: str) -> Fingerprint | None:
    """A stored fingerprint, decoded (None if unreadable). The same copies are candidates
    for item after item of one story, so the last 512 decoded are kept (about 10 MB)."""
    try:
        return Fingerprint.from_json(stored_json)
    except ValueError:
        return None


class _Judge:
    """Judges one new item against stored copies, decoding each stored copy once."""

    def __init__(self, fingerprint: Fingerprint, published: float, policy: MergePolicy,
                 stats: TermStats) -> None:
        self.fingerprint = fingerprint
        self.published = published
        self.policy = policy
        self.stats = stats
        self.refused: list[str] = []  # "item: why not", for logs and `explain`
        self.probe = MergeProbe(fingerprint, policy.threshold)
        self._decoded: dict[str, Fingerprint | None] = {}

    def _decode(self, candidate: Candidate) -> Fingerprint | None:
        if candidate.item_id not in self._decoded:
            self._decoded[candidate.item_id] = decoded(candidate.fingerprint)
        return self._decoded[candidate.item_id]

    def strength(self, candidate: Candidate) -> tuple[float, float, str]:
        """How surely `candidate` is the same story, as (rank, similarity, reason): a
        copy ranks 1 + its MinHash similarity, a report of the same event its event
        score (below 2), neither 0."""
        hours = abs(self.published - candidate.published) / 3600
        if hours > EVENT_HOURS and not self.probe.may_merge(candidate.fingerprint):
            # neither a copy (judged from the signature alone) nor news of the moment
            return 0.0, 0.0, f"far from similar and {hours:.0f} h apart"
        other = self._decode(candidate)
        if other is None:
            return 0.0, 0.0, "stored fingerprint unreadable"
        copy = compare(self.fingerprint, other, self.policy.threshold)
        if copy.same:
            return 1.0 + copy.similarity, copy.similarity, f"copy: {copy.reason}"
        event = self._event(candidate, other)
        if event.same:
            return min(event.score, 1.0), event.score, f"same event: {event.describe()}"
        return 0.0, 0.0, f"{copy.reason}; {event.describe()}"

    def _event(self, candidate: Candidate, other: Fingerprint) -> EventEvidence:
        hours = abs(self.published - candidate.published) / 3600
        return weigh_event(self.fingerprint.event, other.event, self.fingerprint.anchors,
                           other.anchors, hours, self.stats)

    def against_story(self, copies: Sequence[Candidate], apart: Collection[str]) -> str | None:
        """Why the item may not join a story holding `copies`, or None: a copy a curator
        split from it, or one that vetoes it (near-verbatim copies never do)."""
        for copy in copies:
            if copy.item_id in apart:
                return f"a curator split {copy.item_id} from this item"
            other = self._decode(copy)
            if other is None or compare(self.fingerprint, other, self.policy.threshold).same:
                continue
            vetoes = self._event(copy, other).vetoes
            if vetoes:
                return f"its copy {copy.item_id}: {vetoes[0]}"
        return None


def choose_primary(copies: Sequence[StoryMember], source_preference: Sequence[str]) -> StoryMember:
    """The copy a story's feed entry shows: the original where known. The most
    preferred source's, else the issuer's own release over articles about it, then the
    earliest published, then the earliest seen, then the smallest id. It depends only
    on the copies, never on the order they arrived in, so every process agrees."""
    rank = {name: index for index, name in enumerate(source_preference)}
    return min(copies, key=lambda c: (rank.get(c.source, len(rank)), not c.release, c.published,
                                      c.first_seen, c.item_id))


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
