"""Anchors: the facts that tell two look-alike releases apart.

Shingle similarity cannot separate templated releases. A company's "first patient
dosed in lupus" and, a week later, "first patient dosed in systemic sclerosis" share
almost every sentence; so do two quarters' results releases, or the "proposed" and
"pricing" releases of one offering. What differs is a handful of facts: the disease,
the quarter, the amount, the date, the drug code. This module pulls those facts out of
the cleaned title and lead so :func:`conflicts` can refuse a merge that similarity
alone would allow.

Rules are asymmetric on purpose. Copies legitimately *omit* facts (a teaser stops
after two sentences, a news write-up drops the ticker), so a fact present on one
side and absent on the other is never a conflict. A conflict needs positive evidence
that the two texts talk about different things:

* identity facts (disease, drug, company, trial id, phase, meeting, ...): both sides name some
  and they share none, or both titles name some and the titles share none, or (for
  the kinds where the first mention is what the release is *about*) one side's
  first-named value is absent from the other side's;
* measurements (dates, amounts, percentages, patient counts): each side has a value
  the other lacks; a subset is an omission, not a contradiction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from aggregator.core.dedupe.needles import NameTable
from aggregator.core.vocabulary import load

__all__ = ["AnchorSet", "Conflict", "conflicts", "extract_anchors", "KIND_LABELS"]

#: (kind, values in the title, values in title+lead in order of first mention)
AnchorSet = tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...]

#: Human names for `aggregator explain`.
KIND_LABELS = {
    "period": "period",
    "year": "year",
    "disease": "disease",
    "drug": "drug",
    "target": "target",
    "trial": "trial id",
    "phase": "phase",
    "company": "company",
    "ticker": "ticker",
    "regulatory": "regulatory step",
    "agency": "agency",
    "event": "event",
    "meeting": "meeting",
    "milestone": "milestone",
    "date": "date",
    "amount": "amount",
    "percent": "percentage",
    "count": "count",
}
# Kinds compared as "each side has something the other lacks".
_MEASURES = frozenset({"date", "amount", "percent", "count"})
# Kinds compared on titles only (a year in a lead is usually background).
_TITLE_ONLY = frozenset({"year"})
# Kinds whose first mention says what the release is about.
_PRIMARY = frozenset(
    {"period", "disease", "regulatory", "agency", "event", "milestone", "meeting"}
)
# Order in which conflicts are reported: the most telling first.
_PRIORITY = (
    "disease", "period", "year", "event", "milestone", "regulatory", "agency", "meeting",
    "company", "ticker", "drug", "trial", "target", "phase", "amount", "count", "percent",
    "date",
)
# Kinds where mere disjointness of the whole text is too weak (background mentions).
_NO_ALL_DISJOINT = frozenset({"regulatory", "agency", "milestone", "event", "year"})


@dataclass(frozen=True, slots=True)
class Conflict:
    """One reason two fingerprints describe different stories."""

    kind: str
    ours: tuple[str, ...]
    theirs: tuple[str, ...]

    def describe(self) -> str:
        label = KIND_LABELS.get(self.kind, self.kind)
        return f"{label} differs: {', '.join(self.ours)} vs {', '.join(self.theirs)}"


_VOCABULARY = load("anchors")

_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4"}
_TARGET_RE = re.compile(
    r"\b(CD\d{1,3}[a-z]?|BCMA|GPRC5D|CLDN18\.2|Claudin\s?18\.2|GPC3|HER2|EGFR|MSLN|DLL3"
    r"|BAFF-?R|FcRn|IL-\d{1,2}|TNF|CD19xCD3)\b"
)
_CODE_RE = re.compile(r"\b([A-Z]{1,6})(?:-|\s)?([A-Z]?)(\d{2,6})([A-Za-z]?)\b")
_CODE_EXCLUDE = frozenset(_VOCABULARY["codes"]["not_drug_prefixes"])
_INN_RE = re.compile(
    r"\b([a-z]{3,}(?:cabtagene autoleucel|autoleucel|leucel|mab|tinib)|[a-z]{3,}-cel)\b",
    re.IGNORECASE,
)
_TRIAL_RE = re.compile(r"\b(NCT\d{8}|ChiCTR\d{6,12}|CTR\d{8}|\d{4}-\d{6}-\d{2})\b")
_PHASE_RE = re.compile(
    r"\bPhase\s*(1|2|3|4|I{1,3}|IV)\s*([ab])?\b(?:\s*/\s*(1|2|3|I{1,3})\s*([ab])?\b)?",
    re.IGNORECASE,
)
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4"}
_TICKER_RE = re.compile(
    r"\((?:NASDAQ|Nasdaq|NYSE(?: American)?|HKEX|HKSE|SEHK|SSE|SZSE|TSX(?:-V)?|LSE|AIM|ASX"
    r"|Euronext(?: [A-Z][a-z]+)?|SIX|OTC[A-Z]*|KOSDAQ|TSE|Stock [Cc]ode)\s*:\s*([A-Z0-9.]{1,10})"
    r"|\((\d{3,6}\.HK)\)"
)
_COMPANY = _VOCABULARY["company"]
_COMPANY_RE = re.compile(
    r"\b((?:[A-Z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*\s+){1,3})(?:"
    + "|".join(_COMPANY["suffixes"]) + r")\b"
)
_COMPANY_STOP = frozenset(_COMPANY["not_names"])
_COMPANY_ADJ = tuple(_COMPANY["describing_endings"])
# Investor conferences: "Jefferies Global Healthcare Conference" -> "jefferies conference".
_INVESTOR_CONF_RE = re.compile(
    r"\b((?:(?:[A-Z]\.){1,3}|[A-Z][\w&'-]*) (?:(?:(?:[A-Z]\.){1,3}|[A-Z][\w&'-]*) ){0,2}?)"
    r"(?:\d+(?:st|nd|rd|th) )?(?:Annual )?(?:Global )?"
    r"(?:Healthcare|Health Care|Life Sciences|Investment|Biotech(?:nology)?|Immunology)"
    r" (?:Conference|Summit|Forum)"
)
# (needles, pattern, value): the needles are a cheap substring pre-check.
_PERIOD_RES: list[tuple[tuple[str, ...], re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (("q1", "q2", "q3", "q4"), re.compile(r"\bQ([1-4])\b"), lambda m: f"Q{m.group(1)}"),
    (("1q", "2q", "3q", "4q"), re.compile(r"\b([1-4])Q\s?'?\d{2}\b"),
     lambda m: f"Q{m.group(1)}"),
    (("quarter",), re.compile(r"\b(first|second|third|fourth)[- ]quarter\b", re.I),
     lambda m: f"Q{_ORDINALS[m.group(1).lower()]}"),
    (("quarter",), re.compile(r"\b([1-4])(?:st|nd|rd|th)[- ]quarter\b", re.I),
     lambda m: f"Q{m.group(1)}"),
    (("h1", "h2"), re.compile(r"\bH([12])\b(?=\s*'?(?:19|20)?\d{2}\b)"),
     lambda m: f"H{m.group(1)}"),
    (("half",), re.compile(r"\b(first|second)[- ]half\b", re.I),
     lambda m: f"H{_ORDINALS[m.group(1).lower()]}"),
    (("full", "fiscal", "fy", "year"),
     re.compile(r"\b(?:full[- ]year|fiscal year|FY\s?'?\d{2,4}|year[- ]end(?:ed)?)\b", re.I),
     lambda m: "FY"),
]
_YEAR_RE = re.compile(r"\b(19[89]\d|20[0-4]\d)\b")
_DATE_RES = [
    re.compile(rf"\b({_MONTH})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?!\s*(?:%|percent|per\b))"),
    re.compile(rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+({_MONTH})\b"),
]
_AMOUNT_RE = re.compile(
    r"(US\$|USD\s?|HK\$|\$|€|EUR\s?|£|GBP\s?|RMB\s?|CNY\s?|¥|CHF\s?)\s?(\d[\d,]*(?:\.\d+)?)"
    r"(?:\s*(?i:(billion|million|thousand|bn|mn|[mbk]))\b)?"
)
_UNITS = _VOCABULARY["units"]
_CURRENCY: dict[str, str] = _UNITS["currencies"]
_SCALE: dict[str, float] = _UNITS["scales"]
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)")
_COUNT_RE = re.compile(
    r"\b(\d[\d,]*)\s+(?:(?:adult|pediatric|evaluable|additional|enrolled|treated)\s+)?"
    r"(patients?|participants?|subjects?|sites?|centers|centres|employees)\b",
    re.IGNORECASE,
)
_CURRENCY_NEEDLES = ("$", "€", "£", "¥", "usd", "eur", "gbp", "rmb", "cny", "chf")
_COUNT_NEEDLES = ("patient", "participant", "subject", "site", "center", "centre", "employee")
_COUNT_UNITS: dict[str, str] = _UNITS["count_units"]


def _table(kind: str) -> NameTable:
    """The vocabulary's `kind` table as a NameTable (a disease matches by its names in
    any case or by its abbreviations as written)."""
    rows = []
    for entry in _VOCABULARY[kind]:
        pattern = entry.get("pattern")
        if pattern is None:
            pattern = f"(?i:{entry['names']})"
            if entry.get("abbreviations"):
                pattern += f"|{entry['abbreviations']}"
        rows.append((entry["name"], pattern, entry.get("needles")))
    return NameTable(rows)


#: (anchor kind, the vocabulary table it is read with), in extraction order.
_TABLES = [(kind, _table(kind)) for kind in
           ("disease", "regulatory", "agency", "event", "milestone", "meeting")]


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


#: One extractor per family of facts: (text, its lower case, where the lead starts)
#: -> (kind, position, value) found.
Found = Iterator[tuple[str, int, str]]


def _names(text: str, low: str, lead_start: int) -> Found:
    for kind, table in _TABLES:
        for pos, name in table.find(text, low):
            yield kind, pos, name


def _periods(text: str, low: str, lead_start: int) -> Found:
    for needles, pattern, render in _PERIOD_RES:
        if any(needle in low for needle in needles):
            for m in pattern.finditer(text):
                yield "period", m.start(), render(m)
    for m in _YEAR_RE.finditer(text):
        yield "year", m.start(), m.group(1)


def _investor_meetings(text: str, low: str, lead_start: int) -> Found:
    if any(word in low for word in ("conference", "summit", "forum")):
        for m in _INVESTOR_CONF_RE.finditer(text):
            yield "meeting", m.start(), m.group(1).split()[0].lower().rstrip(".") + " conference"


def _products(text: str, low: str, lead_start: int) -> Found:
    """Targets, drug codes and INN names, trial ids and phases."""
    for m in _TARGET_RE.finditer(text):
        yield "target", m.start(), m.group(1).upper().replace(" ", "").replace("CLAUDIN", "CLDN")
    for m in _CODE_RE.finditer(text):
        letters, extra, digits, tail = m.groups()
        if letters in _CODE_EXCLUDE or (letters.startswith("CD") and not extra):
            continue
        if len(digits) == 4 and digits[:2] in ("19", "20") and not extra and len(letters) >= 3:
            continue  # "ASCO2025"-style event names, not drug codes
        yield "drug", m.start(), f"{letters}{extra}{digits}{tail}".upper()
    if any(word in low for word in ("mab", "leucel", "tinib", "-cel")):
        for m in _INN_RE.finditer(text):
            yield "drug", m.start(), m.group(1).lower()
    for m in _TRIAL_RE.finditer(text):
        yield "trial", m.start(), m.group(1).upper()
    if "phase" in low:
        for m in _PHASE_RE.finditer(text):
            for raw in (m.group(1), m.group(3)):
                if raw:
                    yield "phase", m.start(), "Phase " + _ROMAN.get(raw.lower(), raw)


def _issuers(text: str, low: str, lead_start: int) -> Found:
    """Tickers, and company names read from `lead_start` on only: Title Case turns every
    phrase of a title ("Autologous CD19 CAR-T Cell Therapy") into a look-alike."""
    if ":" in low or ".hk" in low:
        for m in _TICKER_RE.finditer(text):
            yield "ticker", m.start(), (m.group(1) or m.group(2)).upper()
    for m in _COMPANY_RE.finditer(text, lead_start):
        for word in re.split(r"\s+", m.group(1).strip()):
            if word.lower() not in _COMPANY_STOP and not word.lower().endswith(_COMPANY_ADJ):
                yield "company", m.start(), word.lower()
                break


def _dates(text: str, low: str, lead_start: int) -> Found:
    for pattern in _DATE_RES:
        for m in pattern.finditer(text):
            month_raw, day = m.groups() if pattern is _DATE_RES[0] else m.groups()[::-1]
            if 1 <= int(day) <= 31:
                yield "date", m.start(), f"{_MONTHS[month_raw[:3].lower()]:02d}-{int(day):02d}"


def _measures(text: str, low: str, lead_start: int) -> Found:
    """Amounts of money, percentages and counts of patients, sites or employees."""
    if any(needle in low for needle in _CURRENCY_NEEDLES):
        for m in _AMOUNT_RE.finditer(text):
            currency = _CURRENCY[m.group(1).strip()]
            scale = _SCALE.get((m.group(3) or "").lower())
            value = _number(m.group(2))
            shown = _fmt(value) if scale is None else f"{_fmt(value * scale)}M"
            yield "amount", m.start(), f"{currency}{shown}"
    if any(needle in low for needle in ("%", "percent", "per cent")):
        for m in _PERCENT_RE.finditer(text):
            yield "percent", m.start(), _fmt(float(m.group(1))) + "%"
    if any(needle in low for needle in _COUNT_NEEDLES):
        for m in _COUNT_RE.finditer(text):
            unit = m.group(2).lower()
            yield "count", m.start(), (f"{_fmt(_number(m.group(1)))} "
                                       f"{_COUNT_UNITS.get(unit, unit)}")


_EXTRACTORS = (_names, _periods, _investor_meetings, _products, _issuers, _dates, _measures)


def _facts(text: str, lead_start: int = 0) -> dict[str, list[tuple[int, str]]]:
    """All anchor values in `text`, per kind, each with its position. Cheap substring
    guards in the extractors skip regexes that cannot match (most, most of the time)."""
    out: dict[str, list[tuple[int, str]]] = {}
    low = text.lower()
    for extract in _EXTRACTORS:
        for kind, pos, value in extract(text, low, lead_start):
            out.setdefault(kind, []).append((pos, value))
    return out


def _ordered(found: Iterable[tuple[int, str]]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for _, value in sorted(found):
        seen.setdefault(value, None)
    return tuple(seen)


#: Joins title and lead for one extraction pass; the period stops patterns such as
#: "pricing ... offering" from spanning the two.
_SEPARATOR = "\n.\n"


def extract_anchors(title: str, lead: str) -> AnchorSet:
    """Anchor values of a cleaned title and lead, per kind, in a stable order."""
    lead_start = len(title) + len(_SEPARATOR)
    facts = _facts(title + _SEPARATOR + lead, lead_start)
    result = []
    for kind in sorted(facts):
        found = facts[kind]
        in_title = _ordered(f for f in found if f[0] < lead_start)
        everywhere = _ordered(found)
        result.append((kind, in_title, everywhere))
    return tuple(result)


def conflicts(a: AnchorSet, b: AnchorSet) -> list[Conflict]:
    """Every positive piece of evidence that `a` and `b` are different stories."""
    mine = {kind: (title, every) for kind, title, every in a}
    theirs = {kind: (title, every) for kind, title, every in b}
    found: list[Conflict] = []
    shared = set(mine) & set(theirs)
    order = [k for k in _PRIORITY if k in shared] + sorted(shared - set(_PRIORITY))
    for kind in order:
        title_a, all_a = mine[kind]
        title_b, all_b = theirs[kind]
        set_a, set_b = set(all_a), set(all_b)
        if kind in _MEASURES:
            only_a, only_b = set_a - set_b, set_b - set_a
            if only_a and only_b:
                found.append(Conflict(kind, _keep(all_a, only_a), _keep(all_b, only_b)))
            continue
        if title_a and title_b and not set(title_a) & set(title_b):
            found.append(Conflict(kind, title_a, title_b))
            continue
        if kind in _TITLE_ONLY:
            continue
        if kind not in _NO_ALL_DISJOINT and all_a and all_b and not set_a & set_b:
            found.append(Conflict(kind, all_a, all_b))
            continue
        if kind in _PRIMARY and all_a and all_b and (
            all_a[0] not in set_b or all_b[0] not in set_a
        ):
            found.append(Conflict(kind, all_a[:1], all_b[:1]))
    return found


def _keep(ordered: tuple[str, ...], subset: set[str]) -> tuple[str, ...]:
    return tuple(value for value in ordered if value in subset)
