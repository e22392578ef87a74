"""The memory an idle `aggregator run` holds after its first poll (issue 18: <= 90 MB).

Run by bench_cycle.py: python -m bench.cycle.idle SERVER_URL CORPUS_DIR WORK_DIR PER_HOST
SECONDS[,SECONDS...]. Starts the service as an operator would (`python -m aggregator
run`, role all: scheduler, document workers and HTTP in one command) on the bench corpus
with the demo topics, waits until /metrics counts a poll of every source (the scheduler
polls in ticks, so one finished cycle is not the first poll), then prints one JSON line
per moment asked for, that many seconds later: RSS and PSS of each process. The
document workers stop after POOL_IDLE_SECONDS (300 s) without work, so a moment before
and one after that show both idle states.
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

from bench.cycle.measure import process_tree, pss_bytes, role, rss_bytes

DEMO = Path(__file__).resolve().parents[2] / "config" / "demo.toml"
ROOT = DEMO.parents[1]
POLLS = re.compile(r"^aggregator_polls_total\{[^}]*\} ([0-9.e+]+)$", re.M)


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


def polls_done(port: int) -> float:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            return sum(float(count) for count in POLLS.findall(answer.read().decode()))
    except OSError:
        return 0.0


def main(server: str, corpus: Path, work: Path, per_host: int, moments: list[float]) -> None:
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
        sources = len(json.loads((corpus / "manifest.json").read_text()))
        while polls_done(port) < sources:
            if service.poll() is not None or time.monotonic() - started > 1800:
                raise SystemExit(
                    f"the service ended or never finished a poll ({service.returncode})"
                )
            time.sleep(2)
        first_poll = time.monotonic() - started
        for moment in moments:
            time.sleep(max(0.0, started + first_poll + moment - time.monotonic()))
            print(json.dumps(snapshot(service.pid, first_poll, moment)), flush=True)
    finally:
        service.terminate()
        service.wait(60)


def snapshot(root: int, first_poll: float, moment: float) -> dict[str, object]:
    """RSS and PSS of the service's processes now, in MB, by role."""
    tree = process_tree(root)
    split: dict[str, list[dict[str, int]]] = {}
    for pid in tree:
        split.setdefault(role(pid, root), []).append(
            {"rss": round(rss_bytes(pid) / 2**20), "pss": round(pss_bytes(pid) / 2**20)}
        )
    return {
        "first_poll_s": first_poll,
        "settle_s": moment,
        "rss_mb": sum(rss_bytes(pid) for pid in tree) / 2**20,
        "pss_mb": sum(pss_bytes(pid) for pid in tree) / 2**20,
        "split": split,
    }


if __name__ == "__main__":
    main(
        sys.argv[1],
        Path(sys.argv[2]),
        Path(sys.argv[3]),
        int(sys.argv[4]),
        [float(moment) for moment in sys.argv[5].split(",")],
    )
