"""Issue 15, points 10, 14 and 15: what a user meets at the command line, each through a
real `aggregator` process (each test failed before its fix)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer, Route
from tests.liveserver import story_feed

# Nine mistakes of every kind: field values, cross-references, queries and term groups.
NINE_MISTAKES = """\
[storage]
url = "mysql://x"

[server]
port = 99999

[terms]
car_t = ["CAR-T"]

[[sources]]
name = "Wire"
url = "htp:/nowhere"

[[sources]]
name = "Wire"
url = "https://x.example/f"
interval = "soon"
# comments and a multi-line string are not keys
[[topics]]
description = '''
slug = "not a key"
'''
slug = "Bad Slug"
title = "x"
query = "CAR-T AND (lupus"
sources = [
  "Nope",  # an array over lines is one key
]

[[topics]]
title = "y"
slug = "t2"
include = ["@nothere"]
"""


def test_check_config_reports_every_problem_in_one_run_with_lines(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(NINE_MISTAKES, encoding="utf-8")
    result = run_cli("check-config", "--config", str(path), check=False)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"{path}: 9 problems"
    found = {re.sub(r":.*\(line (\d+)\)$", r" @\1", line.strip()) for line in lines[1:]}
    assert found == {
        "storage.url @2",
        "server.port @5",
        "sources[0].url @12",
        "sources[1].name @15",
        "sources[1].interval @17",
        "topics[0].slug @23",
        "topics[0].query @25",
        "topics[0].sources[0] @26",
        "topics[1].include[0] @33",
    }


def test_check_config_without_a_config_file_is_an_error(tmp_path: Path) -> None:
    absent = tmp_path / "aggregator.toml"
    result = run_cli("check-config", env={"AGGREGATOR_CONFIG": str(absent)}, check=False)
    assert result.returncode == 2
    assert str(absent) in result.stderr
    assert "OK" not in result.stdout


def test_check_config_counts_in_words_and_the_config_option_goes_before_the_command(
    tmp_path: Path,
) -> None:
    config = write_config(tmp_path / "config.toml", {"Wire": "https://x.example/f"})
    result = run_cli("--config", str(config), "check-config")
    assert ": OK: 1 source, 1 topic (car-t-lupus), 2 term groups;" in result.stdout
    assert run_cli("-c", str(config), "sources", "--json").stdout.startswith("[")


def _poll(config: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("poll", "--config", str(config), check=False)


def test_poll_exit_status_says_whether_sources_failed_and_errors_show_once(
    feed_server: FeedServer,
    tmp_path: Path,
) -> None:
    feeds = serve_e2e_feeds(feed_server)
    good = _poll(write_config(tmp_path / "good.toml", feeds))
    assert good.returncode == 0, good.stdout + good.stderr
    assert not re.search(r": new: ", good.stdout)  # "new: 2 new" says it twice
    assert re.search(r"^Test Wire: \d+ new, 0 updated", good.stdout, re.M)

    feed_server.routes["/broken"] = Route(b"oops", status=500, content_type="text/plain")
    broken = {"Broken Wire": feed_server.url("/broken")}
    some = _poll(write_config(tmp_path / "some.toml", {**feeds, **broken}, db=tmp_path / "some.db"))
    assert some.returncode == 3
    assert (some.stdout + some.stderr).count("Broken Wire") == 1
    assert "3 sources" not in some.stdout and "4 sources (" in some.stdout
    assert "1 error)" in some.stdout

    every = _poll(write_config(tmp_path / "every.toml", broken, db=tmp_path / "every.db"))
    assert every.returncode == 4
    assert "total: 1 source (" in every.stdout


def test_render_into_a_reader_that_stops_early_ends_quietly(tmp_path: Path) -> None:
    feed = tmp_path / "many.rss"
    feed.write_bytes(story_feed(120, words=120))
    config = write_config(tmp_path / "config.toml", {"Story Wire": str(feed)})
    run_cli("poll", "--config", str(config))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aggregator",
            "render",
            "car-t-lupus",
            "--limit",
            "120",
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.read(100).startswith(b"<?xml")
    proc.stdout.close()  # what `| head -c 100` does
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert stderr == ""


def test_a_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    name = f"relative-{tmp_path.name}.db"
    config = folder / "config.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{name}"\n', encoding="utf-8")
    try:
        run_cli("migrate", "--config", str(config))  # run_cli works in the repository root
        assert (folder / name).exists()
        assert not (ROOT / name).exists()
    finally:
        (ROOT / name).unlink(missing_ok=True)


def test_explain_an_unmatched_item_promises_nothing_it_does_not_print(tmp_path: Path) -> None:
    feed = tmp_path / "weather.rss"
    feed.write_text(
        '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>W</title>'
        "<link>https://w.example/</link><description>d</description><item>"
        "<title>Rain expected on Tuesday</title><link>https://w.example/rain</link>"
        "<guid>w1</guid><pubDate>Wed, 11 Nov 2026 08:00:00 GMT</pubDate>"
        "<description>Clouds all week.</description></item></channel></rss>",
        encoding="utf-8",
    )
    config = write_config(tmp_path / "config.toml", {"Weather": str(feed)})
    run_cli("poll", "--config", str(config))
    result = run_cli("explain", "https://w.example/rain", "--config", str(config))
    assert "does not match" in result.stdout
    assert "below" not in result.stdout
    assert "published: 2026-11-11T08:00:00Z" in result.stdout  # times carry their zone
