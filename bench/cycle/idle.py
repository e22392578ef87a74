"""The memory an idle `aggregator run` holds after its first poll (issue 18: <= 90 MB).

Run by bench_cycle.py: python -m bench.cycle.idle SERVER_URL CORPUS_DIR WORK_DIR PER_HOST
SETTLE_SECONDS. Starts the service as an operator would (`python -m aggregator run`,
role all: scheduler, document workers and HTTP in one command) on the bench corpus
with the demo topics, waits until /metrics counts one finished cycle, lets it settle,
then prints one JSON line: RSS and PSS now, and each process's peak RSS, per process.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from bench.cycle.measure import peak_rss_bytes, process_tree, pss_bytes, role, rss_bytes

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
ROOT = DEMO.parents[1]
CYCLES = re.compile(r"^aggregator_cycle_seconds_count(?:\{[^}]*\})? ([0-9.e+]+)$", re.M)


def config_text(server: str, corpus: Path, work: Path, port: int, per_host: int) -> str:
    """The demo's terms and topics, the bench corpus's feeds as sources, polled hourly
    (so the measurement sees the service between polls, not a second one)."""
    demo = DEMO.read_text()
    terms = demo[demo.index("[terms]") : demo.index("[[sources]]")]
    topics = demo[demo.index("[[topics]]") :]
    sources = "".join(
        f'[[sources]]\nname = "{spec["name"]}"\nurl = "{server}{spec["path"]}"\n\n'
        for spec in json.loads((corpus / "manifest.json").read_text())
    )
    return (
        f'[storage]\nurl = "sqlite:///{work}/idle.db"\nretention_days = 3650\n\n'
        f'[server]\nhost = "127.0.0.1"\nport = {port}\n\n'
        f'[fetch]\ndefault_interval = "1h"\nconcurrency = {per_host}\nper_host = {per_host}\n\n'
        f"{terms}{sources}{topics}"
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cycles_done(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            match = CYCLES.search(answer.read().decode())
    except OSError:
        return 0.0
    return float(match.group(1)) if match else 0.0


def main(server: str, corpus: Path, work: Path, per_host: int, settle: float) -> None:
    port = free_port()
    config = work / "idle.toml"
    config.write_text(config_text(server, corpus, work, port, per_host))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    service = subprocess.Popen(
        [sys.executable, "-m", "aggregator", "run", "--config", str(config)],
        cwd=work,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(work / "service.log").open("wb"),  # read it when a figure surprises
    )
    try:
        started = time.monotonic()
        while cycles_done(port) < 1:
            if service.poll() is not None or time.monotonic() - started > 1800:
                raise SystemExit(
                    f"the service ended or never finished a poll ({service.returncode})"
                )
            time.sleep(2)
        first_poll = time.monotonic() - started
        time.sleep(settle)
        tree = process_tree(service.pid)
        split: dict[str, list[dict[str, int]]] = {}
        for pid in tree:
            split.setdefault(role(pid, service.pid), []).append(
                {
                    "rss": round(rss_bytes(pid) / 2**20),
                    "pss": round(pss_bytes(pid) / 2**20),
                    "peak_rss": round(peak_rss_bytes(pid) / 2**20),
                }
            )
        print(
            json.dumps(
                {
                    "first_poll_s": first_poll,
                    "settle_s": settle,
                    "rss_mb": sum(rss_bytes(pid) for pid in tree) / 2**20,
                    "pss_mb": sum(pss_bytes(pid) for pid in tree) / 2**20,
                    "split": split,
                }
            ),
            flush=True,
        )
    finally:
        service.terminate()
        service.wait(60)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]))
