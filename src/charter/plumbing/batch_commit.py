"""The batch-commit protocol: how every batch becomes real exactly once, and only once.

Ingestion, quarantine replay, rescoring and label deliveries all turn a source (a landing file,
a cursor range, a set of quarantined rows, a label delivery) into a *batch*: Parquet files plus
one database record. They all follow these steps, and this module holds the shared parts:

1. **One run at a time** (:func:`one_run_at_a_time`). A run holds the lock file
   ``.charter/locks/<log>-<charter>.lock`` from before it reads what is committed until after
   its last commit, so what it judged against (the keys already logged, the labels already
   known) is still true when it commits. The ingest, replay and rescore runs of a charter share
   the ``ingest`` lock (they share the prediction log and its keys); label runs take ``labels``.
   A run that finds the lock taken waits up to ``wait`` seconds (0: it refuses at once), then
   raises a :class:`~charter.errors.CharterError` saying another run is in progress; it has
   recorded nothing.
2. **Files first.** The batch's files are written under its deterministic batch id to temporary
   names, fsynced and renamed into place. No reader trusts a file until its batch is committed,
   so a process killed here leaves files that the re-run overwrites under the same id.
3. **One serialised transaction** (:func:`commit`). It takes the log's writer lock in the
   database (:meth:`~charter.store.database.Database.serialize`: an advisory lock on PostgreSQL;
   ``BEGIN IMMEDIATE`` already serialises SQLite), then *re-checks* whether the source is already
   committed. If it is (a writer that does not share this run's lock file, e.g. another
   workspace folder on the same PostgreSQL store, got there first), :func:`commit` returns
   False having written nothing, and the caller reports the source as already done. Otherwise
   the batch record, the source's checkpoint and the ledger entries are written together.

Killed before step 3 commits, nothing is recorded; killed after, the checkpoint says the source
is done. Every other write of a log's checkpoints (a file that failed, a cursor touched) goes
through :func:`serialised` so it queues behind the same database lock.

Test hooks (read from the environment, no effect when unset):

- ``CHARTER_TEST_CRASH_AT=<point>[:<n>]`` exits like ``kill -9`` (``os._exit(137)``) the n-th
  time the process reaches ``point``: ``after_outputs`` (files in place, nothing committed),
  ``before_commit`` (records written, transaction open) or ``after_commit``;
- ``CHARTER_TEST_BARRIER=<point>:<parties>:<folder>`` makes the process, the first time it
  reaches ``point``, leave a file in ``folder`` and wait until ``parties`` files are there: a
  barrier across processes, so that the concurrency tests race exactly where they mean to.
  Besides the points above, ``run_lock_busy`` is reached when a run finds the lock taken and
  is about to wait for it.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from charter.workspace import Workspace

__all__ = [
    "BARRIER_ENV",
    "CRASH_ENV",
    "INGEST_LOG",
    "LABEL_LOG",
    "commit",
    "one_run_at_a_time",
    "reached",
    "serialised",
]

INGEST_LOG = "ingest"  # the prediction log and its quarantine: ingest, replay, rescore
LABEL_LOG = "labels"  # the label log
CRASH_ENV = "CHARTER_TEST_CRASH_AT"
BARRIER_ENV = "CHARTER_TEST_BARRIER"
_BARRIER_GIVE_UP_SECONDS = 300.0  # a test that never releases its barrier does not hang forever
_crash_counts: dict[str, int] = {}
_barriers_passed: set[str] = set()


# -- 1. one run at a time -----------------------------------------------------------------------
@contextlib.contextmanager
def one_run_at_a_time(
    ws: Workspace, log: str, charter: str, *, wait: float, busy: str, hint: str
) -> Iterator[None]:
    """Hold the run lock of ``log`` for ``charter`` for the block, waiting up to ``wait``
    seconds for a run in progress; raise ``CharterError(busy)`` if it does not end in time."""
    with ws.exclusive(
        f"{log}-{charter}",
        busy=busy,
        hint=hint,
        wait=wait,
        on_wait=lambda: reached("run_lock_busy"),
    ):
        yield


# -- 3. the serialised transaction ----------------------------------------------------------------
@contextlib.contextmanager
def serialised(ws: Workspace, log: str, charter: str) -> Iterator[Session]:
    """A write transaction that holds the database writer lock of ``log`` for ``charter``."""
    with ws.db.session() as session:
        ws.db.serialize(session, f"{log}:{charter}")
        yield session


def commit(
    ws: Workspace,
    log: str,
    charter: str,
    *,
    committed: Callable[[Session], bool],
    record: Callable[[Session], None],
) -> bool:
    """Commit one batch whose files are in place: True if this call recorded it, False if
    ``committed`` found, under the writer lock, that the source is already committed.

    ``record`` adds the batch record, the checkpoint and the ledger entries to the session.
    """
    reached("after_outputs")
    try:
        with serialised(ws, log, charter) as session:
            if committed(session):
                return False
            record(session)
            session.flush()
            reached("before_commit")
    except sa.exc.IntegrityError:
        # A writer that skipped the writer lock (an older charter) recorded it first.
        with ws.db.read() as session:
            if committed(session):
                return False
        raise
    reached("after_commit")
    return True


# -- test hooks -----------------------------------------------------------------------------------
def reached(point: str) -> None:
    """A named point of the protocol: where the crash and barrier test hooks act."""
    _crash(point)
    _barrier(point)


def _crash(point: str) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition(":")
    if name != point:
        return
    _crash_counts[point] = _crash_counts.get(point, 0) + 1
    if _crash_counts[point] == int(nth or 1):
        os._exit(137)


def _barrier(point: str) -> None:
    wanted = os.environ.get(BARRIER_ENV)
    if not wanted or point in _barriers_passed:
        return
    name, parties, folder = wanted.split(":", 2)
    if name != point:
        return
    _barriers_passed.add(point)
    arrivals = Path(folder)
    arrivals.mkdir(parents=True, exist_ok=True)
    (arrivals / f"{point}-{os.getpid()}").touch()
    give_up = time.monotonic() + _BARRIER_GIVE_UP_SECONDS
    while len(list(arrivals.iterdir())) < int(parties) and time.monotonic() < give_up:
        time.sleep(0.02)
