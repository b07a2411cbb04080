"""The layers of docs/architecture.md hold: ``[tool.importlinter]`` in pyproject.toml, checked by
import-linter here (so the suite fails, not only ``make lint``), on the source as it is and on a
copy with one upward import added."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = (
    "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
)


def _lint(source: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(source)}
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


def test_the_layers_and_acyclic_contracts_are_kept() -> None:
    done = _lint(ROOT / "src", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 kept, 0 broken" in done.stdout


def test_an_upward_import_breaks_the_layers(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "charter", tmp_path / "src" / "charter")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    store = tmp_path / "src" / "charter" / "store" / "database.py"
    store.write_text(store.read_text() + "\nfrom charter.services import monitoring  # upward\n")
    done = _lint(tmp_path / "src", tmp_path)
    assert done.returncode == 1
    assert "charter.store is not allowed to import charter.services" in done.stdout
    assert "charter.store.database -> charter.services.monitoring" in done.stdout


def test_sqlalchemy_in_a_cleaned_package_breaks_the_sql_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "src" / "charter", tmp_path / "src" / "charter")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    tokens = tmp_path / "src" / "charter" / "tokens.py"
    tokens.write_text(tokens.read_text() + "\nimport sqlalchemy  # SQL outside the store\n")
    done = _lint(tmp_path / "src", tmp_path)
    assert done.returncode == 1
    assert "only the store issues SQL" in done.stdout
    assert "charter.tokens -> sqlalchemy" in done.stdout
