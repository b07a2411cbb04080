"""Shared fixtures: workspaces on SQLite and on the real PostgreSQL server, and the CLI runner.

Store, registry and ledger tests take ``database_url``, parametrised over both backends. Each
PostgreSQL test gets a fresh, empty schema of its own (``search_path`` in the URL) inside one database
made for the test session, dropped afterwards: creating and dropping a database per test cost
seconds each on a loaded machine, a schema costs milliseconds. The URLs also turn off
``synchronous_commit`` for the session, which only matters if the server itself crashes. Set
CHARTER_TEST_POSTGRES_URL to point at another server; set CHARTER_TEST_SKIP_POSTGRES=1 to run SQLite
only.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
import sqlalchemy as sa

from charter.cli.main import main
from charter.settings import Settings
from charter.spec.scaffold import write_scaffold
from charter.store import migrate
from charter.workspace import Workspace

POSTGRES_ADMIN_URL = os.environ.get(
    "CHARTER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite"] if os.environ.get("CHARTER_TEST_SKIP_POSTGRES") else ["sqlite", "postgres"]


def _sqlalchemy_url(admin_url: str, database: str) -> str:
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{database}"


_SESSION_DATABASE: list[str] = []


def _shared_database() -> str:
    """The one database this test session's PostgreSQL tests use, created on first use."""
    if not _SESSION_DATABASE:
        name = f"charter_tests_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        _SESSION_DATABASE.append(name)
    return _SESSION_DATABASE[0]


def pytest_sessionfinish(session: pytest.Session) -> None:
    for name in _SESSION_DATABASE:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_TEMPLATE_SCHEMA = "charter_template_schema"
_TEMPLATES: dict[str, Any] = {}


def _sqlite_template() -> Path:
    """A SQLite file migrated to the newest schema, made once per session."""
    if "sqlite" not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="charter-template-"))
        path = folder / "charter.db"
        engine = sa.create_engine(f"sqlite:///{path}")
        with engine.begin() as conn:
            migrate.upgrade(conn)
        engine.dispose()
        _TEMPLATES["sqlite"] = path
    path = _TEMPLATES["sqlite"]
    assert isinstance(path, Path)
    return path


def _postgres_template_sql() -> str:
    """SQL that rebuilds a migrated schema (tables and rows) inside the current ``search_path``.

    Made once per session: the schema is migrated by Alembic, dumped with ``pg_dump`` and the
    schema's name is taken out, so that replaying the script in a new schema costs a few
    milliseconds.
    """
    if "postgres" not in _TEMPLATES:
        database = _shared_database()
        admin = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{_TEMPLATE_SCHEMA}"')
        options = quote(f"-csearch_path={_TEMPLATE_SCHEMA}")
        engine = sa.create_engine(
            f"{_sqlalchemy_url(POSTGRES_ADMIN_URL, database)}?options={options}"
        )
        with engine.begin() as conn:
            migrate.upgrade(conn)
        engine.dispose()
        dumped = subprocess.run(
            [
                "pg_dump",
                "--no-owner",
                "--no-privileges",
                "--inserts",
                "-n",
                _TEMPLATE_SCHEMA,
                admin,
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        lines = [
            line
            for line in dumped.splitlines()
            if not line.startswith(("CREATE SCHEMA", "SELECT pg_catalog.set_config('search_path'"))
            and not line.startswith("\\")  # psql meta-commands (\restrict in newer pg_dump)
        ]
        _TEMPLATES["postgres"] = "\n".join(lines).replace(f"{_TEMPLATE_SCHEMA}.", "")
    sql = _TEMPLATES["postgres"]
    assert isinstance(sql, str)
    return sql


@contextlib.contextmanager
def fresh_postgres_database(*, migrated: bool = False) -> Iterator[str]:
    """A PostgreSQL schema of its own; yields a SQLAlchemy URL that uses it; drops it after.

    ``migrated`` fills it from the session's template (the newest schema); otherwise it is empty.

    Tests run one at a time, so when the test is done every other connection to the session's
    database is this test's leftover (a pool, a killed child's session) and is closed before the
    schema is dropped, as ``DROP DATABASE ... WITH (FORCE)`` did.
    """
    database = _shared_database()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"
    template = _postgres_template_sql() if migrated else ""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        if template:
            conn.execute(f'SET search_path TO "{schema}"')
            conn.execute(template.encode())
    options = quote(f"-csearch_path={schema} -csynchronous_commit=off")
    try:
        yield f"{_sqlalchemy_url(POSTGRES_ADMIN_URL, database)}?options={options}"
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = %s AND pid <> pg_backend_pid()",
                (database,),
            )
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(autouse=True)
def landing_files_settle_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests write a landing file and ingest it at once: no settle period (subprocesses too).

    Tests of the settle period itself unset CHARTER_INGEST_SETTLE or set it again.
    """
    monkeypatch.setenv("CHARTER_INGEST_SETTLE", "0")


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh metadata database of the test's own: SQLite in tmp_path, or a PostgreSQL schema.

    It is already migrated to the newest schema, copied from a template migrated once per
    session (migrating costs a tenth of a second or more per test). Tests of migrations
    themselves ask for an empty database with ``@pytest.mark.empty_database``.
    """
    migrated = request.node.get_closest_marker("empty_database") is None
    if request.param == "sqlite":
        path = tmp_path / "state" / "charter.db"
        if migrated:
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(_sqlite_template(), path)
        yield f"sqlite:///{path}"
    else:
        with fresh_postgres_database(migrated=migrated) as url:
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
