"""Shared fixtures: a loopback feed server, config files and a CLI runner."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.feedserver import FeedServer, Route

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
E2E = FIXTURES / "e2e"

TOPICS_TOML = """
[terms]
car_t = ["CAR-T", "CAR T-cell", "chimeric antigen receptor"]
lupus = ["lupus", "SLE", "systemic lupus erythematosus", "lupus nephritis"]

[[topics]]
slug = "car-t-lupus"
title = "CAR-T in lupus"
require = ["@car_t", "@lupus"]
exclude = ["canis lupus"]
"""


# The PostgreSQL the tests use (CI starts it if it is stopped); trust auth, database `test`.
POSTGRES_URL = os.environ.get("AGGREGATOR_TEST_POSTGRES_URL",
                              "postgresql://postgres@127.0.0.1:5432/test")


def _postgres_problem() -> str | None:
    """Why the test PostgreSQL cannot be reached, or None when it can."""
    import psycopg

    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as error:
        return str(error).strip().splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The test PostgreSQL's URL, starting the local cluster if it is stopped."""
    problem = _postgres_problem()
    if problem and shutil.which("pg_ctlcluster") and Path("/etc/postgresql").is_dir():
        for version in sorted(os.listdir("/etc/postgresql")):
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main",
                            "start"], capture_output=True, timeout=60)
        problem = _postgres_problem()
    if problem:
        pytest.skip(f"no PostgreSQL at {POSTGRES_URL} and none could be started: {problem}")
    return POSTGRES_URL


@contextmanager
def postgres_schema(server: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own, dropped afterwards."""
    import psycopg

    schema = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    with postgres_schema(postgres_server) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store of each engine: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store.db"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def serve_e2e_feeds(server: FeedServer) -> dict[str, str]:
    """Serve the three e2e fixture feeds (RSS 2.0, Atom, RSS 1.0); return name -> URL."""
    server.routes["/wire.rss"] = Route((E2E / "wire.rss").read_bytes())
    server.routes["/newsroom.atom"] = Route(
        (E2E / "newsroom.atom").read_bytes(), content_type="application/atom+xml"
    )
    server.routes["/science.rdf"] = Route(
        (E2E / "science.rdf").read_bytes(), content_type="application/rdf+xml"
    )
    return {
        "Test Wire": server.url("/wire.rss"),
        "Nuvexa Newsroom": server.url("/newsroom.atom"),
        "Science Releases": server.url("/science.rdf"),
    }


def write_config(path: Path, sources: dict[str, str], *, extra: str = "",
                 topics: str = TOPICS_TOML, db: Path | None = None) -> Path:
    """Write a config polling `sources` (name -> URL) into a SQLite store beside it."""
    db = db or path.parent / "store.db"
    lines = [
        "[storage]",
        f'url = "sqlite:///{db}"',
        "retention_days = 3650",
        "[server]",
        'base_url = "http://feeds.test"',
        "[fetch]",
        "timeout = 5",
        "deadline = 10",
        extra,
    ]
    for name, url in sources.items():
        lines += ["[[sources]]", f'name = "{name}"', f'url = "{url}"']
    path.write_text("\n".join(lines) + "\n" + topics, encoding="utf-8")
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run `python -m aggregator ARGS` in a fresh process, as a user would."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"aggregator {' '.join(args)} exited {result.returncode}\n"
            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
        )
    return result
