"""The scheduler lock: at most one ``charter run`` per store, held for the run's whole life.

The lock itself (a PostgreSQL session-level advisory lock on a dedicated connection, or an OS file
lock beside a SQLite database) is :class:`charter.store.scheduler_lock.StoreLock`; its module
doc says how each is held, released and who holds it.
"""

from __future__ import annotations

from charter.store.scheduler_lock import StoreLock, holder_identity
from charter.workspace import Workspace

__all__ = ["SchedulerLock", "holder_identity"]


class SchedulerLock(StoreLock):
    """Held by one scheduler per store (the workspace's database); use as a context manager.
    The lock itself (advisory lock or file lock) is :class:`charter.store.scheduler_lock.StoreLock`."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws.database_url)
        self.ws = ws

    def __enter__(self) -> SchedulerLock:
        self.acquire()
        return self
