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
from collections.abc import Callable, Iterable
from dataclasses import dataclass

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


_MONTHS = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)"
)
_ORDINALS = {"first": "1", "second": "2", "third": "3", "fourth": "4"}

# (canonical name, long names matched in any case, abbreviations matched as written so
# "mg" the dose is not MG the disease). Order matters: longer names come first and
# their text is blanked, so "lupus nephritis" does not also count as "lupus".
_DISEASES: list[tuple[str, str, str | None]] = [
    ("lupus nephritis", r"lupus nephritis", None),
    ("cutaneous lupus", r"cutaneous lupus(?: erythematosus)?", r"\bCLE\b"),
    ("lupus", r"systemic lupus erythematosus|\blupus\b", r"\bSLE\b"),
    ("systemic sclerosis", r"systemic sclerosis|scleroderma", r"\bSSc\b|\bdcSSc\b|\blcSSc\b"),
    ("myasthenia gravis", r"myasthenia gravis", r"\bMG\b|\bgMG\b"),
    ("multiple sclerosis", r"multiple sclerosis", r"\bRRMS\b|\bPPMS\b|\bSPMS\b|\bRMS\b"),
    ("myositis", r"myositis|inflammatory myopath(?:y|ies)", r"\bIIM\b"),
    ("rheumatoid arthritis", r"rheumatoid arthritis", None),
    ("psoriatic arthritis", r"psoriatic arthritis", None),
    ("ANCA-associated vasculitis", r"anca[- ]associated vasculitis", None),
    ("Sjögren's disease", r"sj[oö]gren", None),
    ("neuromyelitis optica", r"neuromyelitis optica", r"\bNMOSD\b"),
    ("immune thrombocytopenia", r"immune thrombocytopeni[ac]", r"\bITP\b"),
    ("type 1 diabetes", r"type 1 diabetes", r"\bT1D\b"),
    ("IgA nephropathy", r"iga nephropathy", r"\bIgAN\b"),
    ("membranous nephropathy", r"membranous nephropathy", None),
    ("pemphigus", r"pemphigus", None),
    ("CIDP", r"chronic inflammatory demyelinating", r"\bCIDP\b"),
    ("autoimmune hemolytic anemia", r"autoimmune ha?emolytic", r"\bAIHA\b|\bwAIHA\b"),
    ("antiphospholipid syndrome", r"antiphospholipid", None),
    ("psoriasis", r"psoriasis", None),
    ("atopic dermatitis", r"atopic dermatitis", None),
    ("ulcerative colitis", r"ulcerative colitis", None),
    ("Crohn's disease", r"crohn", None),
    ("Graves' disease", r"graves'? disease", None),
    ("hidradenitis suppurativa", r"hidradenitis", None),
    ("multiple myeloma", r"multiple myeloma", r"\bRRMM\b|\bNDMM\b"),
    ("large B-cell lymphoma", r"large b[- ]cell lymphoma", r"\bLBCL\b|\bDLBCL\b"),
    ("acute lymphoblastic leukemia", r"acute lymphoblastic leuka?emia", r"\bB-ALL\b"),
    ("acute myeloid leukemia", r"acute myeloid leuka?emia", r"\bAML\b"),
    ("chronic lymphocytic leukemia", r"chronic lymphocytic leuka?emia", r"\bCLL\b"),
    ("follicular lymphoma", r"follicular lymphoma", None),
    ("mantle cell lymphoma", r"mantle cell lymphoma", r"\bMCL\b"),
    ("gastric cancer",
     r"gastric(?:/gastroesophageal junction| or gastroesophageal junction)? "
     r"(?:cancer|adenocarcinoma)", None),
    ("pancreatic cancer", r"pancreatic (?:cancer|adenocarcinoma|ductal)", None),
    ("hepatocellular carcinoma", r"hepatocellular carcinoma", r"\bHCC\b"),
    ("glioblastoma", r"glioblastoma", r"\bGBM\b"),
    ("non-small cell lung cancer", r"non-small[- ]cell lung cancer", r"\bNSCLC\b"),
    ("small cell lung cancer", r"small[- ]cell lung cancer", r"\bSCLC\b"),
    ("breast cancer", r"breast cancer", None),
    ("ovarian cancer", r"ovarian cancer", None),
    ("prostate cancer", r"prostate cancer", None),
    ("colorectal cancer", r"colorectal cancer", r"\bCRC\b"),
    ("melanoma", r"melanoma", None),
]
_TARGET_RE = re.compile(
    r"\b(CD\d{1,3}[a-z]?|BCMA|GPRC5D|CLDN18\.2|Claudin\s?18\.2|GPC3|HER2|EGFR|MSLN|DLL3"
    r"|BAFF-?R|FcRn|IL-\d{1,2}|TNF|CD19xCD3)\b"
)
_CODE_RE = re.compile(r"\b([A-Z]{1,6})(?:-|\s)?([A-Z]?)(\d{2,6})([A-Za-z]?)\b")
_CODE_EXCLUDE = frozenset(
    {"CD", "NCT", "CTR", "Q", "H", "FY", "COVID", "SARS", "IL", "HER", "CLDN", "GPC", "ISO",
     "ASCO", "ASH", "EHA", "ACR", "EULAR", "ASN", "AACR", "ESMO", "JPM", "SITC", "ISSCR",
     "USD", "EUR", "RMB", "CNY", "GBP", "HK", "US", "A", "I", "II", "III", "IV", "NASDAQ", "NYSE"}
)
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
_COMPANY_SUFFIX = (
    r"(?:Therapeutics|Biotherapeutics|Bio|Biosciences|Bioscience|Biotech|Biotechnology"
    r"|Biopharma|Biopharmaceuticals?|Pharmaceuticals?|Pharma|Medicines|Oncology|Biologics"
    r"|Sciences|Holdings|Inc|Ltd|Corp|Corporation|AG|SE|plc|GmbH|Limited|LLC|Group|Genomics"
    r"|Immunotherapeutics)"
)
_COMPANY_RE = re.compile(
    r"\b((?:[A-Z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*\s+){1,3})" + _COMPANY_SUFFIX + r"\b"
)
_COMPANY_STOP = frozenset(
    {"the", "today", "shares", "both", "and", "in", "on", "with", "under", "as", "at", "by",
     "for", "from", "its", "our", "global", "chinese", "american", "european", "u.s", "us",
     "fda", "nasdaq", "nyse", "about", "new", "a", "an", "this", "that", "clinical", "first",
     "leading", "private", "privately", "public", "publicly", "fierce", "endpoints", "cell",
     "gene", "therapeutics", "bio", "biotech", "pharma", "holdings", "inc", "ltd", "group",
     "sciences", "medicines", "oncology", "biologics", "when", "while", "after", "news",
     "announces", "reports", "receives", "chief", "executive", "officer", "president",
     "autologous", "allogeneic", "directed", "engineered", "novel", "innovative", "cd19",
     "car-t", "phase", "lead"}
)
# "Boston-based Lumora Therapeutics": the first word describes, it does not name.
_COMPANY_ADJ = ("-based", "-listed", "-headquartered", "-backed", "-focused", "-stage")
_REGULATORY: list[tuple[str, str]] = [
    ("RMAT", r"Regenerative Medicine Advanced Therapy|\bRMAT\b"),
    ("Fast Track", r"(?i:\bfast track\b)"),
    ("Breakthrough Therapy", r"(?i:breakthrough therapy)|\bBTD\b"),
    ("Orphan Drug", r"(?i:orphan drug|orphan designation)|\bODD\b"),
    ("PRIME", r"\bPRIME\b|(?i:priority medicines)"),
    ("Priority Review", r"(?i:priority review)"),
    ("IND", r"\bIND\b|(?i:investigational new drug)"),
    ("CTA", r"\bCTA\b|(?i:clinical trial application)"),
    ("BLA", r"\bBLA\b|\bsBLA\b|(?i:biologics license application)"),
    ("NDA", r"\bNDA\b|\bsNDA\b|(?i:new drug application)"),
    ("MAA", r"\bMAA\b|(?i:marketing authori[sz]ation application)"),
]
_AGENCIES: list[tuple[str, str]] = [
    ("FDA", r"\bFDA\b|(?i:food and drug administration)"),
    ("NMPA", r"\bNMPA\b|\bCDE\b|(?i:national medical products administration)"),
    ("EMA", r"\bEMA\b|\bCHMP\b|(?i:european medicines agency)"),
    ("MHRA", r"\bMHRA\b"),
    ("PMDA", r"\bPMDA\b|\bMHLW\b"),
    ("Health Canada", r"(?i:health canada)"),
    ("TGA", r"\bTGA\b"),
]
_EVENTS: list[tuple[str, str]] = [
    ("offering priced", r"(?i:\bpric(?:ing|es|ed)\b[^.]{0,80}\boffering|\boffering\b[^.]{0,20}"
                        r"\bpric(?:ing|es|ed)\b)"),
    ("offering closed", r"(?i:\bclos(?:ing|es|ed)\b[^.]{0,80}\boffering)"),
    ("offering proposed", r"(?i:\b(?:proposed|commence[sd]?|launch(?:es|ed)?)\b[^.]{0,80}"
                          r"\boffering)"),
    ("acquisition completed", r"(?i:\b(?:complet(?:es|ed|ion of)|closes|closed|closing of)\b"
                              r"[^.]{0,60}\b(?:acquisition|merger)\b)"),
    ("data presentation upcoming",
     r"(?i:\bto present\b|\bwill (?:be )?present(?:ed)?\b|accepted for (?:an? )?(?:oral |poster )?"
     r"presentation|\bto be presented\b)"),
    ("data reported",
     r"(?i:\b(?:reports?|reported|announces?|announced|presents?|presented)\s+(?:positive|new|"
     r"updated|initial|interim|topline|encouraging|long-term|final)\s+(?:[\w/-]+\s+){0,4}?"
     r"(?:data|results)\b|\bpositive (?:[\w/-]+\s+){0,3}?(?:data|results)\b)"),
    ("results call scheduled",
     r"(?i:\bto (?:report|announce|host)\b[^.]{0,80}\b(?:results|conference call|webcast)\b)"),
    ("financial results reported", r"(?i:\breport(?:s|ed)\b[^.]{0,60}\bfinancial results\b)"),
    ("acquisition agreed", r"(?i:\bto acquire\b|definitive (?:merger )?agreement"
                           r"|\bagree[sd]? to (?:acquire|be acquired)\b)"),
]
_MILESTONES: list[tuple[str, str]] = [
    ("first patient dosed",
     r"(?i:first (?:patient|participant|subject)s? (?:has been |have been |was |were )?"
     r"(?:dosed|treated|infused)|dos(?:ed|es|ing) (?:of )?(?:the |its )?first "
     r"(?:patient|participant|subject)|\bfirst dos(?:e|ing)\b|administered to (?:the |a )?"
     r"first (?:patient|participant))"),
    ("enrollment complete", r"(?i:complet(?:es|ed|ion of) (?:patient |subject )?enrol?lment"
                            r"|enrol?lment (?:is |has been )?complete)"),
    ("topline data", r"(?i:top[- ]?line (?:data|results))"),
]
# Medical congresses: the same "to present data" template is reused for each one.
_MEETINGS: list[tuple[str, str]] = [
    ("ACR Convergence", r"\bACR\b|(?i:acr convergence|american college of rheumatology)"),
    ("EULAR", r"\bEULAR\b|(?i:european congress of rheumatology)"),
    ("ASN Kidney Week", r"\bASN\b|(?i:kidney week)"),
    ("ERA Congress", r"\bERA Congress\b|(?i:european renal association)"),
    ("ASH", r"\bASH\b|(?i:american society of hematology)"),
    ("ASCO", r"\bASCO\b|(?i:american society of clinical oncology)"),
    ("EHA", r"\bEHA\b|(?i:european hematology association)"),
    ("AACR", r"\bAACR\b"),
    ("ESMO", r"\bESMO\b"),
    ("SITC", r"\bSITC\b"),
    ("ASGCT", r"\bASGCT\b|(?i:american society of gene (?:and|&) cell therapy)"),
    ("AAN", r"\bAAN\b|(?i:american academy of neurology)"),
    ("ECTRIMS", r"\bECTRIMS\b"),
    ("J.P. Morgan Healthcare Conference", r"(?i:j\.?p\.? morgan healthcare conference)"),
]
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
_CURRENCY = {"US$": "$", "USD": "$", "$": "$", "HK$": "HK$", "€": "€", "EUR": "€", "£": "£",
             "GBP": "£", "RMB": "¥", "CNY": "¥", "¥": "¥", "CHF": "CHF"}
