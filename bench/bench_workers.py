"""The 1,000-feed cold cycle with 1, 2 and 4 worker processes on PostgreSQL, next to one
worker process on SQLite measured in the same run.

Run: python bench/bench_workers.py [--feeds 1000] [--workers 1,2,4] [--postgres URL]
Needs: the PostgreSQL the tests use (127.0.0.1:5432, database `test`, trust auth).

What: the feeds of the cycle benchmark's corpus (`bench/cycle/corpus.py`: RSS and Atom,
20-100 items, 30-250 KB each, a fifth of the items syndicated copies) are served on
127.0.0.1 by a static file server, and `aggregator run --role worker` processes poll
every one of them once into an empty store, sharing the work through the store's
leases. Each row starts from an empty store (a fresh PostgreSQL schema, a fresh SQLite
file) and reports:

* wall time, from starting the processes until every source's poll is committed
  (process start-up included; it is the same for every row);
* items per second: items stored / wall time;
* database time per item: the time all workers together spent inside store
  transactions (round trips, lock waits and the Python run under the transaction,
  e.g. comparing fingerprints), divided by the items stored. Measured in each worker
  by timing `transaction()`; printed per row, so engine and contention show up;
* the ratio of items per second to the single-process SQLite row.

The machine's core count is printed with the table: worker processes only help while
there are cores for them (each also parses in its own document processes).
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.store import SQLStore, open_store  # noqa: E402
from bench.cycle.corpus import FeedSpec, load_or_generate  # noqa: E402

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
SEED = 20261124
TOPICS = """
[terms]
car_t = ["CAR-T", "CAR T-cell", "chimeric antigen receptor"]
lupus = ["lupus", "SLE", "systemic lupus erythematosus", "lupus nephritis"]

[[topics]]
slug = "car-t-lupus"
title = "CAR-T in lupus"
require = ["@car_t", "@lupus"]

[[topics]]
slug = "oncology"
title = "Oncology"
include = ["melanoma", "glioblastoma", "non-small cell lung cancer", "multiple myeloma"]
"""


@dataclass(slots=True)
class Row:
    engine: str
    workers: int
    wall: float
    items: int
    db_seconds: float
    errors: int

    @property
    def items_per_second(self) -> float:
        return self.items / self.wall

    @property
    def db_ms_per_item(self) -> float:
        return 1000 * self.db_seconds / max(self.items, 1)


# -- the worker process: `aggregator run --role worker` with timed transactions ------------


def worker_main(config: str, timing_file: str) -> None:
    """Run a worker; on exit write the seconds it spent inside store transactions."""
    from aggregator.store.postgres import PostgresStore
    from aggregator.store.sqlite import SQLiteStore
    from aggregator.web.server import run_service

    spent = [0.0]

    def timed(transaction):  # type: ignore[no-untyped-def]
        @contextmanager
        @functools.wraps(transaction)
        def wrapper(self: SQLStore, write: bool = True) -> Iterator[object]:
            started = time.perf_counter()
            try:
                with transaction(self, write) as cursor:
                    yield cursor
            finally:
                spent[0] += time.perf_counter() - started

        return wrapper

    for engine in (PostgresStore, SQLiteStore):
        engine.transaction = timed(engine.transaction)  # type: ignore[method-assign]
    atexit.register(lambda: Path(timing_file).write_text(json.dumps(spent[0])))
    run_service(Path(config), role="worker", port=0)


# -- the benchmark ---------------------------------------------------------------------


class _Quiet(SimpleHTTPRequestHandler):
    extensions_map = {".xml": "application/rss+xml", ".atom": "application/atom+xml"}

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a fetch that gave up: the source's poll failed, counted in `errors`


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """Serve `folder` on a loopback port; yield the base URL."""
    server = _Server(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def write_config(path: Path, specs: list[FeedSpec], base: str) -> None:
    lines = [
        "[server]",
        'base_url = "http://bench.test"',
        # Every feed is on 127.0.0.1 here; in the wild they are on a thousand hosts.
        "[fetch]",
        "per_host = 50",
        "timeout = 60",
        "deadline = 180",
        "[logging]",
        'level = "WARNING"',
    ]
    for spec in specs:
        file = spec.path.rsplit("/", 1)[1]
        lines += ["[[sources]]", f'name = "{spec.name}"', f'url = "{base}/v0/{file}"']
    path.write_text("\n".join(lines) + "\n" + TOPICS, encoding="utf-8")


def polled(store: SQLStore) -> tuple[int, int]:
    """(sources attempted, sources failed)."""
    with store.transaction(write=False) as cur:
        cur.execute(
            "SELECT COUNT(last_attempt), COUNT(last_attempt) - COUNT(last_success) FROM sources"
        )
        attempted, failed = cur.fetchone()
    return int(attempted), int(failed)


def run(engine: str, url: str, workers: int, config: Path, feeds: int, work: Path) -> Row:
    """One cold cycle by `workers` processes into the empty store at `url`."""
    open_store(url).close()  # migrate first, so no worker's start-up includes it
    env = {**os.environ, "AGGREGATOR_STORAGE_URL": url, "PYTHONPATH": str(ROOT)}
    timings = [work / f"timing-{uuid.uuid4().hex}.json" for _ in range(workers)]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", str(config), str(timing)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for timing in timings
    ]
    store = open_store(url, migrate=False)
    try:
        while (state := polled(store))[0] < feeds:
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"a worker exited: {process.stderr.read()}")
            time.sleep(0.05)
        wall = time.perf_counter() - started
        with store.transaction(write=False) as cur:
            cur.execute("SELECT COUNT(*) FROM items")
            items = int(cur.fetchone()[0])
    finally:
        store.close()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(60)
    spent = sum(json.loads(timing.read_text()) for timing in timings)
    return Row(engine, workers, wall, items, spent, state[1])


@contextmanager
def postgres_schema(base: str) -> Iterator[str]:
    """A URL into a fresh schema of `base`, dropped afterwards."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(base, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


