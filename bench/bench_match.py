"""Benchmark the match stage against a naive per-term regex loop.

Run: python bench/bench_match.py [--items N] [--seed S]

Why: the matcher promises that its cost grows with the length of an item's text, not
with the number of terms configured. This measures items/second for 20 topics with
200 terms on ~2,000 generated newswire-like items (title + a 1-3 KB summary), against
a baseline measured in the same run: every term compiled to a case-insensitive
`\\bterm\\b` regex, all searched in every item. It also runs 20 terms (and, for the
matcher only, 2,000 terms) to show how each approach scales with the term count.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aggregator.config import TopicConfig  # noqa: E402
from aggregator.core.match import MatchDocument, compile_topics  # noqa: E402

REAL_TERMS = [
    "CAR-T",
    "lupus",
    "CD19",
    "BCMA",
    "HER2",
    "PD-1",
    "PD-L1",
    "KRAS G12C",
    "EGFR",
    "CRISPR",
    "base editing",
    "prime editing",
    "mRNA",
    "siRNA",
    "antisense oligonucleotide",
    "bispecific antibody",
    "antibody-drug conjugate",
    "checkpoint inhibitor",
    "GLP-1",
    "semaglutide",
    "tirzepatide",
    "Alzheimer's disease",
    "amyloid",
    "tau",
    "Parkinson's",
    "ALS",
    "Huntington's disease",
    "multiple sclerosis",
    "myasthenia gravis",
    "rheumatoid arthritis",
    "Crohn's disease",
    "ulcerative colitis",
    "psoriasis",
    "atopic dermatitis",
    "Sjögren's syndrome",
    "systemic sclerosis",
    "lupus nephritis",
    "sickle cell disease",
    "beta thalassemia",
    "hemophilia A",
    "Duchenne",
    "spinal muscular atrophy",
    "cystic fibrosis",
    "NASH",
    "MASH",
    "obesity",
    "type 2 diabetes",
    "heart failure",
    "multiple myeloma",
    "large B-cell lymphoma",
    "acute myeloid leukemia",
    "CLL",
    "non-small cell lung cancer",
    "triple-negative breast cancer",
    "glioblastoma",
    "pancreatic cancer",
    "prostate cancer",
    "hepatocellular carcinoma",
    "melanoma",
    "FDA approval",
    "breakthrough therapy",
    "orphan drug",
    "accelerated approval",
    "Phase 3",
    "Phase 2",
    "BLA",
    "NDA",
    "EMA",
    "CHMP",
    "PDUFA",
    "complete response letter",
    "gene therapy",
    "AAV",
    "lentiviral",
    "TCR-T",
    "NK cell",
    "CAR-NK",
    "allogeneic",
    "autologous",
    "cytokine release syndrome",
    "ICANS",
    "IL-6",
    "IL-17",
    "IL-23",
    "TNF",
    "JAK inhibitor",
    "BTK inhibitor",
    "FcRn",
    "complement C5",
    "TYK2",
    "S1P",
    "CD20",
    "CD38",
    "CLDN18.2",
    "TROP2",
    "Nectin-4",
    "B7-H3",
    "ADC",
    "radioligand",
    "PSMA",
]
_SYLLABLES = [
    "za",
    "ne",
    "bru",
    "ti",
    "lo",
    "ve",
    "mo",
    "ra",
    "xi",
    "fe",
    "qui",
    "do",
    "sa",
    "li",
    "ko",
    "pre",
    "ta",
    "vu",
    "mi",
    "ro",
]
_STEMS = ["mab", "tinib", "ciclib", "lisib", "parib", "rafenib", "stat", "cel", "gene", "tide"]
_FILLER_TEXT = (
    "the company said on Tuesday that it expects to report topline data later this year "
    "according to a statement investors analysts shares rose fell percent in premarket "
    "trading the trial enrolled patients across sites in the United States and Europe "
    "results were presented at the annual meeting management will host a conference call "
    "revenue quarter guidance pipeline partnership agreement milestone payments royalties "
    "regulatory submission primary endpoint secondary endpoints safety profile was "
    "consistent with previous studies no new signals were observed chief executive officer "
    "said we are encouraged by these results and look forward to discussing them with "
    "regulators the market for such treatments is estimated at billion dollars by"
)
FILLER = _FILLER_TEXT.split()
DECOYS = [
    "cart",
    "Cartier",
    "cartilage",
    "McCarthy",
    "CAR (capital adequacy ratio)",
    "Central African Republic (CAR)",
    "CART model",
    "Canis lupus",
    "tau-protein-free",
    "CD190",
    "PD-10",
    "ALSO",
    "Phase",
]


def make_terms(count: int, rng: random.Random) -> list[str]:
    """REAL_TERMS first, then synthetic drug names (zanubrutinib-like) up to `count`."""
    terms = list(dict.fromkeys(REAL_TERMS))[:count]
    seen = {term.lower() for term in terms}
    while len(terms) < count:
        name = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        name = (name + rng.choice(_STEMS)).capitalize()
        if name.lower() not in seen:
            seen.add(name.lower())
            terms.append(name)
    return terms


def make_items(count: int, terms: list[str], rng: random.Random) -> list[MatchDocument]:
    """Newswire-like items: filler prose with curly quotes and dashes, some decoys, and
    0-3 configured terms (in varied spellings) per item."""
    items = []
    for index in range(count):
        words = [rng.choice(FILLER) for _ in range(rng.randint(150, 450))]
        for _ in range(rng.randint(0, 3)):
            words.insert(rng.randrange(len(words)), rng.choice(DECOYS))
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            term = rng.choice(terms)
            term = rng.choice((term, term.upper(), term.replace("-", "\u2011"), term + "s"))
            words.insert(rng.randrange(len(words)), term)
        for position in range(12, len(words), rng.randint(15, 25)):
            words[position] = words[position] + rng.choice((".", ",", " \u2014", ";"))
        summary = " ".join(words).replace(" the company", " \u201cthe company\u201d")
        title = " ".join(rng.choice(FILLER) for _ in range(rng.randint(6, 14))).capitalize()
        items.append(
            MatchDocument(
                title=title,
                summary=summary,
                content="",
                categories=["Biotech", "Health"],
                author=None,
                source=f"wire-{index % 7}",
                source_tags=["news"],
            )
        )
    return items


def matcher_runner(terms: list[str], topics: int) -> Callable[[list[MatchDocument]], int]:
    per = max(1, len(terms) // topics)
    configs = [
        TopicConfig(slug=f"topic-{i}", title=f"Topic {i}", include=terms[i * per : (i + 1) * per])
        for i in range(topics)
        if terms[i * per : (i + 1) * per]
    ]
    matcher = compile_topics(configs, {})

    def run(items: list[MatchDocument]) -> int:
        matched = 0
        for item in items:
            matched += sum(result.matched for result in matcher.match(item))
        return matched

    return run


def regex_runner(terms: list[str]) -> Callable[[list[MatchDocument]], int]:
    patterns = [re.compile(rf"\b{re.escape(term)}\b", re.IGNORECASE) for term in terms]

    def run(items: list[MatchDocument]) -> int:
        hits = 0
        for item in items:
            text = f"{item.title}\n{item.summary}\n" + "\n".join(item.categories)
            for pattern in patterns:
                if pattern.search(text):
                    hits += 1
        return hits

    return run


def timed(
    run: Callable[[list[MatchDocument]], int], items: list[MatchDocument], repeat: int
) -> float:
    """Best CPU time of `repeat` runs: this process's own seconds, the least disturbed
    by other processes on a shared machine (wall time swung 1.3-2.4 s between runs)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        run(items)
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    all_terms = make_terms(2000, rng)
    items = make_items(args.items, all_terms[:200], rng)
    size = sum(len(item.title) + len(item.summary) for item in items) / len(items)
    print(f"{len(items)} items, mean title+summary {size / 1024:.1f} KB, 20 topics\n")

    rows: list[tuple[str, int, float]] = []
    for count in (20, 200, 2000):
        terms = all_terms[:count]
        rows.append(("TopicMatcher", count, timed(matcher_runner(terms, 20), items, 3)))
        if count <= 200:
            rows.append(("re.search loop", count, timed(regex_runner(terms), items, 1)))

    print(f"{'method':<16} {'terms':>6} {'seconds':>9} {'items/s':>10}")
    rate: dict[tuple[str, int], float] = {}
    for method, count, seconds in rows:
        rate[(method, count)] = len(items) / seconds
        print(f"{method:<16} {count:>6} {seconds:>9.3f} {rate[(method, count)]:>10,.0f}")
    ratio = rate[("TopicMatcher", 200)] / rate[("re.search loop", 200)]
    print(f"\nspeed-up at 200 terms: {ratio:.1f}x (target >= 10x, issue 17)")
    for method in ("TopicMatcher", "re.search loop"):
        slow = rate[(method, 20)] / rate[(method, 200)]
        print(f"{method}: 200 terms cost {slow:.2f}x the time of 20 terms")
    slow = rate[("TopicMatcher", 20)] / rate[("TopicMatcher", 2000)]
    print(f"TopicMatcher: 2000 terms cost {slow:.2f}x the time of 20 terms")
    return 0 if ratio >= 5 else 1


if __name__ == "__main__":
    raise SystemExit(main())