_SCALE = {"billion": 1e3, "bn": 1e3, "b": 1e3, "million": 1.0, "mn": 1.0, "m": 1.0,
          "thousand": 1e-3, "k": 1e-3}
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s?(?:%|percent\b|per cent\b)")
_COUNT_RE = re.compile(
    r"\b(\d[\d,]*)\s+(?:(?:adult|pediatric|evaluable|additional|enrolled|treated)\s+)?"
    r"(patients?|participants?|subjects?|sites?|centers|centres|employees)\b",
    re.IGNORECASE,
)
_CURRENCY_NEEDLES = ("$", "€", "£", "¥", "usd", "eur", "gbp", "rmb", "cny", "chf")
_COUNT_NEEDLES = ("patient", "participant", "subject", "site", "center", "centre", "employee")
_COUNT_UNITS = {"participant": "patients", "participants": "patients", "patient": "patients",
                "subject": "patients", "subjects": "patients", "site": "sites",
                "centers": "sites", "centres": "sites"}


def _split_top(pattern: str) -> list[str]:
    """Split a regex on its top-level ``|`` (not inside groups or classes)."""
    parts: list[str] = []
    depth, start, i, in_class = 0, 0, 0, False
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def _balanced(pattern: str) -> bool:
    """True if no ``)`` in `pattern` closes a group opened before it."""
    depth, i = 0, 0
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        depth += {"(": 1, ")": -1}.get(pattern[i], 0)
        if depth < 0:
            return False
        i += 1
    return depth == 0


