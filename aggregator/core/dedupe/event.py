"""Evidence that two items report the same event, not only that one copies the other.

MinHash over shingles (:mod:`.core`) recognises a wire copy; a trade-press article that
rewrites the release in its own words shares few shingles with it. What such a
rewrite does share is *what* it reports: the names of the company, drug, people and
places, the codes and numbers, and the rare content words. Two measures capture that:

* a TF-IDF cosine over the words of the title (weighted double) and the opening of the
  text, with document frequencies learned from the items the store has seen
  (:class:`TermStats`), so a word every release uses ("announced", "patients") weighs
  little and a rare name weighs a lot;
* the shared *entities* (capitalized names that are not sentence openers, codes that
  mix letters and digits), weighed by the same inverse document frequency.

Neither decides alone: :mod:`.decide` combines them with time and the anchor vetoes.
Features are computed once per item (in a document worker) and stored with its
fingerprint, so deciding needs no stored text.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from aggregator.core.dedupe.anchors import KIND_LABELS, AnchorSet
from aggregator.core.vocabulary import load

#: How much of the text after the title is read: the lead and the first paragraphs say
#: what happened; the rest of a release is background and boilerplate.
TEXT_CHARS = 1500
#: Terms kept per item (the most frequent): enough for the cosine, small to store.
MAX_TERMS = 60
#: Entities kept per item, in order of first mention.
MAX_ENTITIES = 24
#: A title word counts this many times: the headline names the event.
TITLE_WEIGHT = 2.0
#: The opening that must name the other item's subject (title and start of the lead).
HEAD_CHARS = 300

_VOCABULARY = load("event")
_STOPWORDS = frozenset(_VOCABULARY["stopwords"]["words"])
_NOT_NAMES = frozenset(_VOCABULARY["entities"]["not_names"]) | _STOPWORDS
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:['’.-][A-Za-z0-9]+)*|\d+(?:[.,]\d+)*%?")
_GENRES = tuple(_VOCABULARY["genres"]["labels"])
#: Regulators acting on a product, and company-name suffixes ("Bio", "Therapeutics"):
#: words a headline's first name may be, without telling whose story it is.
_NOT_SUBJECTS = frozenset(_VOCABULARY["entities"]["not_subjects"]) | frozenset(
    suffix.rstrip("?").lower() for suffix in load("anchors")["company"]["suffixes"])
_LEADING_CLAUSES = tuple(_VOCABULARY["entities"]["leading_clauses"])
#: A generic happening ("financing") stands for the specific ones it may be reported as.
_GENERALIZES = {entry["name"]: frozenset(entry["generalizes"])
                for kind in ("event", "milestone") for entry in load("anchors")[kind]
                if entry.get("generalizes")}
_NAME_GOES_ON = re.compile(r"[ ](?!(?:The|A|An|In|On|At|For|And|Of|To)\b)[A-Z][A-Za-z0-9]")
_SENTENCE_END = re.compile(r"[.!?:;\"“”()]\s*$|^\s*$")


@dataclass(frozen=True, slots=True)
class EventFeatures:
    """What an item says, for comparing events: weighted term counts and entities."""

    terms: Mapping[str, float]
    entities: tuple[str, ...]
    #: The first name the headline gives that the text also treats as a name: who or
    #: what the item is about ("Corvane", "Rotterdam"), or None.
    subject: str | None = None
    #: Every word of the headline and the opening of the lead.
    head: frozenset[str] = frozenset()
    #: The headline labels the piece as discussion ("Analysis: ..."), not a report.
    commentary: bool = False

    def to_dict(self) -> dict[str, object]:
        return {"t": dict(self.terms),
                "e": list(self.entities), "s": self.subject, "h": sorted(self.head),
                "c": self.commentary}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EventFeatures:
        terms, entities, head = data.get("t") or {}, data.get("e") or [], data.get("h") or []
        subject = data.get("s")
        if not (isinstance(terms, Mapping) and isinstance(entities, list)
                and isinstance(head, list) and (subject is None or isinstance(subject, str))):
            raise ValueError("not event features")
        return cls({str(k): float(v) for k, v in terms.items()}, tuple(map(str, entities)),
                   subject, frozenset(map(str, head)), bool(data.get("c")))


def _term(token: str) -> str | None:
    """The comparable form of a token, or None for words that say nothing."""
    word = token.lower().replace("’", "'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) < 2 or word in _STOPWORDS:
        return None
    return word


def _is_entity(token: str, sentence_start: bool) -> bool:
    """A name or code: capitalized (not merely because it opens a sentence), all
    capitals, mixed case, or letters with digits."""
    if not token[0].isalpha():
        return False
    has_digit = any(c.isdigit() for c in token)
    inner_upper = any(c.isupper() for c in token[1:])
    if token.lower() in _NOT_NAMES:
        return False
    if has_digit or inner_upper:
        return len(token) >= 2
    return token[0].isupper() and not sentence_start and len(token) >= 3


def event_features(title: str, text: str) -> EventFeatures:
    """Features of an item from its plain-text title and body."""
    counts: Counter[str] = Counter()
    for match in _TOKEN.finditer(title):
        term = _term(match.group())
        if term:
            counts[term] += TITLE_WEIGHT
    opening = text[:TEXT_CHARS]
    entities: dict[str, None] = {}
    for match in _TOKEN.finditer(opening):
        token = match.group()
        term = _term(token)
        if term:
            counts[term] += 1.0
            before = opening[max(0, match.start() - 3):match.start()]
            # A capitalized word opening a sentence is a name when the next word is one
            # too ("Tuwyqui Bio said"), not when it is prose ("Shares rose").
            start = _SENTENCE_END.search(before) is not None and not _NAME_GOES_ON.match(
                opening, match.end())
            if len(entities) < MAX_ENTITIES and _is_entity(token, start):
                entities.setdefault(term, None)
    top = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:MAX_TERMS])
    return EventFeatures(
        terms={t: round(1.0 + math.log(c), 3) for t, c in top.items()},  # as stored
        entities=tuple(entities),
        subject=_subject(title, entities),
        head=frozenset(_terms(title) | _terms(text[:HEAD_CHARS])),
        commentary=_is_commentary(title),
    )


def _is_commentary(title: str) -> bool:
    label, colon, _ = title.partition(":")
    return bool(colon) and label.strip().lower() in _GENRES


def _terms(text: str) -> set[str]:
    return {term for match in _TOKEN.finditer(text) if (term := _term(match.group()))}


def _subject(title: str, entities: Mapping[str, None]) -> str | None:
    """The headline's first name that the text also capitalizes (Title Case makes every
    headline word look like one), after a short label ("ASCO: ...", "#JPM26: ...")."""
    label, colon, rest = title.partition(":")
    if colon and rest.strip() and len(label.split()) == 1:
        title = rest
    clause, comma, main = title.partition(",")
    if comma and main.strip() and clause.strip().lower().startswith(_LEADING_CLAUSES):
        title = main  # "One day after Quillon, Aster raises ...": Aster's story
    for match in _TOKEN.finditer(title):
        term = _term(match.group())
        if (term and len(term) >= 3 and term not in _NOT_NAMES and term not in _NOT_SUBJECTS
                and term in entities):
            return term
    return None


class TermStats:
    """Document frequencies of terms and entities over the items seen so far.

    Kept in memory and updated as items are stored (seeded from the store's recent
    items when a process starts), so weights follow what this service actually reads:
    in a biotech newsroom "patients" is common, in general news it is not.
    """

    __slots__ = ("_weights", "df", "docs")

    def __init__(self) -> None:
        self.docs = 0
        self.df: Counter[str] = Counter()
        self._weights: dict[int, tuple[EventFeatures, dict[str, float]]] = {}

    def add(self, features: EventFeatures) -> None:
        self.docs += 1
        self.df.update(set(features.terms) | set(features.entities))
        self._weights.clear()  # the weights depend on the counts

    def weighted(self, features: EventFeatures) -> dict[str, float]:
        """`features`' TF-IDF vector; the last few asked for are kept while no document
        is added (one new item is weighed against each of its candidates)."""
        key = id(features)
        cached = self._weights.get(key)
        if cached is None or cached[0] is not features:
            cached = (features, _weighted(features.terms, self))
            if len(self._weights) >= 64:
                self._weights.clear()
            self._weights[key] = cached
        return cached[1]

    def idf(self, term: str) -> float:
        """Smoothed inverse document frequency (as scikit-learn's smooth_idf)."""
        return math.log((1 + self.docs) / (1 + self.df.get(term, 0))) + 1.0


@dataclass(frozen=True, slots=True)
class EventScore:
    cosine: float  # TF-IDF cosine of the two items' terms
    entity_overlap: float  # idf mass of shared entities / the smaller side's mass
    shared: tuple[str, ...]  # the shared entities, rarest first


def _weighted(terms: Mapping[str, float], stats: TermStats) -> dict[str, float]:
    return {term: count * stats.idf(term) for term, count in terms.items()}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    if len(a) > len(b):
        a, b = b, a
    dot = sum(value * b[term] for term, value in a.items() if term in b)
    norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
    return dot / norm if norm else 0.0


def _mass(entities: Iterable[str], stats: TermStats) -> float:
    return sum(stats.idf(entity) for entity in entities)


def event_score(a: EventFeatures, b: EventFeatures, stats: TermStats) -> EventScore:
    """How strongly `a` and `b` look like reports of one event."""
    cosine = _cosine(stats.weighted(a), stats.weighted(b))
    shared = sorted(set(a.entities) & set(b.entities), key=lambda e: (-stats.idf(e), e))
    smaller = min(_mass(a.entities, stats), _mass(b.entities, stats))
    overlap = _mass(shared, stats) / smaller if smaller else 0.0
    return EventScore(cosine, overlap, tuple(shared))


# -- the decision for one pair ---------------------------------------------------------

#: Reports of one event arrive within hours to a couple of days; a follow-up (results
#: months after dosing, an analysis next week) is another story.
EVENT_HOURS = 48.0
#: score = cosine + ENTITY_WEIGHT x shared-entity overlap; merge at EVENT_THRESHOLD ...
ENTITY_WEIGHT = 0.5
EVENT_THRESHOLD = 0.3
#: ... and never on shared names alone: two releases of one company share its name,
#: ticker and city whatever they announce.
MIN_COSINE = 0.15
#: Anchor kinds that name *what* an item is about: headlines that name different ones
#: report different things (see .anchors). Only headlines count: a rewrite's lead names
#: background (the company's other trials, an earlier phase) that its headline does not.
#: Measures (amounts, percentages, counts) are left out: a rewrite headlines another
#: figure of the same news (the stock's jump, not the trial's result).
IDENTITY_KINDS = frozenset(
    {"disease", "period", "phase", "trial", "drug", "company", "ticker", "target"})
#: Anchor kinds that say what happened; headlines naming different ones differ.
HAPPENING_KINDS = ("event", "milestone", "regulatory", "meeting")


@dataclass(frozen=True, slots=True)
class EventEvidence:
    """Why two items are, or are not, reports of one event."""

    score: float
    cosine: float
    entity_overlap: float
    shared: tuple[str, ...]
    hours_apart: float
    vetoes: tuple[str, ...]

    @property
    def same(self) -> bool:
        """Close in time, similar enough, no veto, and at least one name in common:
        reports of one event name its company, people or places; two texts that share
        only common words ("Wire 5 story 2" and "Wire 6 story 4") are templates."""
        return (not self.vetoes and bool(self.shared) and self.hours_apart <= EVENT_HOURS
                and self.cosine >= MIN_COSINE and self.score >= EVENT_THRESHOLD)

    def describe(self) -> str:
        parts = [f"event score {self.score:.2f} (text {self.cosine:.2f} + "
                 f"{ENTITY_WEIGHT:g} x names {self.entity_overlap:.2f}; "
                 f"merges at {EVENT_THRESHOLD:g} with text >= {MIN_COSINE:g})",
                 f"{self.hours_apart:.0f} h apart (at most {EVENT_HOURS:g})"]
        if self.shared:
            parts.append("shared names: " + ", ".join(self.shared[:8]))
        parts += [f"veto: {veto}" for veto in self.vetoes]
        return "; ".join(parts)


def _headline_values(anchors: Iterable[tuple[str, tuple[str, ...], tuple[str, ...]]],
                     kinds: Iterable[str]) -> dict[str, set[str]]:
    wanted = set(kinds)
    return {kind: set(title) for kind, title, _ in anchors if kind in wanted and title}


def _specific(happenings: set[str]) -> set[str]:
    """A headline's happenings, a generic one widened to what it may stand for when the
    headline names nothing more specific."""
    generic = {h for h in happenings if h in _GENERALIZES}
    if happenings and generic == happenings:
        return happenings.union(*(_GENERALIZES[h] for h in generic))
    return happenings


def event_vetoes(a: EventFeatures, b: EventFeatures, anchors_a: AnchorSet,
                 anchors_b: AnchorSet) -> list[str]:
    """Positive evidence, in words, that `a` and `b` report different events."""
    head_a = _headline_values(anchors_a, (*IDENTITY_KINDS, *HAPPENING_KINDS))
    head_b = _headline_values(anchors_b, (*IDENTITY_KINDS, *HAPPENING_KINDS))
    found = [f"{KIND_LABELS.get(kind, kind)} differs: {', '.join(sorted(head_a[kind]))} vs "
             f"{', '.join(sorted(head_b[kind]))}"
             for kind in sorted(IDENTITY_KINDS & head_a.keys() & head_b.keys())
             if not head_a[kind] & head_b[kind]]
    if a.commentary != b.commentary:
        found.append("one is a piece of analysis or opinion, the other a report")
    what_a = _specific(set().union(*(head_a.get(kind, set()) for kind in HAPPENING_KINDS)))
    what_b = _specific(set().union(*(head_b.get(kind, set()) for kind in HAPPENING_KINDS)))
    if what_a and what_b and not what_a & what_b:
        found.append(f"the headlines report different things: {', '.join(sorted(what_a))} "
                     f"vs {', '.join(sorted(what_b))}")
    if a.subject and b.subject and (a.subject not in b.head or b.subject not in a.head):
        found.append(f"the headlines are about different subjects: {a.subject} vs {b.subject}")
    return found


def weigh_event(a: EventFeatures, b: EventFeatures, anchors_a: AnchorSet,
                anchors_b: AnchorSet, hours_apart: float, stats: TermStats) -> EventEvidence:
    """Every component of the decision whether `a` and `b` report one event."""
    score = event_score(a, b, stats)
    return EventEvidence(
        score=score.cosine + ENTITY_WEIGHT * min(score.entity_overlap, 1.0),
        cosine=score.cosine,
        entity_overlap=score.entity_overlap,
        shared=score.shared,
        hours_apart=hours_apart,
        vetoes=tuple(event_vetoes(a, b, anchors_a, anchors_b)),
    )
