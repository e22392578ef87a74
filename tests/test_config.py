"""Config validation: every problem named with its file and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config import ConfigError, load_config, parse_config, parse_duration
from tests.conftest import ROOT, run_cli

GOOD = """
[[sources]]
name = "Wire"
url = "https://wire.example.com/feed.rss"
interval = "10m"
tags = ["wire"]

[[topics]]
slug = "car-t"
title = "CAR-T"
include = ["CAR-T"]
"""


def problems_for(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    assert caught.value.path == str(path)
    return caught.value.problems


@pytest.mark.parametrize(
    ("snippet", "expected"),
    [
        ('[[sources]]\nname = "A"\nurl = "htp:/nowhere"\n', "sources[1].url: not a URL"),
        ('[[sources]]\nname = "A"\nurl = "https://"\n', "sources[1].url: not a URL"),
        ('[[sources]]\nname = "Wire"\nurl = "https://x.example/f"\n',
         "sources[1].name: duplicate name 'Wire'"),
        ('[[sources]]\nname = "A"\nurl = "https://x.example/f"\ninterval = "soon"\n',
         "sources[1].interval: not a duration"),
        ('[[sources]]\nname = "A"\nurl = "https://x.example/f"\nintervall = 5\n',
         "sources[1].intervall: unknown key"),
        ('[[sources]]\nurl = "https://x.example/f"\n', "sources[1].name: required key is missing"),
        ('[[topics]]\nslug = "Bad Slug"\ntitle = "x"\ninclude = ["a"]\n',
         "topics[1].slug: not a slug"),
        ('[[topics]]\nslug = "t2"\ntitle = "x"\n', "topics[1]: topic has no rule"),
        ('[[topics]]\nslug = "t2"\ntitle = "x"\ninclude = ["a"]\nsources = ["Nope"]\n',
         "topics[1].sources[0]: no source named 'Nope'"),
        ('[server]\nport = 99999\n', "server.port: Input should be less than or equal to 65535"),
        ('[storage]\nurl = "mysql://x"\n', "storage.url: unsupported storage URL"),
        ('[[topics]]\nslug = "car-t"\ntitle = "again"\ninclude = ["x"]\n',
         "topics[1].slug: duplicate slug 'car-t'"),
        ('[fetch]\nper_host = 0\n', "fetch.per_host: Input should be greater than or equal to 1"),
        ('[dedupe]\nscope = "some"\n', "dedupe.scope: Input should be 'topics' or 'all'"),
    ],
)
def test_each_mistake_is_named_by_key(snippet: str, expected: str, tmp_path: Path) -> None:
    problems = problems_for(GOOD + snippet, tmp_path)
    assert any(p.startswith(expected) for p in problems), problems


def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    text = GOOD + '[[sources]]\nname = "A"\nurl = "ftp://x"\n[server]\nport = -1\n'
    problems = problems_for(text, tmp_path)
    assert len(problems) == 2, problems


def test_toml_syntax_error_names_file(tmp_path: Path) -> None:
    problems = problems_for("[[sources]\nname=", tmp_path)
    assert problems[0].startswith("TOML syntax error")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "absent.toml")
    assert "cannot read the file" in caught.value.problems[0]


def test_bad_query_names_topic_and_position(tmp_path: Path) -> None:
    text = GOOD.replace('include = ["CAR-T"]', 'query = "CAR-T AND (lupus"')
    problems = problems_for(text, tmp_path)
    assert problems[0].startswith("topics[0].query"), problems
    assert "position" in problems[0]


def test_env_overrides_apply_and_validate() -> None:
    import tomllib

    data = tomllib.loads(GOOD)
    config = parse_config(data, environ={"AGGREGATOR_PORT": "9090",
                                         "AGGREGATOR_STORAGE_URL": "sqlite:////tmp/x.db",
                                         "AGGREGATOR_BASE_URL": "https://feeds.example.org/"})
    assert config.server.port == 9090
    assert config.storage.url == "sqlite:////tmp/x.db"
    assert config.server.public_base() == "https://feeds.example.org"
    with pytest.raises(ConfigError) as caught:
        parse_config(data, environ={"AGGREGATOR_PORT": "eighty"})
    assert caught.value.problems[0].startswith("server.port:")


def test_the_lease_is_config_and_a_bad_variable_is_a_config_error() -> None:
    import tomllib

    data = tomllib.loads(GOOD)
    assert parse_config(data, environ={}).fetch.lease == 60
    assert parse_config(data, environ={"AGGREGATOR_LEASE_SECONDS": "5"}).fetch.lease == 5
    with pytest.raises(ConfigError) as caught:  # was a bare ValueError at service start
        parse_config(data, environ={"AGGREGATOR_LEASE_SECONDS": "soon"})
    assert caught.value.problems[0].startswith("fetch.lease: not a duration: 'soon'")


def test_durations() -> None:
    assert parse_duration("15m") == 900
    assert parse_duration(30) == 30
    assert parse_duration("2h") == 7200
    with pytest.raises(ValueError):
        parse_duration("0s")


def test_check_config_cli_good_and_bad(tmp_path: Path) -> None:
    good = run_cli("check-config", "--config", str(ROOT / "config" / "demo.toml"))
    assert "OK: 5 sources, 2 topics" in good.stdout
    bad_path = tmp_path / "bad.toml"
    bad_path.write_text(GOOD + '[[sources]]\nname = "X"\nurl = "nope://"\n', encoding="utf-8")
    bad = run_cli("check-config", "--config", str(bad_path), check=False)
    assert bad.returncode == 2
    assert str(bad_path) in bad.stderr
    assert "sources[1].url: not a URL" in bad.stderr


def test_shipped_configs_are_valid() -> None:
    for name in ("demo.toml", "example.toml"):
        config = load_config(ROOT / "config" / name, environ={})
        assert any(t.slug == "car-t-lupus" for t in config.topics)
