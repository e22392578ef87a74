"""Deployment: the image's install step and CMD, docker-compose.yml, the environment.

There is no Docker engine here, so the image is reproduced instead of built: the
build context that .dockerignore lets through, the Dockerfile's own `pip wheel` and
`pip install` commands (paths mapped into a temporary directory) into a fresh
virtualenv with no dev dependencies, and the image's CMD, ENV and HEALTHCHECK run as
an unprivileged user in a directory laid out like the image's filesystem.
"""

from __future__ import annotations

import os
import posixpath
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from packaging.utils import canonicalize_name

from aggregator.config import ENV_OVERRIDES, parse_config, redact_url
from tests.conftest import ROOT, run_cli, serve_e2e_feeds, write_config
from tests.feedserver import FeedServer
from tests.servicerun import ServiceProcess, clean_env, free_port, running_service, wait_until
from tests.test_dockerfile import (
    build_context,
    dockerfile,
    exec_form,
    final_stage,
    healthcheck_command,
    values,
)

NOBODY = 65534
UNPRIVILEGED = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups", "--"]


# -- the image, reproduced --------------------------------------------------------------


@pytest.fixture(scope="module")
def image_root() -> Iterator[Path]:
    """A world-readable scratch directory (pytest's tmp_path is private to root)."""
    root = Path(tempfile.mkdtemp(prefix="aggregator-image-"))
    root.chmod(0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def dockerfile_pip(run_value: str, paths: dict[str, str]) -> list[str]:
    """A Dockerfile `pip ...` step as arguments, with its image paths mapped to `paths`."""
    command = run_value[run_value.index("pip "):].split("&&")[0]
    return [paths.get(arg, arg) for arg in shlex.split(command)[1:]]


@pytest.fixture(scope="module")
def installed(image_root: Path) -> Path:
    """The image's install step, reproduced into a fresh virtualenv; returns its bin/."""
    source = image_root / "src"
    for relative in build_context(ROOT):  # what `COPY` can see
        target = source / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target)
    wheels, venv = image_root / "wheels", image_root / "venv"
    paths = {"/wheels": str(wheels), "/constraints.txt": str(source / "constraints.txt")}

    (build,) = [v for v in values("RUN") if v.startswith("pip wheel")]
    (install,) = [v for v in values("RUN", final_stage()) if "pip install" in v]
    subprocess.run([sys.executable, "-m", "pip", *dockerfile_pip(build, paths)], cwd=source,
                   check=True, capture_output=True, timeout=300)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip",
                    *dockerfile_pip(install, paths)],
                   check=True, capture_output=True, timeout=300)
    subprocess.run(["chmod", "-R", "a+rX", str(venv)], check=True)
    return venv / "bin"


def pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    return {canonicalize_name(name): version for name, version in
            (line.split("==") for line in lines if line and not line.startswith("#"))}