def print_table(rows: list[Row], feeds: int) -> None:
    baseline = rows[0]
    print(
        f"\nCold cycle over {feeds} feeds on 127.0.0.1; {os.cpu_count()} CPUs; "
        f"{baseline.items} items per run\n"
    )
    header = (
        f"{'store':<12} {'workers':>7} {'wall s':>8} {'items/s':>9} "
        f"{'DB ms/item':>11} {'vs SQLite':>10} {'errors':>7}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print_row(row, baseline)


def print_row(row: Row, baseline: Row, file: TextIO = sys.stdout) -> None:
    print(
        f"{row.engine:<12} {row.workers:>7} {row.wall:>8.1f} {row.items_per_second:>9.0f} "
        f"{row.db_ms_per_item:>11.2f} "
        f"{row.items_per_second / baseline.items_per_second:>9.2f}x {row.errors:>7}",
        file=file,
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--workers", default="1,2,4", help="PostgreSQL worker counts")
    parser.add_argument("--postgres", default=POSTGRES, help="a database to make schemas in")
    parser.add_argument("--worker", nargs=2, metavar=("CONFIG", "TIMING"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(*args.worker)
        return 0
    # Stopped early (Ctrl-C, a timeout's SIGTERM): still stop the workers, drop the schema.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    folder, specs = load_or_generate(feeds=args.feeds, changed=0.2, seed=SEED)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp, serve(folder) as base:
        work = Path(tmp)
        config = work / "bench.toml"
        write_config(config, specs, base)
        rows.append(run("SQLite", f"sqlite:///{work}/bench.db", 1, config, len(specs), work))
        print_row(rows[-1], rows[0], file=sys.stderr)
        for count in (int(n) for n in args.workers.split(",")):
            with postgres_schema(args.postgres) as url:
                rows.append(run("PostgreSQL", url, count, config, len(specs), work))
            print_row(rows[-1], rows[0], file=sys.stderr)
    print_table(rows, len(specs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
