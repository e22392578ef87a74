"""What the processes write: structured logs, and `aggregator poll`'s progress output.

Logs are JSON, one object per line, when AGGREGATOR_LOG_FORMAT=json and readable text
otherwise, with one event per source poll. `aggregator poll` draws a progress bar on
a terminal and prints plain lines when its output is a pipe or a file.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

from tests.conftest import E2E, ROOT, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.servicerun import clean_env, running_service, wait_until

FIXTURE_FILES = {"Test Wire": "wire.rss", "Nuvexa Newsroom": "newsroom.atom",
                 "Science Releases": "science.rdf"}
NEW_ITEMS = {"Test Wire": 3, "Nuvexa Newsroom": 2, "Science Releases": 2}
MISSING = "Gone Missing Daily"


def config_with_a_broken_source(server: FeedServer, tmp_path: Path) -> Path:
    sources = serve_e2e_feeds(server)
    sources[MISSING] = server.url("/no-such-feed.rss")  # the server answers 404
    return write_config(tmp_path / "config.toml", sources)


def poll(config: Path, log_format: str) -> subprocess.CompletedProcess[str]:
    env = clean_env(AGGREGATOR_LOG_FORMAT=log_format, AGGREGATOR_LOG_LEVEL="INFO")
    return run_cli("poll", "--config", str(config), env=env, check=False)


def test_json_logs_have_one_event_per_source_poll(feed_server: FeedServer,
                                                  tmp_path: Path) -> None:
    result = poll(config_with_a_broken_source(feed_server, tmp_path), "json")
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line

    polls = {e["source"]: e for e in events if e.get("event") == "poll"}
    assert len(polls) == len([e for e in events if e.get("event") == "poll"]) == 4
    for name, filename in FIXTURE_FILES.items():
        event = polls[name]
        assert event["level"] == "info" and event["logger"] == "aggregator.poll"
        assert event["status"] == "new"
        assert event["new"] == NEW_ITEMS[name] and event["updated"] == 0
        assert event["bytes"] == (E2E / filename).stat().st_size
        assert isinstance(event["duration_ms"], float) and 0 <= event["duration_ms"] < 10_000
        assert event["time"].endswith("+00:00")
    broken = polls[MISSING]
    assert broken["level"] == "warning" and broken["status"] == "error"
    assert "404" in broken["error"] and broken["new"] == 0


def test_text_logs_are_readable_lines_with_the_same_fields(feed_server: FeedServer,
                                                           tmp_path: Path) -> None:
    result = poll(config_with_a_broken_source(feed_server, tmp_path), "text")
    lines = result.stderr.splitlines()

    assert not any(line.startswith("{") for line in lines)
    wire = next(line for line in lines if "poll Test Wire: new" in line)
    assert " INFO aggregator.poll: poll Test Wire: new source=Test Wire status=new " in wire
    size = (E2E / "wire.rss").stat().st_size
    assert f" bytes={size} new=3 updated=0 " in wire
    assert "event=" not in wire and "error=" not in wire  # no empty or internal fields
    broken = next(line for line in lines if f"poll {MISSING}" in line)
    assert " WARNING " in broken and "status=error" in broken and "404" in broken


def test_every_line_a_running_service_writes_is_json(feed_server: FeedServer,
                                                     tmp_path: Path) -> None:
    config = config_with_a_broken_source(feed_server, tmp_path)
    with running_service(config) as service:
        wait_until(lambda: len(service.poll_events()) == 4, 20, "the first cycle")
        service.get("/feeds/car-t-lupus.atom")
    lines = service.lines

    events = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set.intersection(*map(set, events))
    loggers = {e["logger"] for e in events}
    assert {"uvicorn.error", "aggregator.run", "aggregator.poll"} <= loggers
    assert not any("color_message" in e for e in events)
    assert not any("\x1b[" in line for line in lines)


# -- aggregator poll's progress output ----------------------------------------------


def run_on_a_terminal(*args: str, columns: int = 120) -> tuple[int, str]:
    """Run `python -m aggregator ARGS` with a pseudo-terminal as stdout; return its output."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    env = clean_env(TERM="xterm-256color")
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "aggregator", *args], stdout=slave,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                            env=env, cwd=ROOT)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_poll_prints_plain_lines_when_not_a_terminal(feed_server: FeedServer,
                                                     tmp_path: Path) -> None:
    result = run_cli("poll", "--config", str(config_with_a_broken_source(feed_server,
                                                                         tmp_path)), check=False)
    assert result.returncode == 3  # some sources failed
    lines = result.stdout.splitlines()

    assert len(lines) == 5
    for name, count in NEW_ITEMS.items():
        assert sum(line.startswith(f"{name}: {count} new, 0 updated") for line in lines) == 1
    assert sum(line.startswith(f"{MISSING}: error: ") for line in lines) == 1
    assert lines[-1].startswith("total: 4 sources (3 new, 0 updated, 0 unchanged, 1 error)")
    assert "\x1b" not in result.stdout and "\r" not in result.stdout and "━" not in result.stdout


def test_poll_draws_a_progress_bar_on_a_terminal(feed_server: FeedServer,
                                                 tmp_path: Path) -> None:
    config = config_with_a_broken_source(feed_server, tmp_path)
    code, screen = run_on_a_terminal("poll", "--config", str(config))

    assert code == 3, screen  # one source fails
    assert "polling" in screen and "━" in screen and "100%" in screen
    assert "\x1b[" in screen  # the bar is redrawn in place
    for name in NEW_ITEMS:
        assert f"{name}: {NEW_ITEMS[name]} new" in screen
    assert "total: 4 sources" in screen

    code, plain = run_on_a_terminal("poll", "--no-progress", "--config", str(config))
    assert code == 3 and "━" not in plain and "%" not in plain
    assert "Test Wire: unchanged: 0 new" in plain
