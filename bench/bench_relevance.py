"""Topic relevance on the labeled relevance corpus, end to end through the real service.

Run from the repository root::

    python bench/bench_relevance.py                    # bench/corpora/relevance/*.toml
    python bench/bench_relevance.py --corpus DIR --errors errors.txt

Every part of the corpus folder is written as real-shaped feeds, the service polls them
once with the topics of topics.toml (the curators' own terms), and the items each topic
matched are read back from the matches table and scored per topic against the gold
`labels`. In the same run the exact-keyword baseline is scored: the curator's terms as
bare case-insensitive whole-word regexes over title, summary and body (boilerplate
included). Every error of the service is listed with its trap kind, its title and where
the terms occurred, followed by the errors per trap kind of both systems.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpora.baselines import keyword_hits, keyword_topics, term_pattern  # noqa: E402
from bench.corpora.corpus import Corpus, CorpusError, Item, load_corpus  # noqa: E402
from bench.corpora.feeds import write_config, write_feeds  # noqa: E402
from bench.corpora.report import emit_errors, item_line, table  # noqa: E402
from bench.corpora.scoring import retrieval  # noqa: E402
from bench.corpora.service import poll, stored_items, topic_matches  # noqa: E402

DEFAULT_CORPUS = ROOT / "bench" / "corpora" / "relevance"
Kept = dict[str, set[str]]  # topic -> corpus item ids


def curator_terms(topics: Mapping[str, object]) -> dict[str, list[str]]:
    """Topic slug -> its include/require terms with @groups expanded and quotes dropped."""
    groups: Mapping[str, list[str]] = topics.get("terms", {})  # type: ignore[assignment]
    result: dict[str, list[str]] = {}
    for topic in topics.get("topics", []):  # type: ignore[union-attr]
        terms = [*topic.get("include", []), *topic.get("require", [])]
        expanded = [t for term in terms for t in groups.get(term[1:], [term]) if term[0] == "@"]
        plain = [term.strip('"') for term in terms if term[0] != "@"]
        result[topic["slug"]] = [*expanded, *plain]
    return result


def service_topics(corpus: Corpus, topics_text: str, workdir: Path) -> tuple[Kept, dict, float]:
    """Topic -> kept corpus ids; corpus id -> {topic: hits}; and the poll's wall time."""
    feeds = write_feeds(corpus, workdir / "feeds")
    db = workdir / "relevance.db"
    run = poll(write_config(workdir / "relevance.toml", feeds, db, topics_text))
    stored, matches = stored_items(db), topic_matches(db)
    missing = [item.id for item in corpus.items if item.link not in stored]
    if missing:
        print(f"warning: the service did not store {len(missing)} items: {missing[:10]}")
    corpus_id = {stored[i.link].item_id: i.id for i in corpus.items if i.link in stored}
    kept = {
        topic: {corpus_id[m] for m in hits if m in corpus_id} for topic, hits in matches.items()
    }
    hits = {}
    for topic, by_item in matches.items():
        for item_id, found in by_item.items():
            if item_id in corpus_id:
                hits.setdefault(corpus_id[item_id], {})[topic] = found
    return kept, hits, run.seconds


def errors(
    items: list[Item], topic: str, kept: set[str], hits: dict, terms: list[str]
) -> list[str]:
    """Each false positive and false negative of one topic, with where its terms occur."""
    pattern = term_pattern(terms)
    lines = []
    for item in items:
        relevant, got = topic in item.labels, item.id in kept
        if relevant == got:
            continue
        where = ", ".join(f"{w} {t!r}" for w, t in keyword_hits(item, pattern)) or "nowhere"
        matched = hits.get(item.id, {}).get(topic)
        lines += [
            f"{'FP' if got else 'FN'} {topic} [{item.trap or '?'}] {item_line(item)}",
            f"     terms in: {where}" + (f"; service hits: {shown(matched)}" if matched else ""),
        ]
    return lines


def shown(hits: list) -> str:
    """Stored hits, compact: 'CAR-T' title 3.0, 'lupus' body 0.2 (comparison), ..."""
    parts = []
    for term, field, *extra in hits:
        more = extra[0] if extra else {}
        where = more.get("location", field)
        note = f" ({more['note']})" if more.get("note") else ""
        weight = f" {more['weight']:.1f}" if "weight" in more else ""
        parts.append(f"{term!r} {where}{weight}{note}")
    return ", ".join(parts)


def trap_table(items: list[Item], topics: list[str], systems: Mapping[str, Kept]) -> str:
    """Per trap kind: items, (topic, item) decisions, and each system's wrong decisions."""
    decisions: Counter[str] = Counter()
    wrong: dict[str, Counter[str]] = {name: Counter() for name in systems}
    for item in items:
        for topic in topics:
            decisions[item.trap] += 1
            for name, kept in systems.items():
                wrong[name][item.trap] += (topic in item.labels) != (item.id in kept.get(topic, ()))
    traps = sorted(decisions)
    counts = Counter(item.trap for item in items)
    rows = [[t, counts[t], *(wrong[name][t] for name in systems)] for t in traps]
    return table(["trap", "items", *(f"{name} errors" for name in systems)], rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of *.toml parts"
    )
    parser.add_argument("--errors", type=Path, help="write the error listing here")
    args = parser.parse_args(argv)

    try:
        corpus = load_corpus(args.corpus, "relevance")
    except CorpusError as problems:
        print(f"corpus {args.corpus} has problems:\n{problems}", file=sys.stderr)
        return 2
    topics_file = args.corpus / "topics.toml"
    if not topics_file.exists():
        topics_file = DEFAULT_CORPUS / "topics.toml"
    topics_text = topics_file.read_text(encoding="utf-8")
    terms = curator_terms(tomllib.loads(topics_text))
    unknown = sorted({label for item in corpus.items for label in item.labels} - set(terms))
    if unknown:
        print(f"warning: labels name topics missing from {topics_file}: {unknown}")
    with tempfile.TemporaryDirectory(prefix="bench-relevance-") as tmp:
        kept, hits, seconds = service_topics(corpus, topics_text, Path(tmp))
    systems = {"service": kept, "keyword regex": keyword_topics(corpus.items, terms)}

    print(f"corpus {args.corpus}: {len(corpus.items)} items, parts {', '.join(corpus.parts)}; "
          f"topics from {topics_file}; aggregator poll took {seconds:.1f} s\n")  # fmt: skip
    rows = []
    for topic in terms:
        relevant = {item.id for item in corpus.items if topic in item.labels}
        for name, system in systems.items():
            prf = retrieval(relevant, system.get(topic, set()))
            rows.append([topic if name == "service" else "", name, len(relevant),
                         prf.precision, prf.recall, prf.f1, prf.tp, prf.fp, prf.fn])  # fmt: skip
    print(table(["topic", "system", "relevant", "P", "R", "F1", "tp", "fp", "fn"], rows))
    print("\n" + trap_table(corpus.items, list(terms), systems))

    listing = [
        line for t in terms for line in errors(corpus.items, t, kept.get(t, set()), hits, terms[t])
    ]
    emit_errors(listing, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
