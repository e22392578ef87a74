"""Our full cycle on the bench corpus: cold, warm, 10% changed. One JSON line per cycle.

Run by bench_cycle.py in a process of its own: python -m bench.cycle.ours SERVER_URL
CORPUS_DIR STORE_DIR PER_HOST. The process lives through the three cycles as the service
would (worker processes, once started, serve every later cycle). A cycle is
`Pipeline.run_cycle` over every source, then rendering every topic in every format.

All bench feeds are on one host (127.0.0.1) standing in for a thousand publishers,
so the per-host limit is raised to PER_HOST, the global limit too, the same number of
simultaneous retrievals the baseline is given; everything else is the default
configuration with the demo config's topics.

The aggregator is imported inside the functions, not at the top: document workers are
spawned processes, which import their parent's main module (this one) first. The
service's own main module (the `aggregator` console script) is light, so this one must
be too, or every worker would carry the polling process's imports (18 MB each).
"""

from __future__ import annotations

import asyncio
import json
import sys
import tomllib
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from bench.cycle.measure import Measurement

if TYPE_CHECKING:
    from aggregator.config import Config

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"


def bench_config(server: str, corpus: Path, store: Path, per_host: int) -> Config:
    from aggregator.config import Config

    demo = tomllib.loads(DEMO.read_text())
    specs = json.loads((corpus / "manifest.json").read_text())
    return Config.model_validate(
        {
            "sources": [{"name": spec["name"], "url": server + spec["path"]} for spec in specs],
            "topics": demo["topics"],
            "terms": demo["terms"],
            "storage": {"url": f"sqlite:///{store}/bench.db", "retention_days": 3650},
            "fetch": {"concurrency": per_host, "per_host": per_host},
        }
    )


def main(server: str, corpus: Path, store: Path, per_host: int) -> None:
    from aggregator.publish.cache import FeedService
    from aggregator.publish.render import FORMATS
    from aggregator.run.cycle import Pipeline
    from aggregator.store import open_store

    config = bench_config(server, corpus, store, per_host)
    urllib.request.urlopen(f"{server}/_control/version?v=0").close()
    db = open_store(config.storage_url())
    pipeline = Pipeline(config, db)
    pipeline.prepare()
    feeds = FeedService(config, db, version_ttl=0)
    for cycle in ("cold", "warm", "changed"):
        if cycle == "changed":
            urllib.request.urlopen(f"{server}/_control/version?v=1").close()
        with Measurement() as measured:
            report = asyncio.run(pipeline.run_cycle())
            for topic in config.topics:
                for fmt in FORMATS:
                    feeds.get(topic.slug, fmt)
        print(
            json.dumps(
                {
                    "cycle": cycle,
                    **measured.as_dict(),
                    "new": report.total("new"),
                    "updated": report.total("updated"),
                    "errors": report.count("error"),
                    "unchanged": report.count("unchanged"),
                    "first_error": next((r.error for r in report.sources if r.error), None),
                }
            ),
            flush=True,
        )
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]))
