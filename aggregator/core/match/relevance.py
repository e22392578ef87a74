"""How much each hit counts: location weights, passing-mention cues, homonyms, score.

The rules (each general, none written for one item):

* Location weight (see `passages`): title 3, lead 2, body 1, boilerplate 0.1.
* Passing-mention cues discount a hit (x0.2) but keep it, naming the cue in `note`:
  - `comparison`: the term follows "unlike", "compared with", "rather than",
    "alternative to", "instead of", "versus", "than", "four times that of", "the same
    as", ... within its clause;
  - `list`: the term is one short item of a list of three or more ("migraine, lupus
    and psoriasis");
  - `biography`: the sentence tells a career ("previously served", "prior to joining",
    "held roles", "where she led", ...).
* Abbreviations: a term written as a short all-caps word ("SLE", "MS") matches only
  as written (a curator who writes it in lowercase, "sle", means any case). When the
  item defines it ("Solid Lipid Emulsion (SLE)", found with the Schwartz-Hearst
  algorithm) with a long form that shares no word with the topic's terms, its hits
  count nothing. When a topic's only evidence is abbreviations the item never spells
  out, the words around them decide their sense: they count in full where the item's
  own text (not its boilerplate) has at least `CONTEXT_CUES` cue words of the domain
  of the topic's synonym sets ("SLE patients", "relapsing MS ... the drug"), and x0.2
  elsewhere ("the SLE trim", "MS Access databases"). This is word-sense disambiguation
  by a subject's context words (D. Yarowsky, "Word-sense disambiguation using
  statistical models of Roget's categories", COLING 1992); the cues are data
  (`[domains]` in core/vocabulary/synonyms.toml).
* Names: an abbreviation right after a naming word ("the ship MS Polar Gannet") is the
  start of a name. A lowercase term written capitalized mid-sentence ("the research vessel
  Lupus", "Silver Lupus", "Lupus Brewing Co.", "Wind Farm Road", the band "Wind
  Turbine") is a name, discounted like a passing mention. A capitalized word before a
  term of several words says which one it is, not that it is a name ("the Dogger Ridge
  Wind Farm" is a wind farm). A title in Title Case says nothing by its capitals; its
  hits are names when every other occurrence of the term is.
* Contrasted kinds: a hit right after a qualifier opposite to one of the topic's own
  words ("onshore wind farm" for a topic with "offshore wind") counts nothing, and so do
  the item's bare mentions of that term (see `qualifiers`).
* Other senses: a phrase that everyday English also uses for something else ("offshore
  winds" the weather) counts nothing where the item shows only the other sense (see
  `senses`).
* Definitions of the headline's subject: a hit in a body sentence that says what a
  code the headline names is ("KYV-101 is an autologous CD19 CAR T-cell therapy",
  "NC-19X, a CD19 CAR-T, ...") weighs like a lead hit, since it says what the item's
  subject is: releases name a product by its code in the headline and define it
  further down.
* Score: the weights of a topic's hits, largest first, summed with diminishing returns
  (the i-th counts 1/i), so a term repeated ten times in the body does not outweigh
  one headline hit. At most `MAX_PER_PLACE` occurrences per term and location are kept
  (one in the headline, which is one sentence).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace

from aggregator.core.match.abbreviations import definitions, initialism
from aggregator.core.match.index import PhraseIndex
from aggregator.core.match.passages import Passage
from aggregator.core.match.qualifiers import contrasted
from aggregator.core.match.senses import OTHER, TOPIC, Sense, sense_of
from aggregator.core.match.text import (
    Aligned,
    fold,
    strip_leftover_html,
    tokenize,
    word_before,
)
from aggregator.models import TermHit

WEIGHTS = {"title": 3.0, "lead": 2.0, "body": 1.0, "boilerplate": 0.1, "metadata": 3.0}
DEFAULT_MIN_SCORE = 1.8
"""A topic's `min_score` unless it sets one: chosen on half of the development corpus
(bench/sweep_min_score.py: mean F1 was flat from 1.6 to 2.0; this is the middle). Two
body mentions (1.5) are not enough, one in the lead (2) is."""
DISCOUNT = 0.2
CONTEXT_CUES = 2
"""Distinct domain cue words an item's own text needs for a bare abbreviation to count
in full: one ("patients") is in too many other stories, two rarely are by chance."""
MAX_PER_PLACE = 3
SNIPPET_CHARS = 60  # each side of a hit

_ABBREVIATION_RE = re.compile(r"[A-Z]{2,3}")
_ACRONYM_RE = re.compile(r"[A-Z][A-Z0-9]*(?:[- ][A-Z0-9]+)*")
_ACRONYM_CHARS = 6
_COMPARISON_RE = re.compile(
    r"\b(?:unlike|whereas|compared\s+(?:with|to)|comparison\s+(?:with|to)|rather\s+than|"
    r"alternatives?\s+to|instead\s+of|in\s+contrast\s+(?:with|to)|versus|vs\.?|than|"
    r"advantages?\s+over|improve\s+(?:up)?on|differs?\s+from|distinct\s+from|"
    r"times\s+that\s+of|the\s+same\s+as|on\s+par\s+with)\b"
    r"(?:\s+[^\s.;:!?,]+){0,4}\s*$"  # the compared thing follows within four words
)
_BIOGRAPHY_RE = re.compile(
    r"\b(?:previously\s+(?:served|was|held|led|worked)|prior\s+to\s+joining|before\s+joining|"
    r"held\s+(?:senior\s+|leadership\s+|various\s+)?(?:roles|positions)|"
    r"where\s+(?:he|she|they)\s+(?:led|oversaw|was|served|managed|directed|built|ran)|"
    r"most\s+recently|earlier\s+in\s+(?:his|her|their)\s+career|(?:his|her)\s+career|"
    r"has\s+served|served\s+as|joins\s+(?:us\s+)?from|spent\s+\w+\s+years|"
    r"brings\s+(?:more\s+than\s+|over\s+|nearly\s+)?\w+\s+years|before\s+becoming|"
    r"(?:clinical|research)\s+focus\s+on|(?:his|her)\s+(?:residency|fellowship)|"
    r"board[\s-]certified|(?:he|she)\s+(?:earned|received|holds)\s+(?:an?|his|her)\b)\b"
)
_SENTENCE_END_RE = re.compile(r"[.!?](?=\s)|\s--\s|\s—\s")
_SENTENCE_LOOKBACK = 400
_CODE = r"[a-z]{1,8}-?\d{1,7}[a-z0-9]*(?:-[a-z0-9]+)?"  # a product code, folded: kyv-101
_CODE_RE = re.compile(rf"(?<![\w-]){_CODE}(?![\w-])")
# A sentence that opens by saying what a code is: "KYV-101 is an ...", "The NC-19X
# program, a ...", "Our KYV-101 (miv-cel) is a ..." (folded text).
_DEFINES_RE = re.compile(
    rf"\W*(?:[\w'’-]+\s+){{0,2}}?(?P<code>{_CODE})"
    r"(?:\s+(?:program|candidate|product|therapy))?(?:\s*\([^)]{1,40}\))?"
    r"(?:,\s+|\s+is\s+)(?:an?|the)\s"
)
_LIST_SPLIT_RE = re.compile(r",(?!\d)|;|\band\b|\bor\b|\bincluding\b|\bsuch\s+as\b")
_LIST_ITEM_WORDS = 3
_SENTENCE_START = set(".!?:;\"“‘'([—-")
_ENGLISH_WORDS = frozenset(("the", "of", "and", "to", "in", "a", "for", "with", "on", "by", "at"))
_GENUS_ENDINGS = ("is", "us", "um", "ia", "ae", "ax", "ex", "yx")
NAME = "used as a name"
_QUOTES = set("'\"‘’“”")
_FUNCTION_WORDS = frozenset(
    ("of", "with", "for", "in", "on", "from", "to", "by", "at", "and", "or", "as")
    + ("including", "against", "about", "like", "than", "into", "without", "has", "had")
)
_NAMING_WORDS = frozenset(
    ("the", "a", "an", "named", "called", "dubbed", "vessel", "ship", "horse", "colt")
    + ("filly", "band", "brand", "game", "constellation", "racehorse", "stallion", "mare")
    + ("gelding", "album", "song", "beer", "yacht", "boat", "restaurant", "film", "titled")
)
# A noun or verb that names what follows: an abbreviation right after it is the start of
# a name ("the ship MS Polar Gannet", "a colt named SLE Express"), not the term.
_NAMING_NOUNS = _NAMING_WORDS - {"the", "a", "an"}
# The next word of a name that is devoted to the term itself: "Lupus Foundation of
# America", "National Multiple Sclerosis Society", "World Lupus Day", "Offshore Wind
# Council" are about the term, unlike "Lupus Brewing Co." or "Wind Farm Road".
_DEVOTED_TO = frozenset(
    ("foundation", "society", "association", "alliance", "research", "institute")
    + ("council", "network", "coalition", "awareness", "day", "month", "week", "registry")
    + ("consortium", "center", "centre", "clinic", "program", "programme", "trust", "fund")
    + ("federation", "partnership", "trials", "trial", "study", "summit", "congress")
)
PASSING_IN_TEXT = "the text mentions it only in passing"
_STOPWORDS = frozenset(
    ("a", "an", "and", "or", "of", "the", "in", "on", "for", "to", "with", "by", "at", "as")
    + ("from", "its", "their", "is", "are", "be")
)


@dataclass(frozen=True, slots=True)
class Located:
    """One occurrence of a phrase in an item, weighed."""

    field: str
    location: str
    weight: float
    snippet: str
    note: str = ""
    span: tuple[int, int, int] | None = None  # passage number, start, end


@dataclass(frozen=True, slots=True)
class TermInfo:
    """What the scorer needs to know about a phrase id beyond its tokens."""

    case_sensitive: str | None  # the exact spelling an abbreviation must have, else None
    name_check: bool  # a lowercase term: capitalized mid-sentence it is a name
    sense: Sense | None = None  # how to tell its other everyday sense, if it has one


def term_info(written: Iterable[str]) -> TermInfo:
    """A phrase's info from every spelling curators wrote it in."""
    spellings = list(written)
    exact = [s for s in spellings if is_acronym(s)]
    case_sensitive = exact[0].strip() if exact and len(exact) == len(spellings) else None
    name_check = any(
        s.strip().replace(" ", "").isalpha() and s.strip().islower() for s in spellings
    )
    sense = next(filter(None, map(sense_of, spellings)), None)
    return TermInfo(case_sensitive, name_check, sense)


