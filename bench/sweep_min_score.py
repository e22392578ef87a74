"""Choose the default `min_score` on one half of the relevance corpus, report on the other.

Run from the repository root::

    python bench/sweep_min_score.py [--corpus DIR] [--seed S]

The service polls the corpus once with every topic's `min_score = 0` (every item with a
counted hit is stored with its weighed hits), so each (item, topic) score can be read
back and any threshold scored without polling again. Items are split in two halves by a
hash of their id (`--seed` changes the split): the threshold with the best mean F1 over
the topics on the "choose" half (the middle one when several tie) is reported on both
halves and the whole corpus. Only meaningful for topics with an include rule alone (one
rule group), like topics.toml.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.core.match.relevance import DEFAULT_MIN_SCORE, score  # noqa: E402
from aggregator.models import hits_from_json  # noqa: E402
from bench.bench_relevance import DEFAULT_CORPUS  # noqa: E402
from bench.corpora.corpus import Corpus, Item, load_corpus  # noqa: E402
from bench.corpora.feeds import write_config, write_feeds  # noqa: E402
from bench.corpora.report import table  # noqa: E402
from bench.corpora.scoring import retrieval  # noqa: E402
from bench.corpora.service import poll, stored_items  # noqa: E402

THRESHOLDS = [round(0.1 * step, 1) for step in range(0, 51)]


def scores(corpus: Corpus, topics_text: str, workdir: Path) -> dict[str, dict[str, float]]:
    """{topic: {corpus id: score}} for every item a topic stored with min_score 0."""
    unlimited = re.sub(
        r"^\[\[topics\]\]\s*$", "[[topics]]\nmin_score = 0", topics_text, flags=re.MULTILINE
    )
    feeds = write_feeds(corpus, workdir / "feeds")
    db = workdir / "sweep.db"
    poll(write_config(workdir / "sweep.toml", feeds, db, unlimited))
    stored = stored_items(db)
    corpus_id = {stored[i.link].item_id: i.id for i in corpus.items if i.link in stored}
    result: dict[str, dict[str, float]] = {}
    with sqlite3.connect(db) as conn:
        for topic, item_id, hits in conn.execute("SELECT topic, item_id, hits FROM matches"):
            if item_id in corpus_id:
                weights = (hit.weight for hit in hits_from_json(hits))
                result.setdefault(topic, {})[corpus_id[item_id]] = score(weights)
    return result


def half(item_id: str, seed: str) -> str:
    digest = hashlib.blake2b(f"{seed}:{item_id}".encode(), digest_size=2).digest()
    return "choose" if digest[0] % 2 == 0 else "held-out"


def mean_f1(items: list[Item], topics: list[str], by_topic: dict, threshold: float) -> float:
    values = []
    for topic in topics:
        relevant = {i.id for i in items if topic in i.labels}
        kept = {i.id for i in items if by_topic.get(topic, {}).get(i.id, -1.0) >= threshold}
        values.append(retrieval(relevant, kept).f1)
    return sum(values) / len(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seed", default="17")
    args = parser.parse_args(argv)
    corpus = load_corpus(args.corpus, "relevance")
    topics_file = args.corpus / "topics.toml"
    if not topics_file.exists():
        topics_file = DEFAULT_CORPUS / "topics.toml"
    topics_text = topics_file.read_text(encoding="utf-8")
    topics = re.findall(r'^slug\s*=\s*"([^"]+)"', topics_text, flags=re.MULTILINE)
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        by_topic = scores(corpus, topics_text, Path(tmp))
    halves = {
        name: [i for i in corpus.items if half(i.id, args.seed) == name]
        for name in ("choose", "held-out")
    }
    curve = [(t, mean_f1(halves["choose"], topics, by_topic, t)) for t in THRESHOLDS]
    top = max(round(f1, 4) for _, f1 in curve)
    plateau = [t for t, f1 in curve if round(f1, 4) == top]
    best = plateau[len(plateau) // 2]  # the middle of the best thresholds: least fitted
    print(
        f"corpus {args.corpus}: {len(corpus.items)} items; halves by seed {args.seed!r}: "
        f"{len(halves['choose'])} choose, {len(halves['held-out'])} held out"
    )
    print(
        "mean F1 on the choose half by threshold: "
        + ", ".join(f"{t:g}:{f:.3f}" for t, f in curve if t <= 4)
    )
    print(f"best threshold on the choose half: {best:g} (shipped default {DEFAULT_MIN_SCORE:g})\n")
    rows = []
    for threshold in sorted({best, DEFAULT_MIN_SCORE}):
        for name, items in [*halves.items(), ("all", corpus.items)]:
            for topic in topics:
                relevant = {i.id for i in items if topic in i.labels}
                kept = {i.id for i in items if by_topic.get(topic, {}).get(i.id, -1.0) >= threshold}
                prf = retrieval(relevant, kept)
                rows.append(
                    [
                        f"{threshold:g}",
                        name,
                        topic,
                        len(relevant),
                        prf.precision,
                        prf.recall,
                        prf.f1,
                        prf.tp,
                        prf.fp,
                        prf.fn,
                    ]
                )
    print(table(["min", "half", "topic", "relevant", "P", "R", "F1", "tp", "fp", "fn"], rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
