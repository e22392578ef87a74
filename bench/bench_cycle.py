"""Benchmark a full poll cycle over 1,000 feeds against the `reader` library.

Run: python bench/bench_cycle.py [--feeds N] [--seed S] [--runs R] [--per-host P]
     [--skip-reader] [--skip-idle]
(the baseline needs `pip install -e '.[bench]'`; a run takes about ten minutes per
repetition on 2 cores)

Why: polling is the service's main cost. Issue 18 sets the targets in CPU seconds
measured in the same run as the baseline (cold CPU <= 0.33x reader's and wall <= 0.5x,
warm CPU <= 0.5x, 10% changed CPU <= 0.33x, total peak RSS <= 150 MB over all
processes in the cold cycle, <= 90 MB for an idle `aggregator run` after its first
poll), and this harness is how anyone checks them.

What it does:
1. generates (once, then cached in the temp folder) 1,000 feeds in real-world shapes
   (bench/cycle/corpus.py, shapes.py: RSS 2.0, Atom, RSS 1.0, JSON Feed; careless
   content types, Latin-1/cp1252, xml:base, both author elements, a share only
   feedparser reads), 20-100 items, 30-250 KB, ~3% of items on the demo topic, a
   fifth of them syndicated copies;
2. serves them from a separate process on 127.0.0.1 with each feed's content type and
   ETag / Last-Modified / 304 from precomputed bytes (bench/cycle/server.py);
3. R times (default 3), alternating which side goes first: our cycle in a fresh
   process (bench/cycle/ours.py: cold with an empty store, warm with every answer
   304, 10% changed; Pipeline.run_cycle plus rendering every topic in every format),
   then reader 3.x in a fresh process over the same URLs, same three cycles
   (bench/cycle/baseline.py). Both sides are whole processes measured with all their
   descendants, and both get P simultaneous retrievals (our per-host and global
   limit, reader's worker threads; default 16);
4. reports per cycle the median of the R runs of wall and CPU time (user + system, all
   processes of the side), the range, ours/reader ratios against the targets; each
   process's peak RSS and sampled peak PSS in the cold cycle (bench/cycle/measure.py);
   the load average before and after every side's run;
5. starts `aggregator run` on the same corpus and reports its RSS and PSS 30 s and
   400 s after every source's first poll (bench/cycle/idle.py; one run).

The server's own CPU and memory are not counted on either side.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cycle.corpus import load_or_generate  # noqa: E402

TARGET_CPU = {"cold": 0.33, "warm": 0.5, "changed": 0.33}  # ours / reader, CPU seconds
TARGET_WALL = {"cold": 0.5}  # ours / reader, wall seconds
TARGET_RSS_MB = 150  # total peak RSS over all processes, cold cycle
TARGET_IDLE_MB = 90
CYCLES = ("cold", "warm", "changed")

Rows = dict[str, dict[str, Any]]  # one side's run: its JSON lines by cycle name


def run_module(module: str, *args: str) -> list[dict[str, Any]]:
    """Run a bench module in a fresh process; its JSON lines."""
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode:
        raise SystemExit(f"{module} failed:\n{result.stderr[-4000:]}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]


def run_side(module: str, *args: str) -> Rows:
    return {row["cycle"]: row for row in run_module(module, *args)}


def median_run(runs: list[Rows], cycle: str, key: str) -> dict[str, Any]:
    """The run whose `key` is the median for `cycle` (the lower middle for even counts)."""
    ordered = sorted((run[cycle] for run in runs), key=lambda row: row[key])
    return ordered[(len(ordered) - 1) // 2]


def spread(runs: list[Rows], cycle: str, key: str) -> str:
    values = [run[cycle][key] for run in runs]
    return f"{min(values):.1f}-{max(values):.1f}"


def verdict(ratio: float, target: float | None) -> str:
    if target is None:
        return ""
    return f"<= {target:g}x {'ok' if ratio <= target else 'MISSED'}"


def table(ours: list[Rows], reader: list[Rows]) -> str:
    head = (
        f"{'cycle':<8} {'side':<7} {'wall s':>7} {'(range)':>11} {'CPU s':>7} {'(range)':>11}"
        f" {'peak RSS MB':>11} {'peak PSS MB':>11}  ours/reader"
    )
    lines = [head, "-" * len(head)]
    for cycle in CYCLES:
        for side, runs in (("ours", ours), ("reader", reader)):
            if not runs:
                continue
            wall = median_run(runs, cycle, "wall")["wall"]
            cpu = median_run(runs, cycle, "cpu")["cpu"]
            rss = median_run(runs, cycle, "peak_rss_mb")["peak_rss_mb"]
            pss = median_run(runs, cycle, "peak_pss_mb")["peak_pss_mb"]
            ratios = ""
            if side == "ours" and reader:
                cpu_ratio = cpu / median_run(reader, cycle, "cpu")["cpu"]
                wall_ratio = wall / median_run(reader, cycle, "wall")["wall"]
                ratios = (
                    f"CPU {cpu_ratio:.2f}x {verdict(cpu_ratio, TARGET_CPU[cycle])}; "
                    f"wall {wall_ratio:.2f}x {verdict(wall_ratio, TARGET_WALL.get(cycle))}"
                )
            lines.append(
                f"{cycle if side == 'ours' else '':<8} {side:<7} {wall:7.2f} "
                f"{spread(runs, cycle, 'wall'):>11} {cpu:7.2f} {spread(runs, cycle, 'cpu'):>11} "
                f"{rss:11.0f} {pss:11.0f}  {ratios}"
            )
    cold_rss = median_run(ours, "cold", "peak_rss_mb")
    lines.append(
        f"our cold cycle's total peak RSS (median run): {cold_rss['peak_rss_mb']:.0f} MB "
        f"(target <= {TARGET_RSS_MB} MB: "
        f"{'ok' if cold_rss['peak_rss_mb'] <= TARGET_RSS_MB else 'MISSED'}), "
        f"peak PSS {cold_rss['peak_pss_mb']:.0f} MB"
    )
    for side, runs in (("ours", ours), ("reader", reader)):
        if runs:
            row = median_run(runs, "cold", "peak_rss_mb")
            lines.append(f"{side} cold, per process: {per_process(row)}")
    return "\n".join(lines)


def per_process(row: dict[str, Any]) -> str:
    """Peak RSS / peak PSS of each process, MB, by role."""
    return (
        "; ".join(
            f"{name} "
            + ", ".join(
                f"{rss}/{pss}"
                for rss, pss in zip(peaks, row["pss_split_mb"].get(name, []), strict=False)
            )
            for name, peaks in row["rss_split_mb"].items()
        )
        + " (RSS/PSS)"
    )


def idle_report(idle: dict[str, Any]) -> str:
    split = "; ".join(
        f"{name} " + ", ".join(f"{p['rss']}/{p['pss']}" for p in procs)
        for name, procs in idle["split"].items()
    )
    ok = "ok" if idle["rss_mb"] <= TARGET_IDLE_MB else "MISSED"
    return (
        f"idle `aggregator run`, {idle['settle_s']:.0f} s after its first poll "
        f"({idle['first_poll_s']:.0f} s): RSS {idle['rss_mb']:.0f} MB (target <= "
        f"{TARGET_IDLE_MB} MB: {ok}), PSS {idle['pss_mb']:.0f} MB; per process {split} (RSS/PSS)"
    )


def loadavg() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians are reported")
    parser.add_argument(
        "--per-host",
        type=int,
        default=16,
        help="simultaneous retrievals for both sides: our per-host and global limit, "
        "reader's worker threads (default 16)",
    )
    parser.add_argument(
        "--settle",
        default="30,400",
        help="idle: seconds after the first poll to measure at (default 30 and 400: "
        "before and after the idle document workers stop)",
    )
    parser.add_argument("--skip-reader", action="store_true", help="measure our side only")
    parser.add_argument("--skip-idle", action="store_true", help="no idle-memory measurement")
    args = parser.parse_args()

    started = time.perf_counter()
    corpus, specs = load_or_generate(feeds=args.feeds, changed=0.1, seed=args.seed)
    size = sum((corpus / "v0" / spec.path.rsplit("/", 1)[1]).stat().st_size for spec in specs)
    kinds = Counter(spec.kind for spec in specs)
    print(
        f"corpus: {len(specs)} feeds, {sum(s.items for s in specs)} items, "
        f"{size / 1e6:.0f} MB, {', '.join(f'{n} {kind}' for kind, n in kinds.most_common())}, "
        f"{sum(bool(s.feedparser_only) for s in specs)} only feedparser reads "
        f"({time.perf_counter() - started:.1f}s) in {corpus}",
        flush=True,
    )

    server = subprocess.Popen(
        [sys.executable, "-m", "bench.cycle.server", str(corpus)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    ours: list[Rows] = []
    reader: list[Rows] = []
    idle: list[dict[str, Any]] = []
    per_host = str(args.per_host)
    try:
        assert server.stdout is not None
        url = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        sides = ["ours"] + ([] if args.skip_reader else ["reader"])
        for attempt in range(args.runs):
            for side in sides if attempt % 2 == 0 else sides[::-1]:
                before = loadavg()
                with tempfile.TemporaryDirectory() as store:
                    if side == "ours":
                        rows = run_side("bench.cycle.ours", url, str(corpus), store, per_host)
                        ours.append(rows)
                    else:
                        rows = run_side("bench.cycle.baseline", url, str(corpus), store, per_host)
                        reader.append(rows)
                print(
                    f"run {attempt + 1} {side}: load average {before} before, {loadavg()} "
                    "after; "
                    + ", ".join(
                        f"{cycle} {rows[cycle]['cpu']:.1f} s CPU / {rows[cycle]['wall']:.1f} s"
                        f" / {rows[cycle]['peak_rss_mb']:.0f} MB RSS"
                        f" / {rows[cycle]['peak_pss_mb']:.0f} MB PSS"
                        for cycle in CYCLES
                    )
                    + f"; cold per process: {per_process(rows['cold'])}",
                    flush=True,
                )
        row = ours[-1]
        for cycle in CYCLES:
            print(
                f"ours {cycle}: {row[cycle]['new']} new, {row[cycle]['updated']} updated items, "
                f"{row[cycle]['unchanged']} unchanged sources, {row[cycle]['errors']} errors"
                + (f" (first: {row[cycle]['first_error']})" if row[cycle]["first_error"] else "")
            )
        if reader:
            print(f"reader: {reader[-1]['changed']['entries']} entries stored")
        if not args.skip_idle:
            with tempfile.TemporaryDirectory() as work:
                before = loadavg()
                idle = run_module("bench.cycle.idle", url, str(corpus), work, per_host, args.settle)
                print(f"idle: load average {before} before, {loadavg()} after", flush=True)
    finally:
        server.terminate()
        server.wait(10)
    print()
    print(
        f"{args.runs} runs, medians; {args.per_host} simultaneous retrievals per side; "
        f"{os.cpu_count()} cores"
    )
    print(table(ours, reader))
    for moment in idle:
        print(idle_report(moment))


if __name__ == "__main__":
    main()
