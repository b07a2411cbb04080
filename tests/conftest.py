"""Shared fixtures: workspaces on SQLite and on the real PostgreSQL server, and the CLI runner.

Store, registry and ledger tests take ``database_url``, parametrised over both backends. Each
PostgreSQL test gets a fresh database, dropped afterwards. Set CHARTER_TEST_POSTGRES_URL to point
at another server; set CHARTER_TEST_SKIP_POSTGRES=1 to run SQLite only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from charter.cli.main import main
from charter.settings import Settings
from charter.spec.scaffold import write_scaffold
from charter.workspace import Workspace

POSTGRES_ADMIN_URL = os.environ.get(
    "CHARTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite"] if os.environ.get("CHARTER_TEST_SKIP_POSTGRES") else ["sqlite", "postgres"]


@contextlib.contextmanager
def fresh_postgres_database() -> Iterator[str]:
    """Create an empty database on the PostgreSQL server; yield its SQLAlchemy URL; drop it."""
    name = f"charter_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def landing_files_settle_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests write a landing file and ingest it at once: no settle period (subprocesses too).

    Tests of the settle period itself unset CHARTER_INGEST_SETTLE or set it again.
    """
    monkeypatch.setenv("CHARTER_INGEST_SETTLE", "0")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty metadata database: SQLite in tmp_path, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'state' / 'charter.db'}"
    else:
        with fresh_postgres_database() as url:
            yield url


@pytest.fixture
def workspace_dir(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace folder with one valid charter, ``credit-default``, on the chosen backend.

    The environment points the CLI at the same database, so CLI calls and the Python API agree.
    """
    root = tmp_path / "ws"
    write_scaffold(
        root / "charters",
        "credit-default",
        owner_name="Dana Ruiz",
        owner_email="dana.ruiz@bank.example",
    )
    monkeypatch.setenv("CHARTER_DATABASE_URL", database_url)
    monkeypatch.setenv("CHARTER_AUDIT_KEY_FILE", str(tmp_path / "keys" / "audit.key"))
    monkeypatch.setenv("CHARTER_ACTOR", "tester@example.com")
    return root


@pytest.fixture
def ws(workspace_dir: Path) -> Iterator[Workspace]:
    workspace = Workspace(workspace_dir, settings=Settings())
    yield workspace
    workspace.close()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@pytest.fixture
def cli(workspace_dir: Path) -> Any:
    """Run ``charter -w WORKSPACE ARGS...`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["-w", str(workspace_dir), *args])
        return CliResult(code, out.getvalue(), err.getvalue())

    return run
