"""The pipeline's fences (pyproject.toml's import contracts) hold, and would catch a crossing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on `project` (a folder with pyproject.toml and aggregator/)."""
    return subprocess.run(
        [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command;"
         " sys.exit(lint_imports_command())", "--config", str(project / "pyproject.toml"),
         "--no-cache"],
        cwd=project, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"},
    )


def test_the_package_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "BROKEN" not in result.stdout


def crossed(tmp_path: Path, module: str, line: str) -> str:
    """The linter's report on a copy of the package where `module` gains `line`."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "aggregator", project / "aggregator",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", project / "pyproject.toml")
    target = project / "aggregator" / module
    target.write_text(target.read_text() + f"\n{line}\n")
    result = lint_imports(project)
    assert result.returncode != 0, result.stdout
    return result.stdout


def test_the_core_importing_the_store_breaks_the_build(tmp_path: Path) -> None:
    report = crossed(tmp_path, "core/normalize.py", "import aggregator.store  # noqa")
    assert "aggregator.core.normalize -> aggregator.store" in report


def test_the_store_importing_the_web_layer_breaks_the_build(tmp_path: Path) -> None:
    report = crossed(tmp_path, "store/sqlite.py", "import aggregator.web  # noqa")
    assert "aggregator.store.sqlite -> aggregator.web" in report
