"""How much each hit counts: location weights, passing-mention cues, homonyms, score.

The rules (each general, none written for one item):

* Location weight (see `passages`): title 3, lead 2, body 1, boilerplate 0.1.
* Passing-mention cues discount a hit (x0.2) but keep it, naming the cue in `note`:
  - `comparison`: the term follows "unlike", "compared with", "rather than",
    "alternative to", "instead of", "versus", "than", ... within its clause;
  - `list`: the term is one short item of a list of three or more ("migraine, lupus
    and psoriasis");
  - `biography`: the sentence tells a career ("previously served", "prior to joining",
    "held roles", "where she led", ...).
* Abbreviations: a term written as a short all-caps word ("SLE", "MS") matches only
  as written (a curator who writes it in lowercase, "sle", means any case). When the
  item defines it ("Solid Lipid Emulsion (SLE)", found with the Schwartz-Hearst
  algorithm) with a long form that shares no word with the topic's terms, its hits
  count nothing; when a topic's only evidence is abbreviations the item never spells
  out, they count x0.2 (an MS or SLE story names the disease somewhere).
* Names: a lowercase term written capitalized mid-sentence ("the research vessel
  Lupus", "Silver Lupus", "Lupus Brewing Co.") is a name, discounted like a passing
  mention. A title in Title Case says nothing by its capitals; its hits are names when
  every other occurrence of the term is.
* Score: the weights of a topic's hits, largest first, summed with diminishing returns
  (the i-th counts 1/i), so a term repeated ten times in the body does not outweigh
  one headline hit. At most `MAX_PER_PLACE` occurrences per term and location are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from aggregator.core.match.abbreviations import definitions
from aggregator.core.match.index import PhraseIndex
from aggregator.core.match.passages import Passage
from aggregator.core.match.text import tokenize
from aggregator.models import TermHit

WEIGHTS = {"title": 3.0, "lead": 2.0, "body": 1.0, "boilerplate": 0.1}
DEFAULT_MIN_SCORE = 1.5
"""A topic's `min_score` unless it sets one: chosen on the development corpus."""
DISCOUNT = 0.2
MAX_PER_PLACE = 3
SNIPPET_CHARS = 60  # each side of a hit

_ABBREVIATION_RE = re.compile(r"[A-Z][A-Z0-9]{1,5}")
_COMPARISON_RE = re.compile(
    r"\b(?:unlike|compared\s+(?:with|to)|comparison\s+(?:with|to)|rather\s+than|"
    r"alternatives?\s+to|instead\s+of|in\s+contrast\s+(?:with|to)|versus|vs\.?|than|"
    r"advantages?\s+over|improve\s+(?:up)?on|differs?\s+from|distinct\s+from)\b[^.;:!?]{0,60}$"
)
_BIOGRAPHY_RE = re.compile(
    r"\b(?:previously\s+(?:served|was|held|led|worked)|prior\s+to\s+joining|before\s+joining|"
    r"held\s+(?:senior\s+|leadership\s+|various\s+)?(?:roles|positions)|"
    r"where\s+(?:he|she|they)\s+(?:led|oversaw|was|served|managed|directed|built|ran)|"
    r"most\s+recently|earlier\s+in\s+(?:his|her|their)\s+career|(?:his|her)\s+career|"
    r"has\s+served|served\s+as|joins\s+(?:us\s+)?from|spent\s+\w+\s+years|"
    r"brings\s+(?:more\s+than\s+|over\s+|nearly\s+)?\w+\s+years)\b"
)
_SENTENCE_END_RE = re.compile(r"[.!?](?=\s)|\s--\s|\s—\s")
_LIST_SPLIT_RE = re.compile(r",|;|\band\b|\bor\b|\bincluding\b|\bsuch\s+as\b")
_LIST_ITEM_WORDS = 5
_SENTENCE_START = set(".!?:;\"“‘'([—-")
_STOPWORDS = frozenset(
    "a an and or of the in on for to with by at as from its their is are be".split()
)


