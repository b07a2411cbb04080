"""Online prediction: durable before answered, by group commit into the batch prediction log.

Each charter has one :class:`CharterLog` per server process: a thread that takes the records of
every request waiting (up to ``batch_max_records``, after at most ``batch_wait_ms`` for more to
join; no wait for a request alone after a group of one), and runs them through ingestion's own :class:`~charter.plumbing.ingest_batch.Batch`:
validated against the data contract, scored, written as Parquet parts under a fresh batch id,
fsynced, and committed as one ``ingest_batches`` row with its ``batch.ingested`` ledger entry.
Only then is any request of the group answered. So windows, label joins, drift and verdicts see
online rows exactly like batch rows, and a record that broke a rule is in quarantine like a batch
row. When the files or the database cannot be written, every request of the group gets
:class:`~charter.errors.PredictionLogUnavailableError` (HTTP 503) and nothing was answered.

The answer is the live version's score (``acted_on: true``); with no live version, the newest
shadow version answers with ``acted_on: false``. While the charter is suspended (``charter
suspend``) the live version still answers and is logged, but with ``acted_on: false``,
``suspended: true`` and the charter's ``operations.fallback``. Only the answering version scores on the
request's path. Every other live/standby/shadow version scores the same rows after the answer,
in :mod:`.shadow`'s companion batch: it never changes the answer, and when it fails, it is left
out (and counted) while the answer stands.

The versions are re-read when the registry changes (a cheap count and newest status change of
the charter's versions, and of its suspensions) or the charter file does, checked at most every
``registry_poll_seconds``: a promotion or rollback takes effect without a restart.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import sqlalchemy as sa

from charter.errors import CharterError, LifecycleError, PredictionLogUnavailableError
from charter.plumbing import predictions as log
from charter.plumbing.ingest_batch import Batch, KeyMemory, RunState
from charter.plumbing.ingest_report import IngestReport
from charter.plumbing.lake import lake_for
from charter.server.answers import OnlineScorer, Outcome, answers, merged
from charter.server.records import records_frame
from charter.server.shadow import ShadowJob, ShadowWriter
from charter.settings import ServerSettings
from charter.spec.loader import LoadedCharter
from charter.store.tables import CharterSuspension, ModelVersion
from charter.workspace import Workspace

_log = logging.getLogger("charter.server")
_Job = tuple[list[dict[str, Any]], "Future[Outcome]"]


class CharterLog:
    """The group-commit writer of one charter's online predictions (one thread)."""

    def __init__(
        self,
        ws: Workspace,
        name: str,
        settings: ServerSettings,
        on_batch: Callable[[str, OnlineScorer, Outcome, int], None] | None = None,
        shadow: ShadowWriter | None = None,
    ) -> None:
        self.ws, self.name, self.settings, self.on_batch = ws, name, settings, on_batch
        self.shadow = shadow
        self.lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._wake = threading.Condition()
        self._stopped = False
        self._signature: tuple[Any, ...] | None = None
        self._checked = 0.0
        self.run: RunState | None = None
        self._thread = threading.Thread(target=self._loop, name=f"charter-log-{name}", daemon=True)
        self._thread.start()

    # -- the versions -----------------------------------------------------------------------
    def current(self) -> RunState:
        """The run state, rebuilt when the registry or the charter file changed (call under lock)."""
        now = time.monotonic()
        if self.run is not None and now - self._checked < self.settings.registry_poll_seconds:
            return self.run
        self._checked = now
        try:
            loaded = self.ws.load(self.name)
        except CharterError:
            if self.run is None:
                raise
            return self.run  # a charter file broken mid-edit: keep serving by the last good one
        signature = (loaded.sha256, *self._registry_signature())
        if self.run is None or signature != self._signature:
            keys = self.run.keys if self.run else KeyMemory(self.ws, self.name)
            mark = self.run.watermark if self.run else log.watermark(self.ws, self.name)
            scorer = OnlineScorer(self.ws, self.name, loaded)
            report = IngestReport(self.name, scored_by=scorer.versions())
            self.run = RunState(self.ws, loaded, report, scorer, keys, mark)
            self._signature = signature
        return self.run

    def recent(self) -> LoadedCharter | None:
        """The charter as last read, while that is more recent than ``registry_poll_seconds``.

        Read without the lock (one reference), so a request does not wait for the group being
        written: the route checks a record's fields by the terms the writer serves by, as fresh
        as its own poll. None when it is older (the caller reads the charter itself).
        """
        run, checked = self.run, self._checked
        if run is None or time.monotonic() - checked >= self.settings.registry_poll_seconds:
            return None
        return run.loaded

    def scorer(self) -> OnlineScorer:
        with self.lock:
            scorer = self.current().scorer
        assert isinstance(scorer, OnlineScorer)
        return scorer

    def _registry_signature(self) -> tuple[Any, ...]:
        with self.ws.db.read() as session:
            row = session.execute(
                sa.select(
                    sa.func.count(ModelVersion.id),
                    sa.func.max(ModelVersion.status_changed_at),
                ).where(ModelVersion.charter == self.name)
            ).one()
            stops = session.execute(  # a suspend or resume changes what is acted on
                sa.select(
                    sa.func.count(CharterSuspension.id), sa.func.count(CharterSuspension.resumed_at)
                ).where(CharterSuspension.charter == self.name)
            ).one()
        return (*row, *stops)

    # -- submitting -------------------------------------------------------------------------
    def submit(self, records: list[dict[str, Any]]) -> Future[Outcome]:
        done: Future[Outcome] = Future()
        with self._wake:
            if self._stopped:
                done.set_exception(PredictionLogUnavailableError("the server is shutting down"))
                return done
            self._jobs.append((records, done))
            self._wake.notify()
        return done

    def stop(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        self._thread.join(timeout=30)
        if self.shadow is not None:
            self.shadow.stop()

    def _loop(self) -> None:
        crowded = False  # did the last group commit carry more than one request?
        while True:
            with self._wake:
                while not self._jobs and not self._stopped:
                    self._wake.wait()
                if not self._jobs and self._stopped:
                    return
                alone = len(self._jobs) == 1
            if crowded or not alone:  # concurrent traffic: let the others join this group
                time.sleep(self.settings.batch_wait_ms / 1000)
            # A request alone after a group of one (sequential traffic) is written at once:
            # waiting would only add to its latency. Requests that arrive while a group is
            # being written wait for the next one, so concurrency still makes groups.
            with self._wake:
                group: list[_Job] = []
                size = 0
                limit = self.settings.batch_max_records
                while self._jobs and (not group or size + len(self._jobs[0][0]) <= limit):
                    job = self._jobs.pop(0)
                    group.append(job)
                    size += len(job[0])
            crowded = len(group) > 1
            self._commit(group)

    # -- one group commit ---------------------------------------------------------------------
    def _commit(self, group: list[_Job]) -> None:
        try:
            with self.lock:
                outcomes = self._write([records for records, _ in group])
        except CharterError as exc:  # the store is down (exit code 3), or the model failed
            failure = _unavailable(exc) if exc.exit_code == 3 else exc
            for _, done in group:
                done.set_exception(failure)
            return
        except Exception as exc:  # disk full, permission denied, a broken Parquet writer
            for _, done in group:
                done.set_exception(_unavailable(exc))
            return
        for (_, done), outcome in zip(group, outcomes, strict=True):
            done.set_result(outcome)

    def _write(self, requests: list[list[dict[str, Any]]]) -> list[Outcome]:
        run = self.current()
        scorer = run.scorer
        assert isinstance(scorer, OnlineScorer)
        if scorer.answering is None:
            raise LifecycleError(
                f"{self.name} has no live or shadow version to answer with",
                hint=f"Register one and put it in shadow: `charter shadow {self.name} VERSION`.",
            )
        flat = [record for records in requests for record in records]
        frame = records_frame(flat, run.loaded.charter.data)
        batch_id = secrets.token_hex(16)
        run.report = IngestReport(self.name)  # one batch's summary, not a growing history
        batch = Batch(run, batch_id, kind="online", label="online", fingerprint=batch_id)
        try:
            batch.process([frame])
            batch.finish_outputs()
            batch.commit()
        except BaseException:
            batch.abort()
            _remove(self.ws, batch)
            raise
        batch.committed()
        files = tuple(key for key, _ in batch.outputs.get("predictions", []))
        if files and self.shadow is not None:
            contract = run.loaded.charter.data
            self.shadow.submit(ShadowJob(batch_id, files, scorer.others, contract))
        outcomes = answers(self.ws, batch, scorer, [len(r) for r in requests], flat)
        if self.on_batch is not None:
            try:  # the batch is committed: counting it must not turn the answers into errors
                self.on_batch(self.name, scorer, merged(outcomes), batch.summary.rows_quarantined)
            except Exception:
                _log.exception("counting online batch %s of %s failed", batch_id, self.name)
        return outcomes


class OnlineLog:
    """Every charter's :class:`CharterLog` of this server process, started on first use."""

    def __init__(
        self,
        ws: Workspace,
        settings: ServerSettings,
        on_batch: Callable[[str, OnlineScorer, Outcome, int], None] | None = None,
        on_shadow_failure: Callable[[str, int, str], None] | None = None,
    ) -> None:
        self.ws, self.settings, self.on_batch = ws, settings, on_batch
        self.on_shadow_failure = on_shadow_failure
        self._logs: dict[str, CharterLog] = {}
        self._lock = threading.Lock()

    def known(self, name: str) -> CharterLog | None:
        """The writer of ``name`` if this process started one (never starts one)."""
        with self._lock:
            return self._logs.get(name)

    def of(self, name: str) -> CharterLog:
        with self._lock:
            if name not in self._logs:
                shadow = ShadowWriter(self.ws, name, self.on_shadow_failure)
                self._logs[name] = CharterLog(
                    self.ws, name, self.settings, self.on_batch, shadow=shadow
                )
            return self._logs[name]

    def drain(self) -> None:
        """Wait for the off-path shadow scoring of every answered batch (tests)."""
        with self._lock:
            logs = list(self._logs.values())
        for charter_log in logs:
            if charter_log.shadow is not None:
                charter_log.shadow.drain()

    def stop(self) -> None:
        with self._lock:
            logs, self._logs = list(self._logs.values()), {}
        for charter_log in logs:
            charter_log.stop()


def _remove(ws: Workspace, batch: Batch) -> None:
    """Files put in place for a batch whose commit failed: no committed batch names them."""
    lake = lake_for(ws)
    for files in batch.outputs.values():
        for key, _ in files:
            lake.remove(key)


def _unavailable(exc: BaseException) -> PredictionLogUnavailableError:
    if isinstance(exc, PredictionLogUnavailableError):
        return exc
    error = PredictionLogUnavailableError(
        f"the prediction log cannot be written: {getattr(exc, 'message', exc)}; nothing was "
        "answered or logged",
        hint="Retry after the Retry-After seconds; the operator sees this in /readyz and logs.",
    )
    error.__cause__ = exc
    return error
