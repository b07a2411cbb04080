"""Opening the metadata database, applying migrations, and handing out sessions.

SQLite is tuned for several processes sharing one file: WAL journal, a busy timeout, and
``BEGIN IMMEDIATE`` for write transactions so that two writers queue instead of failing when a
read lock would have to be upgraded. On PostgreSQL, writers that must be serialised (the audit
ledger) take a transaction-scoped advisory lock; see :meth:`Database.serialize`.
"""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import filelock
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from charter.errors import StoreUnavailableError
from charter.redaction import redact_text, redact_url

__all__ = ["Database", "redact_url"]

SQLITE_BUSY_TIMEOUT_MS = 60_000


class Database:
    """A migrated metadata database and its session factory."""

    def __init__(self, url: str, *, migrate: bool = True, artifacts: str | None = None) -> None:
        """Open ``url``; ``artifacts`` (the artifact store's root) is what a migration that
        re-keys artifacts needs to know."""
        self.url = url
        self.artifacts = artifacts
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreUnavailableError(
                f"database URL {redact_url(url)!r} is not a valid SQLAlchemy URL",
                hint="Set CHARTER_DATABASE_URL to e.g. sqlite:///path/charter.db or "
                "postgresql+psycopg://user@host:5432/dbname.",
            ) from exc
        self.dialect = parsed.get_backend_name()
        self.engine = self._create_engine(parsed)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        if migrate:
            self._migrate()

    # -- engine ---------------------------------------------------------------------------
    def _create_engine(self, parsed: sa.URL) -> Engine:
        kwargs: dict[str, Any] = {}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        elif self.dialect == "postgresql":
            kwargs["pool_pre_ping"] = True
            kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            engine = sa.create_engine(parsed, **kwargs)
        except (NoSuchModuleError, ImportError) as exc:
            raise StoreUnavailableError(
                f"no driver for database URL {redact_url(self.url)}: {redact_text(str(exc))}"
            ) from exc
        if self.dialect == "sqlite":
            _tune_sqlite(engine)
        return engine

    # -- migrations -----------------------------------------------------------------------
    def _migrate(self) -> None:
        from charter.store import migrate

        try:
            self._upgrade(migrate)
        except migrate.MigrationRefusedError as exc:
            raise StoreUnavailableError(
                str(exc), hint="Back up the database before correcting rows by hand."
            ) from exc

    def _upgrade(self, migrate: Any) -> None:
        try:
            with self._migration_lock(), self.engine.begin() as conn:
                if self.dialect == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key("migrate")}
                    )
                migrate.upgrade(conn, artifacts=self.artifacts)
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"cannot open the database at {redact_url(self.url)}: {_first_line(exc)}",
                hint="Check that the server is running and the URL (CHARTER_DATABASE_URL) is right.",
            ) from exc

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        database = make_url(self.url).database
        if self.dialect == "sqlite" and database and database != ":memory:":
            with filelock.FileLock(database + ".migrate.lock", timeout=120):
                yield
        else:
            yield

    # -- sessions -------------------------------------------------------------------------
    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        try:
            with self.session_factory() as session, session.begin():
                yield session
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"the database at {redact_url(self.url)} failed: {_first_line(exc)}"
            ) from exc

    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (on SQLite it does not take the write lock)."""
        engine = self.engine.execution_options(charter_read_only=True)
        try:
            with Session(engine, expire_on_commit=False) as session, session.begin():
                yield session
        except OperationalError as exc:
            raise StoreUnavailableError(
                f"the database at {redact_url(self.url)} failed: {_first_line(exc)}"
            ) from exc

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[Session]:
        """One consistent read of the whole store: REPEATABLE READ on PostgreSQL, one read
        transaction on SQLite (WAL readers see the database as of their first read). Writers that
        commit meanwhile are invisible."""
        options: dict[str, Any] = {"charter_read_only": True}
        if self.dialect == "postgresql":
            options["isolation_level"] = "REPEATABLE READ"
        engine = self.engine.execution_options(**options)
        with Session(engine, expire_on_commit=False) as session, session.begin():
            if self.dialect == "postgresql":
                session.execute(sa.text("SET TRANSACTION READ ONLY"))
            yield session

    def before_commit(self, hook: Callable[[Session], None]) -> None:
        """Call ``hook(session)`` at the end of every transaction of :meth:`session`, before it
        commits (the ledger signs its new head there)."""
        event.listen(self.session_factory, "before_commit", hook)

    def serialize(self, session: Session, name: str) -> None:
        """Make the rest of ``session``'s transaction exclusive among writers using ``name``.

        SQLite write transactions are already exclusive (``BEGIN IMMEDIATE``); PostgreSQL takes
        a transaction-scoped advisory lock released at commit or rollback.
        """
        if self.dialect == "postgresql":
            session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(name)})

    def dispose(self) -> None:
        self.engine.dispose()


def _lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for ``name``."""
    return zlib.crc32(f"charter:{name}".encode()) - 2**31


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return redact_text(text.splitlines()[0]) if text else type(orig).__name__


def _tune_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take over transaction control from pysqlite so we can choose BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = conn.get_execution_options().get("charter_read_only", False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