@dataclass(frozen=True, slots=True)
class Located:
    """One occurrence of a phrase in an item, weighed."""

    field: str
    location: str
    weight: float
    snippet: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class TermInfo:
    """What the scorer needs to know about a phrase id beyond its tokens."""

    case_sensitive: str | None  # the exact spelling an abbreviation must have, else None
    name_check: bool  # a lowercase one-word term: capitalized mid-sentence it is a name


def term_info(written: Iterable[str]) -> TermInfo:
    """A phrase's info from every spelling curators wrote it in."""
    spellings = list(written)
    exact = [s for s in spellings if _ABBREVIATION_RE.fullmatch(s.strip())]
    case_sensitive = exact[0].strip() if exact and len(exact) == len(spellings) else None
    name_check = any(
        " " not in s.strip() and s.strip().islower() and s.strip().isalpha() for s in spellings
    )
    return TermInfo(case_sensitive, name_check)


def is_abbreviation(term: str) -> bool:
    """A short all-caps term ("SLE", "MS", "RRMS")."""
    return bool(_ABBREVIATION_RE.fullmatch(term.strip()))


def locate(
    index: PhraseIndex,
    wanted: frozenset[int],
    info: Sequence[TermInfo],
    parts: Sequence[Passage],
) -> tuple[dict[int, list[Located]], dict[str, str]]:
    """Every weighed occurrence of the `wanted` phrases in the passages, by phrase id,
    and the abbreviations the item defines (abbreviation -> long form)."""
    found: dict[int, list[Located]] = {}
    kept: dict[tuple[int, str], int] = {}
    defined: dict[str, str] = {}
    title_case = False
    for part in parts:
        if part.location != "title":
            defined.update(definitions(part.text))
        else:
            title_case = _is_title_case(part.text)
        folded, occurrences = index.occurrences(part.text, wanted)
        same = len(folded) == len(part.text)
        for pid, start, end in occurrences:
            place = (pid, part.location)
            if kept.get(place, 0) >= MAX_PER_PLACE:
                continue
            term = info[pid]
            original = part.text[start:end] if same else None
            if term.case_sensitive and not _spelled(term.case_sensitive, original, part.text):
                continue
            note = _cue(folded, start, end, part.location)
            if not note and term.name_check and original is not None:
                if _is_name(part.text, start, original) and not (
                    part.location == "title" and title_case
                ):
                    note = "used as a name"
            weight = WEIGHTS[part.location] * (DISCOUNT if note else 1.0)
            snippet = _snippet(part.text if same else folded, start, end)
            found.setdefault(pid, []).append(
                Located(part.field, part.location, weight, snippet, note)
            )
            kept[place] = kept.get(place, 0) + 1
    if title_case:
        _names_in_title(found)
    return found, defined


def _names_in_title(found: dict[int, list[Located]]) -> None:
    """A Title Case headline's hit is a name when every other occurrence is one."""
    for pid, places in found.items():
        others = [p for p in places if p.location != "title"]
        if others and all(p.note == "used as a name" for p in others):
            found[pid] = [
                replace(p, note="used as a name", weight=p.weight * DISCOUNT)
                if p.location == "title" and not p.note else p
                for p in places
            ]


def _spelled(exact: str, original: str | None, text: str) -> bool:
    """Whether an abbreviation occurs as written ("MS", not "Ms.")."""
    if original is not None:
        return original == exact or original == exact + "s"
    return re.search(rf"(?<![^\W_]){re.escape(exact)}s?(?![^\W_])", text) is not None