def is_abbreviation(term: str) -> bool:
    """A two- or three-letter all-caps word ("SLE", "MS"): on its own, weak evidence;
    longer ones and those with digits ("RRMS", "CD19", "HER2") are rarely homonyms."""
    return bool(_ABBREVIATION_RE.fullmatch(term.strip()))


def is_acronym(term: str) -> bool:
    """A short all-caps term, possibly hyphenated ("SLE", "CAR-T"): matched as written."""
    term = term.strip()
    return bool(_ACRONYM_RE.fullmatch(term)) and sum(c.isalnum() for c in term) <= _ACRONYM_CHARS


def _letters(text: str) -> str:
    """The letters and digits of a spelling as a reader sees them (entities, leftover
    tags and fullwidth forms undone, case kept)."""
    shown = unicodedata.normalize("NFKC", strip_leftover_html(text))
    return "".join(c for c in shown if c.isalnum())


@dataclass(slots=True)
class Reading:
    """What `locate` found in an item: each phrase's weighed occurrences; and, read on
    demand, the acronyms the item defines ("long form (SF)") or spells with the
    initials of a run of capitalized words."""

    found: dict[int, list[Located]]
    parts: Sequence[Passage] = ()
    _defined: dict[str, str] | None = None
    _initials: dict[str, str | None] = field(default_factory=dict)

    def definition(self, acronym: str) -> str | None:
        if self._defined is None:
            self._defined = {}
            for part in self.parts:
                if part.location != "title":
                    self._defined.update(definitions(part.text))
        return self._defined.get(acronym)

    def word_before(self, hit: TermHit) -> str:
        """The word right before a hit in its passage ("" for a hit in a label)."""
        if hit.span is None:
            return ""
        number, start, _ = hit.span
        return word_before(self.parts[number].text, start)

    def cues(self, context: frozenset[str]) -> frozenset[str]:
        """The `context` words in the item's own text (title, lead, body; not the
        boilerplate, which describes the issuer rather than this item)."""
        if not context:
            return frozenset()
        return frozenset(
            word
            for part in self.parts
            if part.location != "boilerplate"
            for word in tokenize(part.text)
            if word in context
        )

    def initials(self, acronym: str) -> str | None:
        if acronym not in self._initials:
            self._initials[acronym] = next(
                filter(None, (initialism(part.text, acronym) for part in self.parts)), None
            )
        return self._initials[acronym]


