"""The scheduler lock: at most one ``charter run`` per store (:mod:`charter.scheduling.locks`).

Two schedulers on one store would ingest, monitor, retrain and roll back side by side: every step
is safe to repeat, but alerts would double, retraining would race and an automatic rollback could
be decided twice. So ``charter run`` (and ``charter run --once``) holds a lock for its whole life:

- **PostgreSQL**: a session-level advisory lock (``pg_try_advisory_lock``) held on a dedicated
  connection. The server releases it when that connection ends, so a scheduler that is killed
  outright cannot leave it behind. The connection's ``application_name`` says who holds it
  (``charter run pid=… host=…``), so a refused scheduler can name the holder.
- **SQLite**: an OS file lock (``flock`` through ``filelock``) on ``<database>.scheduler.lock``
  next to the database file, released by the OS when the process dies; the holder's pid, host
  and start time are written beside it in ``<database>.scheduler.json``.

The lock guards the *store*: two workspaces sharing one PostgreSQL database share one scheduler.
"""

from __future__ import annotations

import json
import os
import socket
import zlib
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import filelock
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from charter.errors import SchedulerLockError
from charter.store.database import redact_url

# Two 31-bit keys (the two-argument advisory lock form), so pg_locks can be searched for them.
_PG_KEYS = (zlib.crc32(b"charter") & 0x7FFFFFFF, zlib.crc32(b"charter:scheduler") & 0x7FFFFFFF)
_HOLDER = """
SELECT a.application_name, a.client_addr, a.backend_start, a.pid
FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :k1 AND l.objid = :k2
  AND l.objsubid = 2 AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
"""


def holder_identity() -> dict[str, Any]:
    """Who this process is, as written into the lock for a refused scheduler to read."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


class StoreLock:
    """Held by one scheduler per store (the database at ``url``); use as a context manager."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = make_url(self.url).get_backend_name()
        self._file: filelock.FileLock | None = None
        self._info: Path | None = None
        self._engine: Engine | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- acquiring ----------------------------------------------------------------------------
    def acquire(self) -> None:
        """Take the lock now or raise :class:`SchedulerLockError` naming the holder."""
        if self.dialect == "postgresql":
            self._acquire_postgres()
        else:
            self._acquire_file()

    def _acquire_file(self) -> None:
        database = make_url(self.url).database
        if not database or database == ":memory:":
            return  # an in-memory database belongs to this process alone
        base = Path(database)
        base.parent.mkdir(parents=True, exist_ok=True)
        lock = filelock.FileLock(f"{base}.scheduler.lock")
        info = Path(f"{base}.scheduler.json")
        try:
            lock.acquire(timeout=0)
        except filelock.Timeout:
            raise self._refusal(_read_holder(info)) from None
        self._file, self._info = lock, info
        info.write_text(json.dumps(holder_identity()))

    def _acquire_postgres(self) -> None:
        me = holder_identity()
        name = f"charter run pid={me['pid']} host={me['host']}"[:63]
        self._engine = sa.create_engine(
            self.url,
            poolclass=NullPool,
            isolation_level="AUTOCOMMIT",
            connect_args={"application_name": name, "connect_timeout": 10},
        )
        try:
            conn = self._engine.connect()
            got = conn.execute(
                sa.text("SELECT pg_try_advisory_lock(:k1, :k2)"),
                {"k1": _PG_KEYS[0], "k2": _PG_KEYS[1]},
            ).scalar()
        except SQLAlchemyError as exc:
            self._engine.dispose()
            raise SchedulerLockError(
                f"cannot take the scheduler lock on {redact_url(self.url)}: {_first_line(exc)}"
            ) from exc
        if not got:
            holder = _postgres_holder(conn)
            conn.close()
            self._engine.dispose()
            raise self._refusal(holder)
        self._conn = conn

    def _refusal(self, holder: str | None) -> SchedulerLockError:
        who = f": {holder}" if holder else ""
        return SchedulerLockError(
            f"another `charter run` is already running against {redact_url(self.url)}{who}",
            hint="Only one scheduler may run per store. Stop it first (it exits cleanly on "
            "SIGTERM), or let its `--once` pass finish.",
        )

    # -- while held ---------------------------------------------------------------------------
    def check(self) -> None:
        """Raise :class:`SchedulerLockError` if the lock was lost (its connection dropped)."""
        if self._conn is None:
            return
        try:
            held = self._conn.execute(
                sa.text(
                    "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND "
                    "locktype = 'advisory' AND classid = :k1 AND objid = :k2 AND objsubid = 2"
                ),
                {"k1": _PG_KEYS[0], "k2": _PG_KEYS[1]},
            ).scalar()
        except SQLAlchemyError as exc:
            raise SchedulerLockError(
                f"the scheduler lock's connection to {redact_url(self.url)} was lost: "
                f"{_first_line(exc)}",
                hint="Another scheduler may have started since; this one stops.",
            ) from exc
        if not held:
            raise SchedulerLockError(f"the scheduler lock on {redact_url(self.url)} was lost")

    def release(self) -> None:
        """Give the lock up; safe to call twice and after the connection was lost."""
        if self._conn is not None:
            try:
                self._conn.execute(
                    sa.text("SELECT pg_advisory_unlock(:k1, :k2)"),
                    {"k1": _PG_KEYS[0], "k2": _PG_KEYS[1]},
                )
            except SQLAlchemyError:
                pass  # the server ends the lock with the connection anyway
            finally:
                self._conn.close()
                self._conn = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
        if self._file is not None:
            if self._info is not None:
                self._info.unlink(missing_ok=True)
            self._file.release()
            self._file = None


def _read_holder(info: Path) -> str | None:
    try:
        body = json.loads(info.read_text())
    except (OSError, ValueError):
        return None
    return f"pid {body.get('pid')} on host {body.get('host')}, since {body.get('started_at')}"


def _postgres_holder(conn: Connection) -> str | None:
    try:
        row = conn.execute(sa.text(_HOLDER), {"k1": _PG_KEYS[0], "k2": _PG_KEYS[1]}).first()
    except SQLAlchemyError:
        return None
    if row is None:
        return None
    name, addr, since, backend = row
    who = name if name and name.startswith("charter run") else f"server process {backend}"
    where = f" from {addr}" if addr else ""
    started = f", since {since.isoformat(timespec='seconds')}" if since else ""
    return f"{who}{where}{started}"


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__