def _literal_prefix(alternative: str) -> str:
    """The literal characters every match of `alternative` starts with."""
    out: list[str] = []
    i = 0
    while i < len(alternative):
        char = alternative[i]
        if char == "\\":
            nxt = alternative[i + 1 : i + 2]
            if nxt.isalnum():  # \b, \d, \s ...: not a literal
                if nxt == "b" and not out:
                    i += 2
                    continue
                break
            out.append(nxt)
            i += 2
            continue
        if char in "*?{":
            if out:
                out.pop()
            break
        if char in ".^$[]()|+":
            break
        out.append(char)
        i += 1
    return "".join(out)


def _needles(pattern: str, ignore_case: bool = False) -> list[tuple[str, bool]] | None:
    """Substrings at least one of which any match must contain, as (needle, exact):
    exact needles are tested against the text as written (abbreviations such as "SLE"
    match only in capitals), the others lower-cased against the lower-cased text.
    None when no such literal can be derived (the entry is then always tried)."""
    needles: list[tuple[str, bool]] = []
    for alternative in _split_top(pattern):
        for wrapper in ("(?i:", "(?:"):
            inner = alternative[len(wrapper) : -1]
            if alternative.startswith(wrapper) and alternative.endswith(")") and _balanced(inner):
                sub = _needles(inner, ignore_case or wrapper == "(?i:")
                if sub is None:
                    return None
                needles.extend(sub)
                break
        else:
            prefix = _literal_prefix(alternative)
            if len(prefix.strip()) < 2:
                return None
            needles.append((prefix.lower(), False) if ignore_case else (prefix, True))
    return needles