def _sentence(folded: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence around a span of folded text."""
    begin = 0
    for match in _SENTENCE_END_RE.finditer(folded, 0, start):
        begin = match.end()
    after = _SENTENCE_END_RE.search(folded, end)
    return begin, after.start() if after else len(folded)


def _cue(folded: str, start: int, end: int, location: str) -> str:
    """The passing-mention cue of an occurrence, or ""."""
    if location in ("title", "boilerplate"):
        return ""
    begin, finish = _sentence(folded, start, end)
    if _COMPARISON_RE.search(folded[begin:start]):
        return "comparison"
    sentence = folded[begin:finish]
    if _BIOGRAPHY_RE.search(sentence):
        return "biography"
    if _in_list(sentence, start - begin, end - begin):
        return "list"
    return ""


def _in_list(sentence: str, start: int, end: int) -> bool:
    """Whether the span is one short item of an enumeration of three or more."""
    cuts = [0]
    for match in _LIST_SPLIT_RE.finditer(sentence):
        cuts += [match.start(), match.end()]
    cuts.append(len(sentence))
    items = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]
    mine = next((n for n, (a, b) in enumerate(items) if a <= start and end <= b), None)
    if mine is None:
        return False
    short = [len(sentence[a:b].split()) <= _LIST_ITEM_WORDS for a, b in items]
    if not short[mine]:
        return False
    run_start = run_end = mine
    while run_start > 0 and short[run_start - 1]:
        run_start -= 1
    while run_end + 1 < len(items) and short[run_end + 1]:
        run_end += 1
    # the item before a short run may end with the first list item ("including migraine")
    before = 1 if run_start > 0 else 0
    return run_end - run_start + 1 + before >= 3 and "," in sentence[items[max(run_start - before, 0)][0]:items[run_end][1]]


def _is_name(text: str, start: int, original: str) -> bool:
    """A lowercase term written capitalized where a sentence does not start."""
    if not original[:1].isupper() or original.isupper():
        return False
    before = text[:start].rstrip()
    return bool(before) and before[-1] not in _SENTENCE_START


def _is_title_case(title: str) -> bool:
    words = [w for w in title.split() if len(w) > 3 and w[0].isalpha()]
    return bool(words) and sum(w[0].isupper() for w in words) / len(words) > 0.6


def _snippet(text: str, start: int, end: int) -> str:
    left = max(0, start - SNIPPET_CHARS)
    right = min(len(text), end + SNIPPET_CHARS)
    if left:
        space = text.find(" ", left, start)
        left = space + 1 if space != -1 else left
    if right < len(text):
        space = text.rfind(" ", end, right)
        right = space if space != -1 else right
    return ("…" if left else "") + text[left:right].strip() + ("…" if right < len(text) else "")


def related(long_form: str, vocabulary: frozenset[str]) -> bool:
    """Whether an abbreviation's in-text long form shares a word with a topic's terms."""
    words = {word for word in tokenize(long_form) if word not in _STOPWORDS}
    return not words.isdisjoint(vocabulary)


def vocabulary_of(terms: Iterable[str]) -> frozenset[str]:
    """The content words of a topic's terms (for `related`)."""
    return frozenset(
        word for term in terms if not is_abbreviation(term)
        for word in tokenize(term) if word not in _STOPWORDS
    )


@dataclass(slots=True)
class Weighed:
    """A topic's hits after the abbreviation rules, and each original hit's new weight."""

    hits: list[TermHit]
    adjusted: dict[TermHit, TermHit]

    def weight_of(self, hit: TermHit) -> float:
        return self.adjusted.get(hit, hit).weight


def weigh(hits: list[TermHit], defined: Mapping[str, str], vocabulary: frozenset[str]) -> Weighed:
    """Apply the abbreviation rules for one topic (see the module docstring)."""
    adjusted: dict[TermHit, TermHit] = {}
    for hit in hits:
        long_form = defined.get(hit.term) if is_abbreviation(hit.term) else None
        if long_form is not None and not related(long_form, vocabulary):
            adjusted[hit] = replace(
                hit, weight=0.0, note=f"defined here as '{long_form}'"
            )
    spelled_out = any(
        hit.weight > 0 and hit not in adjusted
        and (not is_abbreviation(hit.term) or hit.term in defined)
        for hit in hits
    )
    if not spelled_out:
        for hit in hits:
            if hit not in adjusted and hit.weight > 0:
                adjusted[hit] = replace(
                    hit, weight=hit.weight * DISCOUNT,
                    note=hit.note or "abbreviation never spelled out in the item",
                )
    return Weighed([adjusted.get(hit, hit) for hit in hits], adjusted)


def score(weights: Iterable[float]) -> float:
    """The weights, largest first, summed with diminishing returns (the i-th counts 1/i)."""
    return sum(w / rank for rank, w in enumerate(sorted(weights, reverse=True), start=1))