@pytest.mark.slow
def test_the_install_is_exactly_the_locked_runtime_set(installed: Path) -> None:
    frozen = subprocess.run([str(installed / "python"), "-m", "pip", "freeze", "--all",
                             "--exclude", "pip", "--exclude", "setuptools"],
                            capture_output=True, text=True, check=True).stdout.splitlines()
    versions = dict(line.split("==") for line in frozen)
    project = versions.pop("newswire-aggregator")

    assert {canonicalize_name(n): v for n, v in versions.items()} == pins()
    assert project == "0.1.0" and not any("file://" in line for line in frozen)  # a wheel
    check = subprocess.run([str(installed / "python"), "-m", "pip", "check"],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout
    for dev_only in ("pytest", "ruff", "yaml"):
        probe = subprocess.run([str(installed / "python"), "-c", f"import {dev_only}"],
                               capture_output=True)
        assert probe.returncode != 0, f"{dev_only} is installed"


def image_env(bin_dir: Path, root: Path, port: int) -> dict[str, str]:
    """The image's ENV with its absolute paths under `root`, on a free port."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AGGREGATOR_", "PYTHON", "VIRTUAL_ENV"))}
    for name, value in dockerfile().envs.items():
        env[name] = str(root / value.lstrip("/")) if value.startswith("/") else value
    env.update(AGGREGATOR_PORT=str(port), HOME="/nonexistent",
               PATH=f"{bin_dir}{os.pathsep}{env['PATH']}")
    return env


def as_image_user(command: list[str]) -> list[str]:
    return UNPRIVILEGED + command if os.geteuid() == 0 else command


def uid_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"^Uid:\s+(\d+)", status, re.MULTILINE).group(1))


@pytest.mark.slow
def test_the_image_cmd_serves_healthz_as_an_unprivileged_user(installed: Path,
                                                              image_root: Path) -> None:
    root = image_root / "rootfs"  # the image's `/`, which is also its WORKDIR
    (root / "config").mkdir(parents=True)  # mounted, but without aggregator.toml
    (root / "data").mkdir()
    if os.geteuid() == 0:
        os.chown(root / "data", NOBODY, NOBODY)
    port = free_port()
    env = image_env(installed, root, port)
    program, *args = exec_form(dockerfile().cmd)
    cmd = [shutil.which(program, path=env["PATH"]), *args]
    assert cmd[0] == str(installed / "aggregator")
    service = ServiceProcess(as_image_user(cmd), port, env, cwd=root)
    try:
        service.wait_healthy()
        assert uid_of(service.proc.pid) != 0
        wait_until(lambda: service.get("/readyz")[0] == 200, 20, "/readyz 200")
        health = subprocess.run(as_image_user(healthcheck_command()), env=env, cwd=root,
                                capture_output=True, text=True, timeout=30)
        assert health.returncode == 0, health.stderr
        service.signal(signal.SIGTERM)
        assert service.wait_exit(timeout=30) == 0
    finally:
        service.stop()

    events = service.events()  # the image logs JSON
    warning = next(e for e in events if e["logger"] == "aggregator.config")
    assert warning["level"] == "warning"
    assert f"no config file at {root}/config/aggregator.toml" in warning["message"]
    database = root / "data" / "aggregator.db"  # the default store, in the volume
    assert database.is_file()
    if os.geteuid() == 0:
        assert database.stat().st_uid == NOBODY


# -- docker-compose.yml -------------------------------------------------------------------


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def services(profile: str) -> dict[str, dict]:
    return {name: spec for name, spec in compose()["services"].items()
            if profile in spec.get("profiles", [])}


def command_of(spec: dict) -> list[str]:
    return spec.get("command") or exec_form(dockerfile().cmd)


def test_compose_runs_one_process_with_its_data_in_a_volume() -> None:
    (spec,) = services("sqlite").values()
    assert spec["build"] == "."
    assert command_of(spec) == ["aggregator", "run"]
    assert "data:/data" in spec["volumes"] and "data" in compose()["volumes"]
    assert "./config:/config:ro" in spec["volumes"]
    assert spec["ports"] == ["127.0.0.1:${PUBLISH_PORT:-8080}:8080"]  # loopback only


def checkout_path(spec: dict, inside: str) -> Path | None:
    """The file of this checkout that a compose service sees at `inside`, if one is
    bind-mounted there."""
    for volume in spec["volumes"]:
        source, target = volume.split(":")[:2]
        if source.startswith("./") and (inside + "/").startswith(target + "/"):
            return ROOT / source / inside[len(target):].lstrip("/")
    return None


@pytest.mark.parametrize("profile", ["sqlite", "postgres"])
def test_compose_serves_the_offline_demo_out_of_the_box(profile: str) -> None:
    """Each aggregator service reads a config that is in the checkout, and the sources
    it names, resolved inside the container, are mounted from the checkout too
    (deploy/container-check.sh runs the sqlite profile for real)."""
    ours = {name: spec for name, spec in services(profile).items() if "build" in spec}
    assert ours
    for spec in ours.values():
        # ${CONFIG_FILE:-demo.toml} with nothing set
        inside = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", spec["environment"]["AGGREGATOR_CONFIG"])
        config = checkout_path(spec, inside)
        assert config == ROOT / "config" / "demo.toml"
        sources = parse_config(tomllib.loads(config.read_text())).sources
        assert sources
        for source in sources:
            feed = posixpath.normpath(posixpath.join(posixpath.dirname(inside), source.url))
            assert (path := checkout_path(spec, feed)) and path.is_file(), source.url


def test_compose_postgres_profile_is_one_web_and_two_workers_on_one_database() -> None:
    group = services("postgres")
    database = group.pop("postgres")
    assert re.fullmatch(r"postgres:\d+\.\d+(-\w+)?", database["image"])
    assert "pg_isready" in database["healthcheck"]["test"]

    roles = {name: command_of(spec)[command_of(spec).index("--role") + 1]
             for name, spec in group.items()}
    assert sorted(roles.values()) == ["web", "worker"]
    worker = next(spec for name, spec in group.items() if roles[name] == "worker")
    assert worker["deploy"]["replicas"] == 2
    assert "ports" not in worker
    environment = database["environment"]
    expected = (f"postgresql://{environment['POSTGRES_USER']}:{environment['POSTGRES_PASSWORD']}"
                f"@postgres:5432/{environment['POSTGRES_DB']}")
    for spec in group.values():
        assert spec["environment"]["AGGREGATOR_STORAGE_URL"] == expected
        assert spec["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_compose_sets_only_variables_the_service_reads() -> None:
    for spec in compose()["services"].values():
        names = {n for n in spec.get("environment", {}) if n.startswith("AGGREGATOR_")}
        assert names <= set(ENV_OVERRIDES) | {"AGGREGATOR_CONFIG"}


# -- configuration by environment -----------------------------------------------------------

# One valid value per variable, and where it must land.
SAMPLES = {
    "AGGREGATOR_STORAGE_URL": ("postgresql://u@db.internal/news", "storage.url",
                               "postgresql://u@db.internal/news"),
    "AGGREGATOR_RETENTION_DAYS": ("30", "storage.retention_days", 30),
    "AGGREGATOR_HOST": ("0.0.0.0", "server.host", "0.0.0.0"),
    "AGGREGATOR_PORT": ("9000", "server.port", 9000),
    "AGGREGATOR_BASE_URL": ("https://news.example.org/", "server.base_url",
                            "https://news.example.org"),
    "AGGREGATOR_SHUTDOWN_GRACE": ("20s", "server.shutdown_grace", 20.0),
    "AGGREGATOR_LOG_FORMAT": ("json", "logging.format", "json"),
    "AGGREGATOR_LOG_LEVEL": ("DEBUG", "logging.level", "DEBUG"),
    "AGGREGATOR_FETCH_CONCURRENCY": ("8", "fetch.concurrency", 8),
    "AGGREGATOR_FETCH_TIMEOUT": ("1m", "fetch.timeout", 60.0),
    "AGGREGATOR_FETCH_DEADLINE": ("2m", "fetch.deadline", 120.0),
    "AGGREGATOR_CONTACT": ("mailto:ops@example.org", "fetch.contact", "mailto:ops@example.org"),
    "AGGREGATOR_LEASE_SECONDS": ("90", "fetch.lease", 90.0),
}


def test_every_environment_override_applies() -> None:
    assert set(SAMPLES) == set(ENV_OVERRIDES)
    config = parse_config({}, environ={name: raw for name, (raw, _, _) in SAMPLES.items()})
    for name, (_, key, expected) in SAMPLES.items():
        section, field = key.split(".")
        assert getattr(getattr(config, section), field) == expected, name


def test_the_readme_documents_exactly_the_variables_there_are() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("### Environment overrides"):]
    table = table[:table.index("\n#")]
    documented = set(re.findall(r"`(AGGREGATOR_[A-Z_]+)`", table))
    assert documented == set(ENV_OVERRIDES) | {"AGGREGATOR_CONFIG"}


# -- secrets -----------------------------------------------------------------------------

SECRET = "hunter2-xyz"


@pytest.mark.parametrize("url", [
    f"postgresql://news:{SECRET}@db.internal:5432/news",
    f"postgresql://news@db.internal/news?sslmode=require&password={SECRET}",
])
def test_check_config_never_prints_the_storage_password(url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {})
    result = run_cli("check-config", "--config", str(config),
                     env=clean_env(AGGREGATOR_STORAGE_URL=url))
    assert f"storage {redact_url(url)};" in result.stdout
    assert "***" in result.stdout and SECRET not in result.stdout + result.stderr


def test_a_rejected_storage_url_is_reported_without_its_password(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config.toml", {})
    result = run_cli("check-config", "--config", str(config), check=False,
                     env=clean_env(AGGREGATOR_STORAGE_URL=f"mysql://news:{SECRET}@db/news"))
    assert result.returncode == 2
    assert "storage.url: unsupported storage URL 'mysql://news:***@db/news'" in result.stderr
    assert SECRET not in result.stdout + result.stderr


# -- the built-in default config ------------------------------------------------------------


def test_check_config_without_a_config_file_names_the_file_it_looked_for(
    tmp_path: Path,
) -> None:
    # `run` falls back to the built-in default; checking a config that is not there is
    # an error, whether the path was implicit or typed (issue 15)
    missing = tmp_path / "config" / "aggregator.toml"
    result = run_cli("check-config", env=clean_env(AGGREGATOR_CONFIG=str(missing)), check=False)
    assert result.returncode == 2
    assert f"no config file: looked for {missing}" in result.stderr and result.stdout == ""

    typed = run_cli("check-config", "--config", str(missing), check=False)
    assert typed.returncode == 2
    assert f"no config file: looked for {missing}" in typed.stderr


def test_a_config_written_later_is_picked_up_on_sighup(feed_server: FeedServer,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "config" / "aggregator.toml"
    storage = f"sqlite:///{tmp_path}/store.db"
    env = {"AGGREGATOR_CONFIG": str(path), "AGGREGATOR_STORAGE_URL": storage}
    with running_service(None, env=env) as service:
        wait_until(lambda: service.get("/readyz")[0] == 200, 15, "/readyz on the default")
        assert service.get("/feeds/car-t-lupus.atom")[0] == 404

        path.parent.mkdir()
        write_config(path, serve_e2e_feeds(feed_server))
        service.signal(signal.SIGHUP)
        wait_until(lambda: len(service.poll_events()) == 3, 20, "polls of the new sources")
        assert service.get("/feeds/car-t-lupus.atom")[0] == 200