# Hand-written needles where the derived ones are missing or too common ("to ").
_NEEDLES: dict[str, list[str]] = {  # lower-case, tested against the lower-cased text
    "offering proposed": ["offering"],
    "acquisition completed": ["acquisition", "merger"],
    "data reported": ["data", "results"],
    "data presentation upcoming": ["present"],
    "results call scheduled": ["results", "conference call", "webcast"],
    "financial results reported": ["financial results"],
    "first patient dosed": ["dos", "treated", "infused", "administered"],
    "enrollment complete": ["enrol"],
    "topline data": ["topline", "top-line", "top line"],
    "J.P. Morgan Healthcare Conference": ["morgan"],
}


class _Vocabulary:
    """A name table matched in order, each name's text blanked once matched, so a
    longer name listed first ("lupus nephritis") hides the shorter one it contains.

    Each entry carries literal "needles"; an entry runs its regex only when one of
    them occurs in the text (a C-speed substring test). Most releases mention two or
    three names of a table, so this is ~20x faster than one big alternation, which
    Python's regex engine tries position by position.
    """

    __slots__ = ("entries",)

    def __init__(self, table: list[tuple[str, str]]) -> None:
        self.entries: list[tuple[str, re.Pattern[str], list[tuple[str, bool]] | None]] = []
        for name, pattern in table:
            manual = _NEEDLES.get(name)
            needles = [(n, False) for n in manual] if manual else _needles(pattern)
            self.entries.append((name, re.compile(pattern), needles))

    def find(self, text: str, lowered: str) -> list[tuple[int, str]]:
        """(position, name) of every entry found in `text` (`lowered` is its lower case)."""
        found: list[tuple[int, str]] = []
        original = text
        for name, pattern, needles in self.entries:
            if needles is not None:
                for needle, exact in needles:
                    if needle in (original if exact else lowered):
                        break
                else:
                    continue

            def _blank(match: re.Match[str], name: str = name) -> str:
                found.append((match.start(), name))
                return " " * len(match.group(0))

            text = pattern.sub(_blank, text)
        return found


