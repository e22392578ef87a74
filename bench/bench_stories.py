"""Story dedupe quality on the labeled story corpus, end to end through the real service.

Run from the repository root::

    python bench/bench_stories.py                      # bench/corpora/stories/*.toml
    python bench/bench_stories.py --corpus DIR --errors errors.txt

Every part of the corpus folder is written as real-shaped feeds (one per outlet), the
service polls them once (`aggregator poll`, `[dedupe] scope = "all"`) into a fresh SQLite
file, and the stories it stored are read back by link and scored against the gold
`story` labels. In the same run two baselines are scored on the same items: every item
alone, and TF-IDF cosine over title + lead with single-link clustering (--threshold,
--days). Scores are given for the whole corpus and for each part; every error of the
service (a gold story split, a predicted story holding several gold stories) is listed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.corpora import scoring  # noqa: E402 - after the path tweak, so it runs uninstalled
from bench.corpora.baselines import tfidf_stories  # noqa: E402
from bench.corpora.corpus import Corpus, CorpusError, Item, load_corpus  # noqa: E402
from bench.corpora.feeds import write_config, write_feeds  # noqa: E402
from bench.corpora.report import emit_errors, item_line, table  # noqa: E402
from bench.corpora.service import poll, stored_items  # noqa: E402

DEFAULT_CORPUS = ROOT / "bench" / "corpora" / "stories"
HEADERS = (
    "system", "pair P", "pair R", "pair F1", "B3 P", "B3 R", "B3 F1",
    "gold split", "pred merged", "sibling merges", "stories",
)  # fmt: skip


def service_stories(corpus: Corpus, workdir: Path) -> tuple[dict[str, str], float]:
    """Item id -> the story id the service stored it in; and the poll's wall time."""
    feeds = write_feeds(corpus, workdir / "feeds")
    config = write_config(
        workdir / "stories.toml", feeds, workdir / "stories.db", '[dedupe]\nscope = "all"\n'
    )
    run = poll(config)
    stored = stored_items(workdir / "stories.db")
    missing = [item.id for item in corpus.items if item.link not in stored]
    if missing:
        print(f"warning: the service did not store {len(missing)} items: {missing[:10]}")
    # an item the service lost stands alone, so it costs recall, not precision
    return {
        i.id: stored[i.link].story_id if i.link in stored else f"lost:{i.id}" for i in corpus.items
    }, run.seconds


def score_row(name: str, items: list[Item], pred: Mapping[str, str]) -> list[object]:
    gold = {item.id: item.story for item in items}
    mine = {item.id: pred[item.id] for item in items}
    siblings = {item.id: item.siblings for item in items}
    pair, b3 = scoring.pairwise(gold, mine), scoring.bcubed(gold, mine)
    return [
        name, pair.precision, pair.recall, pair.f1, b3.precision, b3.recall, b3.f1,
        len(scoring.split_stories(gold, mine)), len(scoring.wrong_merges(gold, mine)),
        len(scoring.sibling_merges(gold, mine, siblings)), len(set(mine.values())),
    ]  # fmt: skip


def errors(items: list[Item], pred: Mapping[str, str]) -> list[str]:
    """Every split gold story with its pieces, every wrong merge with its gold stories."""
    gold = {item.id: item.story for item in items}
    by_id = {item.id: item for item in items}
    lines: list[str] = []
    for story, pieces in sorted(scoring.split_stories(gold, pred).items()):
        size = sum(map(len, pieces))
        lines.append(f"SPLIT gold story {story}: {size} items in {len(pieces)} predicted stories")
        for n, piece in enumerate(sorted(pieces, key=min), 1):
            lines += [
                f"  [{n}] {item_line(by_id[i])}"
                for i in sorted(piece, key=lambda i: by_id[i].published)
            ]
    for label, members in sorted(
        scoring.wrong_merges(gold, pred).items(), key=lambda kv: min(kv[1])
    ):
        stories = sorted({gold[i] for i in members})
        sets = sorted({by_id[i].siblings for i in members if by_id[i].siblings})
        lines.append(
            f"WRONG MERGE predicted story {label}: gold stories {', '.join(stories)}"
            + (f" (sibling sets {', '.join(sets)})" if sets else "")
        )
        for story in stories:
            lines += [
                f"  {story:<10} {item_line(by_id[i])}" for i in sorted(members) if gold[i] == story
            ]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of *.toml parts"
    )
    parser.add_argument("--threshold", type=float, default=0.5, help="TF-IDF baseline cosine")
    parser.add_argument("--days", type=float, default=2.0, help="TF-IDF baseline time window")
    parser.add_argument("--errors", type=Path, help="write the error listing here")
    args = parser.parse_args(argv)

    try:
        corpus = load_corpus(args.corpus, "stories")
    except CorpusError as problems:
        print(f"corpus {args.corpus} has problems:\n{problems}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-stories-") as tmp:
        service, seconds = service_stories(corpus, Path(tmp))
    systems = {
        "service": service,
        "each item alone": {item.id: item.id for item in corpus.items},
        f"tf-idf >= {args.threshold:g}, {args.days:g} d": tfidf_stories(
            corpus.items, args.threshold, args.days
        ),
    }
    groups = {"all": corpus.items} | {
        part: [i for i in corpus.items if i.part == part] for part in corpus.parts
    }
    print(
        f"corpus {args.corpus}: {len(corpus.items)} items, "
        f"{len({i.story for i in corpus.items})} gold stories, parts {', '.join(corpus.parts)}; "
        f"aggregator poll took {seconds:.1f} s"
    )
    for group, items in groups.items():
        if items:
            print(f"\n{group} ({len(items)} items, {len({i.story for i in items})} gold stories)")
            print(table(HEADERS, [score_row(name, items, pred) for name, pred in systems.items()]))
    listing = errors(corpus.items, service)
    emit_errors(listing, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
