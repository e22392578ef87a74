"""The baseline: the `reader` library updating the same feeds, cold, warm and 10% changed.

Run by bench_cycle.py in a process of its own: python -m bench.cycle.baseline
SERVER_URL CORPUS_DIR STORE_DIR WORKERS. reader is asked to update every feed whether
due or not (scheduled=False), with WORKERS threads retrieving feeds; it parses with
feedparser and stores into its own SQLite file, with its default settings otherwise.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

from reader import make_reader

from bench.cycle.measure import Measurement


def main(server: str, corpus: Path, store: Path, workers: int) -> None:
    specs = json.loads((corpus / "manifest.json").read_text())
    urllib.request.urlopen(f"{server}/_control/version?v=0").close()
    reader = make_reader(str(store / "reader.sqlite"))
    for spec in specs:
        reader.add_feed(server + spec["path"])
    for cycle in ("cold", "warm", "changed"):
        if cycle == "changed":
            urllib.request.urlopen(f"{server}/_control/version?v=1").close()
        with Measurement() as measured:
            reader.update_feeds(scheduled=False, workers=workers)
        counts = reader.get_entry_counts()
        print(
            json.dumps({"cycle": cycle, **measured.as_dict(), "entries": counts.total}), flush=True
        )
    reader.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
