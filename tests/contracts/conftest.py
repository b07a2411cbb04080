"""Running the CLI on a workspace folder with no store: import and export touch only files."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import CliResult

from charter.cli.main import main

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty workspace folder whose state (were any written) would stay inside it."""
    for name in ("CHARTER_DATABASE_URL", "CHARTER_WORKSPACE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CHARTER_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    root = tmp_path / "ws"
    root.mkdir()
    return root


@pytest.fixture
def run(folder: Path) -> Any:
    def call(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["-w", str(folder), *args])
        return CliResult(code, out.getvalue(), err.getvalue())

    return call