def locate(
    index: PhraseIndex,
    wanted: frozenset[int] | None,
    info: Sequence[TermInfo],
    parts: Sequence[Passage],
) -> Reading:
    """Every weighed occurrence of the `wanted` phrases in the passages, by phrase id."""
    found: dict[int, list[Located]] = {}
    kept: dict[tuple[int, str], int] = {}
    lowercase: set[int] = set()  # name-checked phrases also written in lowercase
    plain: set[int] = set()  # phrases of several words also written in lowercase mid-sentence
    senses: dict[int, set[str]] = {}  # phrases with another sense: the senses shown
    subjects = _title_codes(parts)
    for number, part in enumerate(parts):
        aligned = Aligned(part.text)
        for pid, folded_start, folded_end in index.occurrences(aligned.folded, wanted):
            start = aligned.original_position(folded_start)
            location = part.location_at(start)
            place = (pid, location)
            if kept.get(place, 0) >= (1 if location == "title" else MAX_PER_PLACE):
                continue
            end = aligned.original_position(folded_end, end=True)
            original = part.text[start:end]
            term = info[pid]
            if term.case_sensitive and not _spelled(term.case_sensitive, original):
                continue
            note = _cue(aligned.folded, folded_start, folded_end, location)
            if term.case_sensitive and not note and word_before(part.text, start) in _NAMING_NOUNS:
                note = NAME
            sense = term.sense.cue(part.text, start, end) if term.sense else ""
            if sense:
                senses.setdefault(pid, set()).add(sense)
            if term.name_check and sense != TOPIC:
                if not note and _is_name(part.text, start, end) and _reads_names(part, parts):
                    note = NAME
                elif original.islower():
                    lowercase.add(pid)
                    if " " in original and not _starts_sentence(part.text, start):
                        plain.add(pid)
            weight = WEIGHTS[location] * (DISCOUNT if note else 1.0)
            if (
                location == "body"
                and not note
                and subjects
                and _defines(aligned.folded, folded_start, folded_end, subjects)
            ):
                weight = WEIGHTS["lead"]
            snippet = _snippet(part.text, start, end)
            found.setdefault(pid, []).append(
                Located(part.field, location, weight, snippet, note, (number, start, end))
            )
            kept[place] = kept.get(place, 0) + 1
    for pid in plain:
        found[pid] = [_not_a_name(p) if p.note == NAME else p for p in found[pid]]
    for pid, places in found.items():
        if info[pid].name_check and pid not in lowercase and any(p.note == NAME for p in places):
            found[pid] = [p if p.note else _as_name(p) for p in places]
    for pid, shown in senses.items():
        if shown == {OTHER}:
            other = info[pid].sense.other_sense  # type: ignore[union-attr]
            found[pid] = [replace(p, weight=0.0, note=other) for p in found[pid]]
    return Reading(found, parts)


