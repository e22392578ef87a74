"""Benchmark for aggregator.core.dedupe: merge quality on the fixture, cost per new item.

Run from the repository root::

    python bench/bench_dedupe.py            # full run (~1 minute)
    python bench/bench_dedupe.py --quick    # 2,000 / 20,000 items, for a smoke test

Part 1 scores merge decisions on the labeled fixture (tests/fixtures/dedupe), pairwise
and after streaming the records through BandIndex in publication order, the way the
store assigns stories.

Part 2 measures what the pipeline pays per new item (fingerprint + candidate lookup +
compare against the candidates) with BandIndex pre-filled with 10,000 and 100,000
synthetic press releases, plus a brute-force baseline that compares against every
stored item. The synthetic archive grows the way a real one does: more items means a
longer history (about 100 releases a day) from a growing set of companies, each with
its own boilerplate, templates shared by everyone. Each lookup uses the store's
default 7-day window.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import multiprocessing
import os
import random
import statistics
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.core.dedupe import (  # noqa: E402 - after the path tweak, so it runs uninstalled
    BandIndex,
    Fingerprint,
    best_match,
    compare,
    fingerprint,
)
from aggregator.core.dedupe.core import is_name_key  # noqa: E402
from aggregator.core.dedupe.decide import decide_story  # noqa: E402
from aggregator.core.dedupe.event import EVENT_HOURS, TermStats  # noqa: E402
from aggregator.models import Candidate, MergePolicy  # noqa: E402
from aggregator.store.stories import (  # noqa: E402
    MAX_CANDIDATES,
    MAX_EVENT_CANDIDATES,
    STATS_ITEMS,
)

FIXTURE = ROOT / "tests" / "fixtures" / "dedupe" / "syndication.toml"
POLICY = MergePolicy()
WINDOW = timedelta(days=7)
EVENT = timedelta(hours=EVENT_HOURS)
PER_DAY = 100
EXACT = frozenset({"wire", "reprint", "newsroom", "teaser"})


# --- part 1: quality on the fixture -----------------------------------------------------


def _score(pairs: list[tuple[bool, bool]]) -> tuple[int, int, int, float, float]:
    tp = sum(1 for truth, got in pairs if truth and got)
    fp = sum(1 for truth, got in pairs if not truth and got)
    fn = sum(1 for truth, got in pairs if truth and not got)
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return tp, fp, fn, precision, recall


def quality() -> None:
    records = tomllib.loads(FIXTURE.read_text(encoding="utf-8"))["record"]
    records.sort(key=lambda r: (r["published"], r["id"]))
    fps = {r["id"]: fingerprint(r["title"], r["summary"]) for r in records}

    index = BandIndex()
    story_of: dict[str, str] = {}
    for rec in records:
        fp = fps[rec["id"]]
        found = best_match(fp, index.candidates(fp, rec["published"] - WINDOW))
        story_of[rec["id"]] = found[0] if found else rec["id"]
        index.add(story_of[rec["id"]], fp, rec["published"])

    pairs = list(itertools.combinations(records, 2))
    decided = {(a["id"], b["id"]): compare(fps[a["id"]], fps[b["id"]]).same for a, b in pairs}

    def rows(keep: Callable[[dict[str, Any], dict[str, Any]], bool]) -> list[list[str]]:
        chosen = [(a, b) for a, b in pairs if keep(a, b)]
        out = []
        for label, got in (
            ("pairwise compare()", lambda a, b: decided[(a["id"], b["id"])]),
            ("streamed via BandIndex", lambda a, b: story_of[a["id"]] == story_of[b["id"]]),
        ):
            tp, fp, fn, p, r = _score([(a["story"] == b["story"], got(a, b)) for a, b in chosen])
            out.append([label, f"{tp + fn}", f"{tp}", f"{fp}", f"{fn}", f"{p:.3f}", f"{r:.3f}"])
        return out

    stories = {r["story"] for r in records}
    print(
        f"Fixture: {len(records)} records, {len(stories)} stories, "
        f"{sum(1 for r in records if r.get('lookalike_of'))} hard negatives, "
        f"{len(pairs)} pairs\n"
    )
    header = ["decision", "same-story pairs", "merged", "wrong", "missed", "precision", "recall"]
    print("All copies (rewrites included)")
    _table(header, rows(lambda a, b: True))
    print("\nWire / reprint / newsroom / teaser copies only (rewrites excluded)")
    _table(header, rows(lambda a, b: a["copy"] in EXACT and b["copy"] in EXACT))
    print()


# --- part 2: cost per new item ----------------------------------------------------------

_SYL = [
    "ar",
    "vel",
    "lum",
    "kes",
    "tor",
    "zan",
    "mer",
    "cal",
    "nov",
    "sol",
    "pel",
    "ori",
    "bri",
    "hal",
    "ver",
    "ky",
    "ath",
    "syn",
    "cor",
    "ex",
    "ion",
    "ta",
    "re",
    "qui",
    "dex",
    "mo",
    "nex",
    "gen",
    "vi",
    "lo",
    "ra",
    "sen",
]
_SUFFIX = [
    "Therapeutics",
    "Bio",
    "Biosciences",
    "Pharmaceuticals",
    "Biotherapeutics",
    "Oncology",
    "Medicines",
    "Immunology",
    "Cell Therapy",
    "Genomics",
]
_CITIES = [
    "BOSTON",
    "CAMBRIDGE, Mass.",
    "SOUTH SAN FRANCISCO, Calif.",
    "SAN DIEGO",
    "SHANGHAI",
    "SUZHOU, China",
    "PHILADELPHIA",
    "SEATTLE",
    "HOUSTON",
    "NEW YORK",
    "MUNICH",
    "BASEL, Switzerland",
    "LONDON",
    "TORONTO",
    "RALEIGH, N.C.",
    "WALTHAM, Mass.",
]
_DISEASES = [
    "systemic lupus erythematosus",
    "lupus nephritis",
    "systemic sclerosis",
    "myasthenia gravis",
    "multiple sclerosis",
    "rheumatoid arthritis",
    "idiopathic inflammatory myopathies",
    "ANCA-associated vasculitis",
    "multiple myeloma",
    "large B-cell lymphoma",
    "acute myeloid leukemia",
    "glioblastoma",
    "pancreatic cancer",
    "hepatocellular carcinoma",
    "psoriasis",
    "ulcerative colitis",
    "type 1 diabetes",
    "IgA nephropathy",
    "Sjögren's disease",
    "neuromyelitis optica",
    "non-small cell lung cancer",
    "atopic dermatitis",
]
_MODALITIES = [
    "autologous CD19 CAR-T cell therapy",
    "allogeneic CD19 CAR-T cell therapy",
    "in vivo CAR-T therapy",
    "BCMA-directed CAR-T",
    "CD19/BCMA bispecific antibody",
    "FcRn inhibitor",
    "small-molecule BTK inhibitor",
    "CD20 T-cell engager",
    "mRNA-encoded CAR",
    "gamma delta T-cell therapy",
    "regulatory T-cell therapy",
    "antibody-drug conjugate",
    "oral TYK2 inhibitor",
    "siRNA therapeutic",
    "gene-edited NK cell therapy",
    "anti-CD40L monoclonal antibody",
]
_FOCUS = [
    "autoimmune diseases",
    "B-cell-mediated diseases",
    "solid tumors",
    "hematologic malignancies",
    "kidney diseases",
    "neuroinflammatory diseases",
    "fibrotic diseases",
    "rare immunological disorders",
    "inflammatory diseases",
]
_PLATFORM = [
    "targeted lipid nanoparticles",
    "a proprietary gene-editing platform",
    "a fully human binder library",
    "a rapid manufacturing process",
    "machine-learning-guided protein design",
    "a switchable CAR architecture",
    "armored T cells",
    "a non-viral delivery system",
    "a logic-gated receptor",
]
_NAMES = [
    "Rachel Okafor",
    "Daniel Reyes",
    "Priya Natarajan",
    "Samuel Osei",
    "Anika Varga",
    "Grace Liu",
    "Oliver Grant",
    "Claire Dubois",
    "Marcus Lindqvist",
    "Elena Marquez",
    "Thomas Hale",
    "Helen Brandt",
    "Kenji Sato",
    "Fatima Haddad",
    "Lukas Berger",
    "Maya Chen",
    "Victor Alvarez",
    "Ingrid Solberg",
    "Tunde Bakare",
    "Sofia Rossi",
]
_INVESTORS = [
    "Frontline Ventures",
    "Northbridge Partners",
    "Harborview Capital",
    "Cedar Point Bio Fund",
    "Atlas Peak Capital",
    "Meridian Health Ventures",
    "Blue Heron Partners",
    "Granite Life Sciences",
    "Summit Crest Ventures",
]
_MEETINGS = [
    "ACR Convergence",
    "EULAR",
    "ASH",
    "ASCO",
    "EHA",
    "ASN Kidney Week",
    "AACR",
    "ESMO",
    "ASGCT",
    "AAN",
]
_ORD = ["first", "second", "third", "fourth"]
_VERBS = ["advance", "accelerate", "expand", "support", "fund", "extend", "broaden"]
_ADJ = [
    "durable",
    "deep",
    "rapid",
    "sustained",
    "encouraging",
    "robust",
    "meaningful",
    "consistent",
    "favorable",
    "early",
    "potent",
    "selective",
]
_NOUNS = [
    "remission",
    "B-cell depletion",
    "responses",
    "tolerability",
    "biomarker changes",
    "disease control",
    "immune reset",
    "pharmacokinetics",
    "engraftment",
    "persistence",
]


def _company(rng: random.Random) -> dict[str, str]:
    name = "".join(rng.sample(_SYL, rng.randint(2, 3))).capitalize()
    full = f"{name} {rng.choice(_SUFFIX)}"
    ticker = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
    return {
        "name": full,
        "short": name,
        "ticker": ticker,
        "city": rng.choice(_CITIES),
        "desc": (
            f"a {rng.choice(['clinical-stage', 'commercial-stage', 'preclinical', 'private'])}"
            f" biotechnology company developing {rng.choice(_MODALITIES)}s for "
            f"{rng.choice(_FOCUS)} using {rng.choice(_PLATFORM)}"
        ),
        "code": f"{name[:3].upper()}-{rng.randint(10, 999)}",
        "ceo": rng.choice(_NAMES),
    }


def _release(rng: random.Random, co: dict[str, str], when: datetime) -> tuple[str, str]:
    """One synthetic press release (title, summary) in a random wire format."""
    code = co["code"] if rng.random() < 0.6 else f"{co['short'][:3].upper()}-{rng.randint(10, 999)}"
    disease = rng.choice(_DISEASES)
    modality = rng.choice(_MODALITIES)
    month = when.strftime("%B")
    q = rng.randint(1, 4)
    amount = rng.choice([25, 40, 60, 75, 90, 110, 125, 150, 175, 200, 250, 300])
    kind = rng.randrange(9)
    if kind == 0:
        title = f"{co['name']} Announces FDA Clearance of IND Application for {code} in {disease}"
        body = (
            f"today announced that the U.S. Food and Drug Administration has cleared its "
            f"Investigational New Drug application for {code}, an {modality}, for the "
            f"treatment of patients with {disease}. The Company plans to initiate a Phase "
            f"{rng.choice(['1', '1/2', '1b'])} trial in the {rng.choice(_ORD)} half of "
            f"{when.year + rng.randint(0, 1)}."
        )
    elif kind == 1:
        title = f"{co['name']} Doses First Patient in Phase 1 Trial of {code} in {disease}"
        body = (
            f"today announced that the first patient has been dosed in its Phase 1 trial "
            f"of {code}, an {modality}, in patients with refractory {disease}. The trial "
            f"will enroll up to {rng.randint(12, 60)} patients at {rng.randint(5, 30)} "
            f"sites."
        )
    elif kind == 2:
        title = (
            f"{co['name']} Reports {_ORD[q - 1].capitalize()} Quarter {when.year} "
            f"Financial Results and Provides Business Update"
        )
        body = (
            f"today reported financial results for the {_ORD[q - 1]} quarter of "
            f"{when.year}. Cash and equivalents were ${rng.randint(50, 900)}."
            f"{rng.randint(0, 9)} million; research and development expenses were "
            f"${rng.randint(5, 90)}.{rng.randint(0, 9)} million and net loss was "
            f"${rng.randint(8, 120)}.{rng.randint(0, 9)} million."
        )
    elif kind == 3:
        lead_inv = rng.choice(_INVESTORS)
        title = (
            f"{co['name']} Raises ${amount} Million Series {rng.choice('ABC')} to "
            f"{rng.choice(_VERBS).capitalize()} {code}"
        )
        body = (
            f"today announced a ${amount} million financing led by {lead_inv} with "
            f"participation from {rng.choice(_INVESTORS)}. Proceeds will "
            f"{rng.choice(_VERBS)} {code} through clinical proof of concept in {disease}."
        )
    elif kind == 4:
        meeting = rng.choice(_MEETINGS)
        title = f"{co['name']} to Present New Data on {code} at {meeting} {when.year}"
        body = (
            f"today announced that {rng.randint(1, 4)} abstracts on {code} in {disease} "
            f"have been accepted for presentation at {meeting} {when.year}, taking place "
            f"{month} {rng.randint(1, 28)}-{rng.randint(1, 28)}."
        )
    elif kind == 5:
        title = f"{co['name']} Reports Positive Phase 1 Data for {code} in {disease}"
        n = rng.randint(6, 40)
        body = (
            f"today announced positive data from its Phase 1 trial of {code} in {disease}. "
            f"Of {n} patients treated, {rng.randint(30, 95)}% achieved "
            f"{rng.choice(_ADJ)} {rng.choice(_NOUNS)} at {rng.randint(3, 24)} months, with "
            f"{rng.choice(_ADJ)} {rng.choice(_NOUNS)} and no Grade 3 events."
        )
    elif kind == 6:
        designation = rng.choice(["Fast Track", "RMAT", "Orphan Drug", "Breakthrough Therapy"])
        title = f"{co['name']} Receives FDA {designation} Designation for {code} in {disease}"
        body = (
            f"today announced that the FDA has granted {designation} designation to "
            f"{code}, an {modality}, for the treatment of {disease}."
        )
    elif kind == 7:
        person = rng.choice(_NAMES)
        role = rng.choice(
            [
                "Chief Medical Officer",
                "Chief Financial Officer",
                "Chief Scientific Officer",
                "Chief Business Officer",
            ]
        )
        title = f"{co['name']} Appoints {person} as {role}"
        body = (
            f"today announced the appointment of {person} as {role}. {person.split()[0]} "
            f"joins from {rng.choice(_INVESTORS).split()[0]} Pharma, where "
            f"{rng.choice(['she', 'he'])} led {rng.choice(_FOCUS)} development."
        )
    else:
        partner = _company(rng)
        title = (
            f"{co['name']} and {partner['name']} Enter License Agreement for {code} in "
            f"{rng.choice(['Greater China', 'Japan', 'Europe', 'the United States'])}"
        )
        body = (
            f"and {partner['name']} today announced an exclusive license agreement for "
            f"{code}. {co['short']} will receive ${rng.randint(5, 80)} million upfront and "
            f"up to ${rng.randint(100, 900)} million in milestones."
        )
    quote = (
        f'"{rng.choice(["This", "Today", "The milestone"])} reflects '
        f"{rng.choice(_ADJ)} progress toward {rng.choice(_ADJ)} {rng.choice(_NOUNS)} "
        f'for patients with {disease}," said {co["ceo"]}, Chief Executive Officer.'
    )
    date = f"{when.strftime('%b')}. {when.day}, {when.year}"
    dateline = rng.choice(
        [
            f"{co['city']}, {date} /PRNewswire/ -- ",
            f"{co['city']}, {date} (GLOBE NEWSWIRE) -- ",
            f"{co['city']}--(BUSINESS WIRE)--",
            f"{co['city']}, {when.strftime('%B')} {when.day}, {when.year} — ",
        ]
    )
    summary = (
        f"{dateline}{co['name']} (Nasdaq: {co['ticker']}), {co['desc']}, {body} {quote}"
        f"\nAbout {co['name']}\n{co['name']} is {co['desc']}."
    )
    return title, summary


def _fingerprint_pair(pair: tuple[str, str]) -> Fingerprint:
    return fingerprint(*pair)


def _archive(
    size: int, rng: random.Random, workers: int
) -> tuple[list[tuple[str, Fingerprint, datetime]], list[dict[str, str]], datetime]:
    """`size` synthetic releases over size/PER_DAY days, ending at the returned `now`.

    About one company per 12 releases: a bigger archive is a longer history of a
    larger universe, as on a real wire. Fingerprinting is spread over `workers`
    processes only to keep the benchmark short; it is not part of the measured cost.
    """
    companies = [_company(rng) for _ in range(max(50, size // 12))]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    span = timedelta(days=size / PER_DAY)
    whens = [start + span * (n / size) for n in range(size)]
    texts = [_release(rng, rng.choice(companies), when) for when in whens]
    if workers > 1:
        with multiprocessing.Pool(workers) as pool:
            fps = pool.map(_fingerprint_pair, texts, chunksize=500)
    else:
        fps = [_fingerprint_pair(pair) for pair in texts]
    items = [(f"story-{n}", fp, when) for n, (fp, when) in enumerate(zip(fps, whens, strict=True))]
    return items, companies, start + span


def _queries(
    rng: random.Random,
    companies: list[dict[str, str]],
    now: datetime,
    recent: list[tuple[str, str]],
    count: int,
) -> list[tuple[str, str]]:
    """New items: half fresh releases, half copies of recent ones in another wrapper."""
    out = []
    for n in range(count):
        if n % 2 and recent:
            title, summary = rng.choice(recent)
            body = summary.split("--", 1)[-1].split("—", 1)[-1].lstrip()
            out.append(
                (
                    "PRESS RELEASE: " + title,
                    f"NEW YORK, {now:%B} {now.day}, {now.year} (GLOBE NEWSWIRE) -- {body}",
                )
            )
        else:
            out.append(_release(rng, rng.choice(companies), now))
    return out


def _measure(
    queries: list[tuple[str, str]], run: Callable[[Fingerprint], tuple[int, bool]]
) -> dict[str, float]:
    fp_t, look_t, cands, merged = [], [], [], 0
    for title, summary in queries:
        t0 = time.perf_counter()
        fp = fingerprint(title, summary)
        t1 = time.perf_counter()
        n, same = run(fp)
        t2 = time.perf_counter()
        fp_t.append(t1 - t0)
        look_t.append(t2 - t1)
        cands.append(n)
        merged += same
    return {
        "fingerprint_us": statistics.mean(fp_t) * 1e6,
        "lookup_us": statistics.mean(look_t) * 1e6,
        "total_us": (statistics.mean(fp_t) + statistics.mean(look_t)) * 1e6,
        "candidates": statistics.mean(cands),
        "max_candidates": max(cands),
        "merged": merged / len(queries),
    }


def cost(
    sizes: list[int], queries_per_size: int, brute_queries: int, seed: int, workers: int
) -> None:
    rng = random.Random(seed)
    largest = max(sizes)
    t0 = time.perf_counter()
    # One synthetic history; each archive size is its most recent `size` items, so all
    # sizes end "now" and only the depth of history differs.
    items, companies, now = _archive(largest, rng, workers)
    gen_s = time.perf_counter() - t0
    print(
        f"Cost per new item (synthetic archive: {largest:,} items generated and "
        f"fingerprinted in {gen_s:.1f} s on {workers} process(es))\n"
    )
    recent_rng = random.Random(seed + 1)
    # 200 releases of the last ~6 days: inside the 7-day window, the copies' targets.
    ages = [timedelta(minutes=45 * n) for n in range(200)]
    recent = [_release(recent_rng, recent_rng.choice(companies), now - age) for age in ages]
    recent_fps = [
        (f"recent-{n}", fingerprint(t, s), now - age)
        for n, ((t, s), age) in enumerate(zip(recent, ages, strict=True))
    ]
    results: list[list[str]] = []
    baseline: dict[str, float] | None = None
    by_size: dict[int, dict[str, float]] = {}
    for size in sorted(sizes):
        index = BandIndex()
        stored = items[-size:]
        t0 = time.perf_counter()
        for story_id, fp, when in stored:
            index.add(story_id, fp, when)
        for story_id, fp, when in recent_fps:
            index.add(story_id, fp, when)
        build_s = time.perf_counter() - t0
        queries = _queries(random.Random(seed + size), companies, now, recent, queries_per_size)

        stored_json = {sid: (fp.to_json(), when.timestamp())
                       for sid, fp, when in [*stored, *recent_fps]}
        term_stats = TermStats()
        for _, fp, _ in stored[-STATS_ITEMS:]:
            term_stats.add(fp.event)

        def indexed(fp: Fingerprint, index: BandIndex = index,
                    stored_json: dict[str, tuple[str, float]] = stored_json,
                    term_stats: TermStats = term_stats) -> tuple[int, bool]:
            # What the store does per new item: candidates by index keys, read as
            # stored JSON, decided by the pure decide_story (copies and events).
            copies = dataclasses.replace(fp, bands=tuple(b for b in fp.bands
                                                         if not is_name_key(b)))
            names = dataclasses.replace(fp, bands=tuple(b for b in fp.bands if is_name_key(b)))
            found = [*index.candidates(copies, now - WINDOW)[:MAX_CANDIDATES],
                     *index.candidates(names, now - EVENT)[:MAX_EVENT_CANDIDATES]]
            candidates = [Candidate(sid, sid, None, stored_json[sid][1], 0.0, stored_json[sid][0])
                          for sid, _ in dict(found).items()]
            verdict = decide_story("new", None, fp, now.timestamp(), candidates, POLICY,
                                   members={c.story_id: [c] for c in candidates},
                                   stats=term_stats)
            return len(found), verdict.story_id is not None

        stats = _measure(queries, indexed)
        by_size[size] = stats
        results.append(
            [
                f"BandIndex, {size:,} stored",
                f"{build_s:.1f} s",
                f"{stats['fingerprint_us']:.0f}",
                f"{stats['lookup_us']:.0f}",
                f"{stats['total_us']:.0f}",
                f"{stats['candidates']:.1f}",
                f"{stats['max_candidates']}",
                f"{stats['merged']:.0%}",
            ]
        )
        if size == min(sizes):
            everything = [(sid, fp) for sid, fp, _ in [*stored, *recent_fps]]

            def brute(
                fp: Fingerprint, everything: list[tuple[str, Fingerprint]] = everything
            ) -> tuple[int, bool]:
                return len(everything), best_match(fp, everything) is not None

            baseline = _measure(queries[:brute_queries], brute)
            results.append(
                [
                    f"brute force, {size:,} stored",
                    "-",
                    f"{baseline['fingerprint_us']:.0f}",
                    f"{baseline['lookup_us']:.0f}",
                    f"{baseline['total_us']:.0f}",
                    f"{baseline['candidates']:.0f}",
                    f"{baseline['max_candidates']}",
                    f"{baseline['merged']:.0%}",
                ]
            )
    _table(
        [
            "method",
            "index build",
            "fingerprint us",
            "lookup+compare us",
            "total us/item",
            "candidates/item",
            "max cand.",
            "merged",
        ],
        results,
    )
    small, large = by_size[min(sizes)], by_size[max(sizes)]
    assert baseline is not None
    print(
        f"\nIndexed cost {max(sizes):,} vs {min(sizes):,} stored: "
        f"x{large['total_us'] / small['total_us']:.2f} for x{max(sizes) // min(sizes)} items; "
        f"brute force at {min(sizes):,} is x{baseline['total_us'] / small['total_us']:.0f} "
        f"the indexed cost."
    )


def _table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(header, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2,000 and 20,000 items")
    parser.add_argument("--queries", type=int, default=300, help="new items per archive size")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workers",
        type=int,
        default=min(4, os.cpu_count() or 1),
        help="processes used to build the synthetic archive",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    quality()
    sizes = [2_000, 20_000] if args.quick else [10_000, 100_000]
    cost(sizes, args.queries, brute_queries=20, seed=args.seed, workers=args.workers)
    print(f"\nTotal run time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
