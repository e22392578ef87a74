"""Benchmark a full poll cycle over 1,000 feeds against the `reader` library.

Run: python bench/bench_cycle.py [--feeds N] [--seed S] [--reader-workers W] [--skip-reader]
(the baseline needs `pip install -e '.[bench]'`; a run takes about ten minutes on 2 cores)

Why: polling is the service's main cost; issue 5 sets targets for a cycle over 1,000
realistic wire feeds on a 2-core machine (cold <= 6 s, warm <= 1 s, 10% changed
<= 2 s, peak RSS <= 150 MB over all processes, always faster than reader) and this
harness is how anyone checks them, with the baseline measured in the same run.

What it does:
1. generates (once, then cached in the temp folder) 1,000 feeds: RSS 2.0 / Atom
   70/30, 20-100 items, 30-250 KB, HTML summaries with entities and CDATA, ~3% of
   items on the demo topic, a fifth of them syndicated copies (bench/cycle/corpus.py);
2. serves them from a separate process on 127.0.0.1 with ETag / Last-Modified / 304
   from precomputed bytes (bench/cycle/server.py);
3. runs our cycle in a fresh process: cold (empty store), warm (every answer 304),
   10% of feeds changed; each is Pipeline.run_cycle plus rendering every topic in
   every format (bench/cycle/ours.py);
4. runs reader 3.x over the same URLs in a fresh process, same three cycles
   (bench/cycle/baseline.py);
5. prints wall time, CPU time (all processes of the side) and peak RSS (sum over
   its processes) for each, and reader / ours ratios.

The server's own CPU and memory are not counted on either side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycle.corpus import load_or_generate  # noqa: E402

TARGETS = {"cold": 6.0, "warm": 1.0, "changed": 2.0}
TARGET_RSS_MB = 150


def run_side(module: str, *args: str) -> dict[str, dict[str, Any]]:
    """Run one side's cycles in a fresh process; its JSON lines, by cycle name."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode:
        raise SystemExit(f"{module} failed:\n{result.stderr[-4000:]}")
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return {row["cycle"]: row for row in rows}


def table(ours: dict[str, dict[str, Any]], reader: dict[str, dict[str, Any]] | None) -> str:
    head = (
        f"{'cycle':<9} {'side':<7} {'wall s':>8} {'cpu s':>8} {'peak RSS MB':>12}"
        f" {'reader/ours wall':>17} {'target':>8}"
    )
    lines = [head, "-" * len(head)]
    for cycle in ("cold", "warm", "changed"):
        mine = ours[cycle]
        ratio = f"{reader[cycle]['wall'] / mine['wall']:.1f}x" if reader else "-"
        verdict = "ok" if mine["wall"] <= TARGETS[cycle] else "MISSED"
        lines.append(
            f"{cycle:<9} {'ours':<7} {mine['wall']:8.2f} {mine['cpu']:8.2f} "
            f"{mine['peak_rss_mb']:12.0f} {ratio:>17} "
            f"{f'<={TARGETS[cycle]:g}s {verdict}':>8}"
        )
        if reader:
            theirs = reader[cycle]
            lines.append(
                f"{'':<9} {'reader':<7} {theirs['wall']:8.2f} {theirs['cpu']:8.2f} "
                f"{theirs['peak_rss_mb']:12.0f}"
            )
    peak = max(row["peak_rss_mb"] for row in ours.values())
    lines.append(
        f"our peak RSS over all cycles: {peak:.0f} MB (target <= {TARGET_RSS_MB} MB: "
        f"{'ok' if peak <= TARGET_RSS_MB else 'MISSED'})"
    )
    split = ", ".join(
        f"{name} {' + '.join(map(str, peaks))}"
        for name, peaks in ours["cold"]["rss_split_mb"].items()
    )
    lines.append(f"our cold cycle's peak RSS per process, MB: {split}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--reader-workers",
        type=int,
        default=16,
        help="threads reader retrieves feeds with (default 16)",
    )
    parser.add_argument("--skip-reader", action="store_true", help="measure our side only")
    args = parser.parse_args()

    started = time.perf_counter()
    corpus, specs = load_or_generate(feeds=args.feeds, changed=0.1, seed=args.seed)
    size = sum((corpus / "v0" / spec.path.rsplit("/", 1)[1]).stat().st_size for spec in specs)
    print(
        f"corpus: {len(specs)} feeds, {sum(s.items for s in specs)} items, "
        f"{size / 1e6:.0f} MB, {sum(s.kind == 'rss' for s in specs)} RSS "
        f"({time.perf_counter() - started:.1f}s) in {corpus}",
        flush=True,
    )

    server = subprocess.Popen(
        [sys.executable, "-m", "bench.cycle.server", str(corpus)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        with tempfile.TemporaryDirectory() as ours_dir:
            ours = run_side("bench.cycle.ours", url, str(corpus), ours_dir)
        for cycle, row in ours.items():
            print(
                f"ours {cycle}: {row['new']} new, {row['updated']} updated items, "
                f"{row['unchanged']} unchanged sources, {row['errors']} errors"
                + (f" (first: {row['first_error']})" if row["first_error"] else "")
            )
        reader = None
        if not args.skip_reader:
            with tempfile.TemporaryDirectory() as reader_dir:
                reader = run_side(
                    "bench.cycle.baseline", url, str(corpus), reader_dir, str(args.reader_workers)
                )
            print(
                f"reader: {reader['changed']['entries']} entries stored "
                f"({args.reader_workers} worker threads)"
            )
    finally:
        server.terminate()
        server.wait(10)
    print()
    print(table(ours, reader))


if __name__ == "__main__":
    main()
