"""Fast-path coverage and agreement on the whole cycle corpus (issue 18: >= 99%).

Run: PYTHONPATH=$PWD python bench/bench_parse.py [--feeds N] [--seed S]

For every document the cycle benchmark serves (version 0 and version 1), as labelled
by the bench server: which parser reads it (fast path, JSON Feed, feedparser), whether
the fast path's items equal feedparser's (feed fields, raw entries and normalized
items), and the CPU each path spends. Exits non-zero when coverage is under 99% or any
answer differs.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycle.corpus import load_or_generate  # noqa: E402
from bench.cycle.paths import judge  # noqa: E402

TARGET = 0.99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    folder, specs = load_or_generate(feeds=args.feeds, changed=0.1, seed=args.seed)
    paths: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = defaultdict(Counter)
    disagreements, fallbacks = [], []
    started = time.process_time()
    for spec in specs:
        name = spec.path.rsplit("/", 1)[1]
        for version in ("v0", "v1") if spec.changed else ("v0",):
            body = (folder / version / name).read_bytes()
            verdict = judge(body, "http://127.0.0.1:8080" + spec.path, spec.content_type)
            paths[verdict.path] += 1
            by_kind[spec.kind][verdict.path] += 1
            if verdict.agrees is False:
                disagreements.append(f"{version}/{name}")
            if verdict.path == "feedparser":
                fallbacks.append(f"{version}/{name} ({spec.feedparser_only or 'no known flaw'})")
    total = sum(paths.values())
    covered = (total - paths["feedparser"]) / total
    print(f"{total} documents in {folder} ({time.process_time() - started:.0f} s CPU)")
    for kind, counts in sorted(by_kind.items()):
        print(f"  {kind:<5} " + ", ".join(f"{path} {n}" for path, n in sorted(counts.items())))
    print(f"off the feedparser path: {covered:.1%} (target >= {TARGET:.0%})")
    print(f"to feedparser: {', '.join(fallbacks) or 'none'}")
    print(
        f"fast path answers differing from feedparser's: {len(disagreements)} {disagreements[:10]}"
    )
    if covered < TARGET or disagreements:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