_DISEASE_VOCAB = _Vocabulary(
    [(name, f"(?i:{names})" + (f"|{abbr}" if abbr else "")) for name, names, abbr in _DISEASES]
)
_REGULATORY_VOCAB = _Vocabulary(_REGULATORY)
_AGENCY_VOCAB = _Vocabulary(_AGENCIES)
_EVENT_VOCAB = _Vocabulary(_EVENTS)
_MILESTONE_VOCAB = _Vocabulary(_MILESTONES)
_MEETING_VOCAB = _Vocabulary(_MEETINGS)


def _number(raw: str) -> float:
    return float(raw.replace(",", ""))


def _fmt(value: float) -> str:
    return f"{value:.6g}"


def _facts(text: str, lead_start: int = 0) -> dict[str, list[tuple[int, str]]]:
    """All anchor values in `text`, per kind, each with its position.

    Company names are read from `lead_start` on only: Title Case turns every phrase
    of a title ("Autologous CD19 CAR-T Cell Therapy") into a capitalized look-alike.
    """
    out: dict[str, list[tuple[int, str]]] = {}
    low = text.lower()

    def has(*needles: str) -> bool:
        # Cheap substring guards skip regexes that cannot match (most of them, most of
        # the time); they are supersets of what each regex needs.
        return any(needle in low for needle in needles)

    def add(kind: str, pos: int, value: str) -> None:
        out.setdefault(kind, []).append((pos, value))

    for pos, name in _DISEASE_VOCAB.find(text, low):
        add("disease", pos, name)
    for pos, name in _REGULATORY_VOCAB.find(text, low):
        add("regulatory", pos, name)
    for pos, name in _AGENCY_VOCAB.find(text, low):
        add("agency", pos, name)
    for pos, name in _EVENT_VOCAB.find(text, low):
        add("event", pos, name)
    for pos, name in _MILESTONE_VOCAB.find(text, low):
        add("milestone", pos, name)
    for needles, pattern, render in _PERIOD_RES:
        for m in pattern.finditer(text) if has(*needles) else ():
            add("period", m.start(), render(m))
    for pos, name in _MEETING_VOCAB.find(text, low):
        add("meeting", pos, name)
    for m in _INVESTOR_CONF_RE.finditer(text) if has("conference", "summit", "forum") else ():
        add("meeting", m.start(), m.group(1).split()[0].lower().rstrip(".") + " conference")
    for m in _YEAR_RE.finditer(text):
        add("year", m.start(), m.group(1))
    for m in _TARGET_RE.finditer(text):
        add("target", m.start(), m.group(1).upper().replace(" ", "").replace("CLAUDIN", "CLDN"))
    for m in _CODE_RE.finditer(text):
        letters, extra, digits, tail = m.groups()
        if letters in _CODE_EXCLUDE or (letters.startswith("CD") and not extra):
            continue
        if len(digits) == 4 and digits[:2] in ("19", "20") and not extra and len(letters) >= 3:
            continue  # "ASCO2025"-style event names, not drug codes
        add("drug", m.start(), f"{letters}{extra}{digits}{tail}".upper())
    for m in _INN_RE.finditer(text) if has("mab", "leucel", "tinib", "-cel") else ():
        add("drug", m.start(), m.group(1).lower())
    for m in _TRIAL_RE.finditer(text):
        add("trial", m.start(), m.group(1).upper())
    for m in _PHASE_RE.finditer(text) if has("phase") else ():
        for raw in (m.group(1), m.group(3)):
            if raw:
                add("phase", m.start(), "Phase " + _ROMAN.get(raw.lower(), raw))
    for m in _TICKER_RE.finditer(text) if has(":", ".hk") else ():
        add("ticker", m.start(), (m.group(1) or m.group(2)).upper())
    for m in _COMPANY_RE.finditer(text, lead_start):
        words = re.split(r"\s+", m.group(1).strip())
        for word in words:
            if word.lower() not in _COMPANY_STOP and not word.lower().endswith(_COMPANY_ADJ):
                add("company", m.start(), word.lower())
                break
    for pattern in _DATE_RES:
        for m in pattern.finditer(text):
            month_raw, day = m.groups() if pattern is _DATE_RES[0] else m.groups()[::-1]
            month = _MONTHS[month_raw[:3].lower()]
            if 1 <= int(day) <= 31:
                add("date", m.start(), f"{month:02d}-{int(day):02d}")
    for m in _AMOUNT_RE.finditer(text) if has(*_CURRENCY_NEEDLES) else ():
        currency = _CURRENCY[m.group(1).strip()]
        scale = _SCALE.get((m.group(3) or "").lower())
        value = _number(m.group(2))
        if scale is None:
            add("amount", m.start(), f"{currency}{_fmt(value)}")
        else:
            add("amount", m.start(), f"{currency}{_fmt(value * scale)}M")
    for m in _PERCENT_RE.finditer(text) if has("%", "percent", "per cent") else ():
        add("percent", m.start(), _fmt(float(m.group(1))) + "%")
    for m in _COUNT_RE.finditer(text) if has(*_COUNT_NEEDLES) else ():
        unit = m.group(2).lower()
        add("count", m.start(), f"{_fmt(_number(m.group(1)))} {_COUNT_UNITS.get(unit, unit)}")
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
