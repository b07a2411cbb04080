"""An entrypoint version is pinned by its whole package: a changed parent ``__init__.py`` or a
planted ``.pyc`` is refused before any of it runs, at load and at ``versions --verify``."""

from __future__ import annotations

import importlib.util
import py_compile
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from charter.errors import ArtifactTamperedError
from charter.registry import load_model, register_version, verify_version
from charter.workspace import Workspace

CHARTER = "credit-default"
SCORE = "def predict(frame):\n    return frame['ratio'].to_numpy()\n"


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, Path]:
    """A package ``<name>.models.scoring`` in the current folder, never shared via sys.modules."""
    monkeypatch.chdir(tmp_path)
    name = f"tamper_pkg_{uuid.uuid4().hex[:10]}"
    root = tmp_path / name
    (root / "models").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "models" / "__init__.py").write_text("")
    (root / "models" / "scoring.py").write_text(SCORE)
    return name, root


def test_a_changed_parent_init_is_caught_by_verify_without_running_it(
    ws: Workspace, package: tuple[str, Path], tmp_path: Path, cli: Any
) -> None:
    name, root = package
    info = register_version(ws, CHARTER, f"{name}.models.scoring:predict")
    assert cli("versions", CHARTER, "--verify").code == 0
    sentinel = tmp_path / "init-ran"
    (root / "__init__.py").write_text(f"open({str(sentinel)!r}, 'w').close()\n")

    verified = cli("versions", CHARTER, "--verify")
    assert verified.code == 4 and "package of entrypoint" in verified.stderr
    with pytest.raises(ArtifactTamperedError, match="package of entrypoint"):
        load_model(ws, CHARTER, info.version)
    assert not sentinel.exists()


def test_a_planted_pyc_with_the_source_unchanged_never_runs(
    ws: Workspace, package: tuple[str, Path], tmp_path: Path
) -> None:
    name, root = package
    info = register_version(ws, CHARTER, f"{name}.models.scoring:predict")
    source = root / "models" / "scoring.py"
    # Compile evil code into the very cache file Python would use for the unchanged source.
    sentinel = tmp_path / "pyc-ran"
    evil = tmp_path / "evil.py"
    evil.write_text(f"open({str(sentinel)!r}, 'w').close()\n" + SCORE)
    cached = Path(importlib.util.cache_from_source(str(source)))
    py_compile.compile(str(evil), cfile=str(cached))
    stat = source.stat()  # make the cache look fresh for the unchanged source: mtime and size
    header = int(stat.st_mtime).to_bytes(4, "little") + stat.st_size.to_bytes(4, "little")
    data = cached.read_bytes()
    cached.write_bytes(data[:8] + header + data[16:])
    assert source.read_text() == SCORE
    control = subprocess.run(
        [sys.executable, "-c", f"import {name}.models.scoring"], cwd=tmp_path, check=True
    )
    assert control.returncode == 0 and sentinel.exists()  # a plain import runs the cache
    sentinel.unlink()

    predictor = load_model(ws, CHARTER, info.version)
    assert predictor.flavor == "entrypoint"
    assert not sentinel.exists()

    stray = root / "models" / "helper.pyc"
    stray.write_bytes(cached.read_bytes())
    with pytest.raises(ArtifactTamperedError, match="compiled files would run"):
        verify_version(ws, CHARTER, info.version)


def test_a_new_sibling_module_changes_the_pin(ws: Workspace, package: tuple[str, Path]) -> None:
    name, root = package
    info = register_version(ws, CHARTER, f"{name}.models.scoring:predict")
    (root / "models" / "extra.py").write_text("x = 1\n")
    with pytest.raises(ArtifactTamperedError, match="package of entrypoint"):
        verify_version(ws, CHARTER, info.version)
