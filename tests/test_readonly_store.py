"""A store this user may not write (issue 15 point 9): commands that only read work and
write nothing; every other command fails with one clear line and exit status 2.

The CLI runs in a child process as a user would. Root ignores file modes, so when the
tests run as root the child drops the capabilities that let it (CAP_DAC_OVERRIDE,
CAP_FOWNER) before it starts: the kernel then checks modes for it as for anyone.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import ROOT, TOPICS_TOML, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.test_end_to_end import EXPECTED_TITLES

SLUG = "car-t-lupus"
PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE, CAP_FOWNER = 1, 3
READING = [["stories", SLUG], ["sources", "--json"], ["render", SLUG], ["preview", SLUG]]
WRITING = [["poll"], ["migrate"], ["run", "--port", "0"]]


def _as_an_ordinary_user() -> None:  # runs in the child, before exec
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (CAP_DAC_OVERRIDE, CAP_FOWNER):
            if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
                raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m aggregator ARGS` without the power to write read-only files."""
    return subprocess.run(
        [sys.executable, "-m", "aggregator", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        preexec_fn=_as_an_ordinary_user,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file in `folder`: name -> (size, mtime in ns)."""
    return {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.iterdir()}


@pytest.fixture
def polled(feed_server: FeedServer, tmp_path: Path) -> Path:
    """A config whose SQLite store (in data/) holds the e2e feeds' stories."""
    data = tmp_path / "data"
    data.mkdir()
    config = write_config(
        tmp_path / "config.toml", serve_e2e_feeds(feed_server), db=data / "store.db"
    )
    run_cli("poll", "--config", str(config))
    return config


@pytest.fixture
def read_only(polled: Path) -> Iterator[Path]:
    """`polled`, with the store file and its folder made read-only."""
    data = polled.parent / "data"
    for path in (data / "store.db", data):
        path.chmod(0o555 if path.is_dir() else 0o444)
    yield polled
    data.chmod(0o755)


@pytest.mark.parametrize("command", READING, ids=lambda c: c[0])
def test_reading_commands_work_on_a_read_only_store_and_write_nothing(
    read_only: Path, command: list[str]
) -> None:
    data = read_only.parent / "data"
    before = snapshot(data)
    result = cli(*command, "--config", str(read_only))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    if command[0] in ("stories", "preview"):
        assert EXPECTED_TITLES[0] in result.stdout
    assert snapshot(data) == before  # no migration, no source sync, no -wal or -shm


@pytest.mark.parametrize("command", WRITING, ids=lambda c: c[0])
def test_writing_commands_say_in_one_line_that_the_store_is_read_only(
    read_only: Path, command: list[str]
) -> None:
    result = cli(*command, "--config", str(read_only))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    store = read_only.parent / "data" / "store.db"
    assert line.startswith("store error: ") and str(store) in line
    assert "readonly database" in line and "let this user write the store" in line


def test_an_edit_the_read_only_store_cannot_take_is_named_not_fatal(read_only: Path) -> None:
    edited = read_only.read_text().replace('title = "CAR-T in lupus"', 'title = "CAR-T, lupus"')
    edited += '\n[[topics]]\nslug = "myeloma"\ntitle = "Myeloma"\ninclude = ["myeloma"]\n'
    read_only.write_text(edited)
    result = cli("stories", SLUG, "--config", str(read_only))
    assert result.returncode == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: ") and "readonly database" in warning
    assert "topic 'myeloma' to match not applied" in warning
    assert EXPECTED_TITLES[0] in result.stdout  # the stored matches, as they are


def test_a_read_only_file_in_a_writable_folder_is_read_too(polled: Path) -> None:
    store = polled.parent / "data" / "store.db"
    store.chmod(0o444)
    result = cli("stories", SLUG, "--config", str(polled))
    assert result.returncode == 0, result.stderr
    assert EXPECTED_TITLES[0] in result.stdout
    failed = cli("poll", "--config", str(polled))
    assert failed.returncode == 2 and len(failed.stderr.splitlines()) == 1


def test_a_missing_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    config = write_config(
        tmp_path / "config.toml", {}, db=locked / "sub" / "store.db", topics=TOPICS_TOML
    )
    result = cli("stories", SLUG, "--config", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith(f"store error: cannot create {locked / 'sub'}")


# -- PostgreSQL: a role that may only read ---------------------------------------------------


@pytest.fixture
def reader_url(postgres_url: str, tmp_path: Path, feed_server: FeedServer) -> Iterator[str]:
    """`postgres_url`'s schema polled by its owner, and a URL for a role that may only
    SELECT from it."""
    config = write_config(tmp_path / "config.toml", serve_e2e_feeds(feed_server))
    run_cli("poll", "--config", str(config), env={"AGGREGATOR_STORAGE_URL": postgres_url})
    role = f"reader_{uuid.uuid4().hex[:8]}"
    schema = postgres_url.rsplit("%3D", 1)[1]
    with psycopg.connect(postgres_url, autocommit=True) as connection:
        connection.execute(f"CREATE ROLE {role} LOGIN")
        connection.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {role}")
    try:
        yield postgres_url.replace("postgres@", f"{role}@", 1)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as connection:
            connection.execute(f"DROP OWNED BY {role}")
            connection.execute(f"DROP ROLE {role}")


def test_a_read_only_postgresql_role_reads_and_fails_to_write_in_one_line(
    reader_url: str, tmp_path: Path
) -> None:
    env = {"AGGREGATOR_STORAGE_URL": reader_url}
    config = str(tmp_path / "config.toml")
    stories = cli("stories", SLUG, "--config", config, env=env)
    assert stories.returncode == 0 and stories.stderr == "", stories.stderr
    assert EXPECTED_TITLES[0] in stories.stdout
    poll = cli("poll", "--config", config, env=env)
    assert poll.returncode == 2 and "Traceback" not in poll.stderr
    [line] = poll.stderr.splitlines()
    assert line.startswith("store error: PostgreSQL at ") and "permission denied" in line