def _as_name(place: Located) -> Located:
    """A word never written in lowercase in an item that uses it as a name is a name
    wherever it stands (the headline, a sentence start)."""
    return replace(place, note=NAME, weight=place.weight * DISCOUNT)


def _not_a_name(place: Located) -> Located:
    """A phrase of several words that the item also writes in lowercase mid-sentence is
    a common noun there: "adults with lupus nephritis" shows that "the Lupus Nephritis
    Phase 2 Trial" is a lupus nephritis trial, while an item that only ever writes "Wind
    Farm Road" means the road."""
    return replace(place, note="", weight=WEIGHTS[place.location])


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip()
    return not before or before[-1] in _SENTENCE_START


def _spelled(exact: str, original: str) -> bool:
    """Whether an acronym occurs as written ("MS", not "Ms."; "CAR T", not "Car-T")."""
    letters, wanted = _letters(original), _letters(exact)
    return letters == wanted or letters == wanted + "s"


def _sentence(folded: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence around a span of folded text. Its start is looked for
    in the `_SENTENCE_LOOKBACK` characters before the span first (a hit late in a long
    paragraph need not scan the paragraph), then, if none ends there, from the start."""
    begin = 0
    near = max(0, start - _SENTENCE_LOOKBACK)
    for origin in (near, 0) if near else (0,):
        for match in _SENTENCE_END_RE.finditer(folded, origin, start):
            begin = match.end()
        if begin:
            break
    after = _SENTENCE_END_RE.search(folded, end)
    return begin, after.start() if after else len(folded)


def _title_codes(parts: Sequence[Passage]) -> frozenset[str]:
    """The codes the headline names ("KYV-101", "NC-19X"), folded."""
    titles = [part.text for part in parts if part.location == "title"]
    return frozenset(_CODE_RE.findall(fold(titles[0]))) if titles else frozenset()


def _defines(folded: str, start: int, end: int, subjects: frozenset[str]) -> bool:
    """Whether the sentence around a span opens by saying what one of `subjects` is."""
    begin, _ = _sentence(folded, start, end)
    opening = _DEFINES_RE.match(folded, begin + (folded[begin:begin + 1] == " "))
    return bool(opening) and opening.group("code") in subjects and opening.end() <= start


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
    """Whether the span is an item of an enumeration of three or more ("malaria,
    rheumatoid arthritis, lupus and psoriasis in adults"): a run of at least two short
    items (the hit's own words around it at most three, a neighbour's at most four),
    plus the items on either side, which may carry the sentence's lead-in and tail,
    separated by commas (not a number's) and an "and"/"or" (an appositive such as
    "NC-19X, its CD19 CAR-T therapy, in NOVA-MS1" has no "and")."""
    if "," not in sentence or ("and" not in sentence and "or" not in sentence):
        return False  # the common case, settled without splitting the sentence
    cuts = [0]
    for match in _LIST_SPLIT_RE.finditer(sentence):
        cuts += [match.start(), match.end()]
    cuts.append(len(sentence))
    items = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]
    mine = next((n for n, (a, b) in enumerate(items) if a <= start and end <= b), None)
    if mine is None:
        return False
    short = [0 < len(sentence[a:b].split()) <= _LIST_ITEM_WORDS + 1 for a, b in items]
    own_start, own_end = items[mine]
    outside = len(sentence[own_start:start].split()) + len(sentence[end:own_end].split())
    if outside > _LIST_ITEM_WORDS:
        return False
    short[mine] = True
    first = last = mine
    while first > 0 and short[first - 1]:
        first -= 1
    while last + 1 < len(items) and short[last + 1]:
        last += 1
    if last == first:
        return False
    first, last = max(first - 1, 0), min(last + 1, len(items) - 1)
    separators = [sentence[items[n][1] : items[n + 1][0]].strip() for n in range(first, last)]
    return last - first >= 2 and "," in separators and bool({"and", "or"} & set(separators))


def _reads_names(part: Passage, parts: Sequence[Passage]) -> bool:
    """Whether capitals in this passage can mark a name: not a Title Case headline, in
    an item written in English (a short headline may have no English function word)."""
    return not _capitalized_prose(part.text) and (
        _english(part.text) or any(_english(other.text) for other in parts)
    )


def _english(text: str) -> bool:
    """Whether text reads as English (name rules read English capitals only)."""
    return not _ENGLISH_WORDS.isdisjoint(text.lower().split())


def _is_name(text: str, start: int, end: int) -> bool:
    """A lowercase term written as a name: capitalized in quotes ("vessel 'Lupus'",
    "'The Wind Farm'"), beside another capitalized word ("Silver Lupus", "Lupus
    Brewing Co.", "Wind Farm Road"; for a term of several words only the word after),
    after an article or a naming word ("the Lupus clouds", "the vessel Lupus") or in
    apposition to a noun after an article ("the 52-foot sloop Lupus"); or
    after a capitalized Latin genus ("Canis lupus", one-word terms). A disease some
    writers capitalize ("people living with Lupus") is not a name, nor is a body
    devoted to the term ("the Lupus Foundation", "World Lupus Day")."""
    original = text[start:end]
    before = text[:start].rstrip()
    words_before = before.split()
    following = text[end:].split(maxsplit=1)
    if following and following[0].strip(",.;:!?'’\"”").lower() in _DEVOTED_TO:
        return False  # "the Lupus Foundation": a body devoted to the term
    starts_sentence = _starts_sentence(text, start)
    one_word = " " not in original.strip()
    if original[:1].isupper() and not original.isupper():
        if _quoted(text, end, words_before) or _name_follows(following, one_word):
            return True
        if starts_sentence or not words_before:
            return False
        previous = words_before[-1].strip(",;")
        if previous.lower() in _NAMING_WORDS:
            return True
        if previous[:1].isupper():
            return one_word  # "Silver Lupus" is a name; "Dogger Ridge Wind Farm" a wind farm
        # apposition: "the 52-foot sloop Lupus", "a research vessel Lupus"
        return previous.lower() not in _FUNCTION_WORDS and any(
            word.lower() in ("the", "a", "an") for word in words_before[-4:-1]
        )
    if one_word and words_before and not starts_sentence and len(words_before) > 1:
        genus = words_before[-1].strip("(\"'“‘")
        preceding = words_before[-2]
        return (
            genus[:1].isupper()
            and genus[1:].islower()
            and genus.endswith(_GENUS_ENDINGS)
            and preceding[-1] not in _SENTENCE_START
        )
    return False


def _name_follows(following: list[str], one_word: bool) -> bool:
    """Whether a capitalized word follows the term, making it part of a longer name
    ("Lupus Brewing", "Wind Farm Road"). After a phrase of several words it must be a
    word, not a letter or an abbreviation: "Chimeric Antigen Receptor T-Cell" and
    "Multiple Sclerosis (MS)" are the thing itself."""
    if not following or not following[0][:1].isupper():
        return False
    return one_word or following[0][1:2].islower()


def _quoted(text: str, end: int, words_before: list[str]) -> bool:
    """Whether the term ends a quoted name: "vessel 'Lupus'", "cottage 'The Wind Farm'"
    (the quote may open a word or two before the term)."""
    if text[end : end + 1] not in _QUOTES:
        return False
    return any(word[:1] in _QUOTES for word in words_before[-3:])


def _capitalized_prose(text: str) -> bool:
    """A Title Case headline: capitals there say nothing about names."""
    words = text.split()
    inner = [
        word
        for previous, word in itertools.pairwise(words)
        if len(word) > 3 and word[0].isalpha() and previous[-1] not in ".!?:"
    ]
    return bool(inner) and sum(w[0].isupper() for w in inner) / len(inner) > 0.6


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
        word
        for term in terms
        if not is_acronym(term)
        for word in tokenize(term)
        if word not in _STOPWORDS
    )


@dataclass(slots=True)
class Weighed:
    """A topic's hits after its rules, and what each original hit now weighs (nothing
    for a hit dropped as nested in, or the same as, another)."""

    hits: list[TermHit]
    weights: dict[TermHit, float]
    remark: str = ""  # how a rule read the hits, for the verdict's reason

    def weight_of(self, hit: TermHit) -> float:
        return self.weights.get(hit, 0.0)


NOTHING = Weighed([], {})
"""What `weigh` gives for no hits."""


def weigh(
    hits: list[TermHit],
    reading: Reading,
    vocabulary: frozenset[str],
    context: frozenset[str] = frozenset(),
) -> Weighed:
    """Apply the acronym and headline rules for one topic (see the module docstring);
    `context` is the cue words of its synonym sets' domain.

    A hit inside a longer hit of the topic ("lupus" in "lupus nephritis") is dropped:
    one mention is one piece of evidence.
    """
    hits = _outermost(hits)
    adjusted: dict[TermHit, TermHit] = {}
    spelled_out = any(
        not is_acronym(hit.term) or related(reading.definition(hit.term) or "", vocabulary)
        for hit in hits
    )
    for hit in hits:
        if not is_acronym(hit.term):
            continue
        long_form = reading.definition(hit.term)
        if long_form is None and not spelled_out:
            long_form = reading.initials(hit.term)
        if long_form is not None and not related(long_form, vocabulary):
            adjusted[hit] = replace(hit, weight=0.0, note=f"stands for '{long_form}' here")
    kinds = contrasted(
        [hit for hit in hits if hit not in adjusted], reading.word_before, vocabulary
    )
    for hit, word in kinds.items():
        adjusted[hit] = replace(hit, weight=0.0, note=f"'{word}': the kind the topic is not")
    text_hits = [hit for hit in hits if hit.location != "title"]
    if text_hits and all(
        hit.note or hit.location == "boilerplate" or hit in adjusted for hit in text_hits
    ):
        for hit in hits:
            if hit.location == "title" and not hit.note and hit not in adjusted:
                adjusted[hit] = replace(hit, weight=hit.weight * DISCOUNT, note=PASSING_IN_TEXT)
    bare = [] if spelled_out else [
        hit for hit in hits if hit not in adjusted and hit.weight > 0 and is_abbreviation(hit.term)
    ]
    cues = reading.cues(context) if bare else frozenset()
    remark = ""
    if len(cues) >= CONTEXT_CUES:
        terms = ", ".join(sorted({repr(hit.term) for hit in bare}))
        shown = ", ".join(repr(cue) for cue in sorted(cues)[:4])
        remark = f"{terms} never spelled out, read in the topic's field by {shown}"
    else:
        for hit in bare:
            adjusted[hit] = replace(
                hit,
                weight=hit.weight * DISCOUNT,
                note=hit.note or "abbreviation never spelled out in the item",
            )
    kept = [adjusted.get(hit, hit) for hit in hits]
    weights = {hit: new.weight for hit, new in zip(hits, kept, strict=True)}
    return Weighed(kept, weights, remark)


def _outermost(hits: list[TermHit]) -> list[TermHit]:
    """The hits not strictly inside a longer hit of the same passage, and one hit per
    span ("CAR-T cell" and "CAR T-cells" both read "CAR-T cells")."""
    seen: set[tuple[int, int, int]] = set()
    once = []
    for hit in hits:
        if hit.span is None or hit.span not in seen:
            once.append(hit)
            if hit.span is not None:
                seen.add(hit.span)
    hits = once
    by_passage: dict[int, list[tuple[int, int]]] = {}
    for hit in hits:
        if hit.span is not None:
            by_passage.setdefault(hit.span[0], []).append(hit.span[1:])
    if all(len(spans) < 2 for spans in by_passage.values()):
        return hits
    return [hit for hit in hits if hit.span is None or not _inside(hit.span, by_passage)]


def _inside(span: tuple[int, int, int], by_passage: dict[int, list[tuple[int, int]]]) -> bool:
    number, start, end = span
    return any(s <= start and end <= e and e - s > end - start for s, e in by_passage[number])


def distinct_hits(hits: Iterable[TermHit]) -> list[TermHit]:
    """A story's hits once each (its copies repeat the same text), strongest first."""
    unique = {(h.term, h.location, h.snippet, h.note): h for h in hits}
    return sorted(unique.values(), key=lambda hit: -hit.weight)


def story_score(hits: list[TermHit]) -> float | None:
    """The score of a story's distinct hits; None for hits stored without weights."""
    if not any(hit.location for hit in hits):
        return None
    return score(hit.weight for hit in distinct_hits(hits))


def score(weights: Iterable[float]) -> float:
    """The weights, largest first, summed with diminishing returns (the i-th counts 1/i)."""
    return sum(w / rank for rank, w in enumerate(sorted(weights, reverse=True), start=1))
