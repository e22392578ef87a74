"""The Dockerfile and .dockerignore, checked without a Docker engine.

No engine runs where the tests run, so these read the files with a Dockerfile parser
and hadolint and assert what the image promises; tests/test_deploy.py installs and runs
what the image would.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any

from dockerfile_parse import DockerfileParser
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from aggregator.config import ENV_OVERRIDES, StorageConfig
from aggregator.store import sqlite_path
from tests.conftest import ROOT

KNOWN_VARIABLES = set(ENV_OVERRIDES) | {"AGGREGATOR_CONFIG"}


def dockerfile() -> DockerfileParser:
    return DockerfileParser(str(ROOT / "Dockerfile"))


def final_stage() -> list[dict[str, Any]]:
    """The instructions after the last FROM: what the image is made of."""
    structure = dockerfile().structure
    last_from = max(i for i, step in enumerate(structure) if step["instruction"] == "FROM")
    return structure[last_from + 1:]


def values(instruction: str, steps: list[dict[str, Any]] | None = None) -> list[str]:
    return [s["value"] for s in (steps or dockerfile().structure)
            if s["instruction"] == instruction]


def exec_form(value: str) -> list[str]:
    """The JSON array of an exec-form instruction (fails on shell form)."""
    parsed = json.loads(value)
    assert isinstance(parsed, list) and all(isinstance(part, str) for part in parsed)
    return parsed


def healthcheck_command() -> list[str]:
    """HEALTHCHECK's command, after its options."""
    (value,) = values("HEALTHCHECK", final_stage())
    return exec_form(value[value.index("CMD") + 3:].strip())


def test_base_images_are_one_slim_python_pinned_to_a_patch_release() -> None:
    images = dockerfile().parent_images
    assert len(images) == 2  # build stage and runtime stage
    assert len(set(images)) == 1
    assert re.fullmatch(r"python:3\.1[1-9]\.\d+-slim-(bookworm|trixie)", images[0])


def test_the_build_stage_makes_the_wheels_under_the_constraints() -> None:
    (build,) = [v for v in values("RUN") if v.startswith("pip wheel")]
    args = shlex.split(build)
    assert "--constraint" in args and args[args.index("--constraint") + 1] == "constraints.txt"
    assert args[-1] == "."
    # feedgen's sdist has no pyproject.toml: without this pip 23.0 runs `setup.py
    # bdist_wheel`, which fails unless `wheel` happens to be installed in the base
    assert "--use-pep517" in args


def test_the_image_installs_the_wheel_offline_under_the_constraints() -> None:
    (install,) = [v for v in values("RUN", final_stage()) if "pip install" in v]
    assert "from=build,source=/wheels" in install  # wheels from the build stage
    command = shlex.split(install[install.index("pip install"):].split("&&")[0])
    assert {"--no-index", "--no-cache-dir"} <= set(command)
    assert command[command.index("--constraint") + 1] == "/constraints.txt"
    assert command[-1] == "newswire-aggregator"
    assert not any("[dev]" in part for part in command)


def test_constraints_pin_every_runtime_dependency_within_its_range() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line!r}"
            pins[canonicalize_name(name)] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    for spec in project["dependencies"]:
        requirement = Requirement(spec)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} vs {spec}"
    assert "pytest" not in pins and "ruff" not in pins


def test_runs_as_a_fixed_unprivileged_user() -> None:
    users = values("USER", final_stage())
    assert users, "no USER: the image would run as root"
    user, _, group = users[-1].partition(":")
    assert user.isdigit() and int(user) >= 1000 and group.isdigit()  # numeric: runAsNonRoot
    (setup,) = [v for v in values("RUN", final_stage()) if "useradd" in v]
    assert f"--uid {user}" in setup and "chown aggregator:aggregator /data" in setup


def test_sqlite_lives_in_the_data_volume_and_the_config_under_config() -> None:
    stage = final_stage()
    assert exec_form(values("VOLUME", stage)[-1]) == ["/data"]
    workdir = PurePosixPath(values("WORKDIR", stage)[-1])
    # The default store URL is relative to the working directory.
    database = workdir / sqlite_path(StorageConfig().url).as_posix()
    assert database.parent == PurePosixPath("/data")
    assert dockerfile().envs["AGGREGATOR_CONFIG"] == "/config/aggregator.toml"


def test_environment_variables_are_ones_the_service_reads() -> None:
    envs = dockerfile().envs
    ours = {name for name in envs if name.startswith("AGGREGATOR_")}
    assert ours <= KNOWN_VARIABLES
    assert envs["AGGREGATOR_HOST"] == "0.0.0.0"  # reachable from outside the container


def test_exposes_the_port_the_service_listens_on() -> None:
    assert values("EXPOSE", final_stage()) == [dockerfile().envs["AGGREGATOR_PORT"]] == ["8080"]


def test_healthcheck_asks_healthz_with_the_interpreter() -> None:
    command = healthcheck_command()
    assert command[:2] == ["python", "-c"]
    assert "/healthz" in command[2] and "AGGREGATOR_PORT" in command[2]
    text = (ROOT / "Dockerfile").read_text()
    assert not re.search(r"\b(curl|wget)\b", text)


def test_cmd_is_exec_form_aggregator_run() -> None:
    assert exec_form(dockerfile().cmd) == ["aggregator", "run"]


def test_hadolint_finds_nothing() -> None:
    result = subprocess.run(["hadolint", "--no-color", str(ROOT / "Dockerfile")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# -- .dockerignore --------------------------------------------------------------------


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex on a path."""
    regex, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            regex, i = regex + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif pattern[i] == "*":
            regex, i = regex + "[^/]*", i + 1
        elif pattern[i] == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(pattern[i]), i + 1
    return re.compile(regex)


def build_context(root: Path) -> list[str]:
    """The files `docker build` would send: the last matching rule decides, and a rule
    matching a directory applies to everything under it."""
    rules = []
    for line in (root / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            negated = line.startswith("!")
            rules.append((_pattern_regex(line.lstrip("!").strip("/")), negated))
    kept = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        prefixes = ["/".join(relative.split("/")[:n])
                    for n in range(1, relative.count("/") + 2)]
        excluded = False
        for regex, negated in rules:
            if any(regex.fullmatch(prefix) for prefix in prefixes):
                excluded = not negated
        if not excluded:
            kept.append(relative)
    return kept


def test_dockerignore_sends_the_build_inputs_and_nothing_else() -> None:
    context = build_context(ROOT)

    for needed in ("pyproject.toml", "README.md", "constraints.txt", "aggregator/__init__.py",
                   "aggregator/defaults/default.toml", "aggregator/web/templates/index.html",
                   "aggregator/store/migrations/0001_initial.sql"):
        assert needed in context
    for path in context:
        assert path.split("/")[0] in {"pyproject.toml", "README.md", "constraints.txt",
                                      "aggregator"}, path
        assert "__pycache__" not in path and not path.endswith((".pyc", ".db")), path


def test_every_copied_path_is_in_the_context() -> None:
    """A COPY of something .dockerignore leaves out fails the build."""
    context = build_context(ROOT)
    for value in values("COPY"):
        if value.startswith("--from"):
            continue
        for source in value.split()[:-1]:
            assert any(f == source or f.startswith(source.rstrip("/") + "/")
                       for f in context), source
