"""Shadow and standby scoring of online batches, after the answer was sent.

The answering batch of :mod:`.online` logs only the answering version. Once it is committed (and
its requests answered), its rows are queued here: one thread per charter reads them back from the
committed Parquet, scores every other live/standby/shadow version on the logged inputs, and
commits the scores as a *companion* batch ``<batch id>-s``: same ``prediction_id`` per row, so
traces, label joins, windows and the gate's shadow-batch count see them like any scored row.
The companion counts no input rows (``rows_in`` 0): the rows were counted once, in the answering
batch. A version that fails is left out, counted and logged; the others are still written.
A process that dies between the two commits loses only the shadow scores of that batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import polars as pl

from charter.errors import CharterError
from charter.plumbing import predictions as log
from charter.plumbing.lake import lake_for
from charter.plumbing.scoring import Scorer
from charter.spec.model import DataContract
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

_log = logging.getLogger("charter.server")
COMPANION = log.COMPANION
KIND = "online_shadow"


@dataclass(frozen=True)
class ShadowJob:
    batch_id: str
    files: tuple[str, ...]  # the answering batch's keys in the lake
    models: tuple[tuple[int, str], ...]
    contract: DataContract


class ShadowWriter:
    """The off-path scorer of one charter (one thread, one queue, models loaded once)."""

    def __init__(
        self, ws: Workspace, name: str, on_failure: Callable[[str, int, str], None] | None = None
    ) -> None:
        self.ws, self.name, self.on_failure = ws, name, on_failure
        self._jobs: queue.Queue[ShadowJob | None] = queue.Queue()
        self._scorers: dict[str, Scorer] = {}
        self._thread = threading.Thread(target=self._loop, name=f"charter-shadow-{name}")
        self._thread.daemon = True
        self._thread.start()

    def submit(self, job: ShadowJob) -> None:
        if job.models:
            self._jobs.put(job)

    def drain(self) -> None:
        """Wait until every queued job is written (tests, and shutdown)."""
        self._jobs.join()

    def stop(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self._write(job)
            except Exception:  # never let one batch stop the shadows of the next ones
                _log.exception(
                    "shadow scoring of %s batch %s failed", self.name, job and job.batch_id
                )
            finally:
                self._jobs.task_done()

    def _scorer(self, contract: DataContract) -> Scorer:
        key = contract.model_dump_json()
        if key not in self._scorers:  # keeps its loaded models while the contract is the same
            classes = self.ws.load(self.name).charter.classes()  # multiclass: a matrix each
            self._scorers = {key: Scorer(self.ws, self.name, contract, classes)}
        return self._scorers[key]

    def _write(self, job: ShadowJob) -> None:
        logged = lake_for(self.ws).scan_all(job.files).collect()
        if "inputs" not in logged.columns or logged.height == 0:
            return
        inputs = logged.get_column("inputs").struct.unnest()
        scorer = self._scorer(job.contract)
        parts, scored_by = [], []
        for version, status in job.models:
            scorer.models = [(version, status)]
            try:
                (scores,) = scorer.score(inputs, f"online batch {job.batch_id}")
            except CharterError as exc:
                _log.warning("%s version %s failed on online batch: %s", self.name, version, exc)
                if self.on_failure is not None:
                    self.on_failure(self.name, version, exc.message)
                continue
            failed = scores.failed.astype(bool)
            if failed.any():  # isolated by the scorer: the version fails alone, on those rows
                _log.warning(
                    "%s version %s failed on %d row(s) of online batch %s: %s",
                    self.name,
                    version,
                    int(failed.sum()),
                    job.batch_id,
                    scores.first_error(),
                )
                if self.on_failure is not None:
                    self.on_failure(self.name, version, scores.first_error())
                if failed.all():
                    continue
            kept = pl.Series("kept", ~failed)
            parts.append(
                logged.with_columns(
                    pl.lit(str(version), pl.String).alias("model_version"),
                    pl.lit(status, pl.String).alias("model_status"),
                    pl.Series("score", scores.values).cast(pl.Float64),
                    pl.lit(False).alias("acted_on"),  # scored off the path: never acted on
                ).filter(kept)
            )
            scored_by.append({"version": str(version), "status": status})
        if parts:
            self._commit(job, pl.concat(parts), scored_by)

    def _commit(self, job: ShadowJob, rows: pl.DataFrame, scored_by: list[dict[str, str]]) -> None:
        companion = f"{job.batch_id}{COMPANION}"
        lake = lake_for(self.ws)
        writer = log.PartWriter(lake, log.predictions_dir(self.name), companion)
        writer.write(rows)
        paths = writer.finish()
        # rows_in and rows_scored stay 0 (the rows were counted in the answering batch); the gate
        # reads shadow_rows to know this batch scored rows for its shadow versions.
        details = {"scored_by": scored_by, "companion_of": job.batch_id, "shadow_rows": rows.height}
        try:
            with self.ws.db.session() as session:
                session.add(
                    IngestBatch(
                        batch_id=companion,
                        charter=self.name,
                        source_kind=KIND,
                        source="online",
                        fingerprint=job.batch_id,
                        rows_in=0,
                        rows_scored=0,
                        rows_quarantined=0,
                        rows_late=0,
                        predictions_path="\n".join(p for p, _ in paths),
                        predictions_sha256=paths[0][1] if len(paths) == 1 else None,
                        details=details,
                        ingested_at=datetime.now(UTC),
                        key_run="",  # its keys are the answering batch's, indexed with it
                    )
                )
                entry = {
                    "batch_id": companion,
                    "companion_of": job.batch_id,
                    "rows": rows.height,
                    "scored_by": scored_by,
                    "predictions": [{"path": p, "sha256": d} for p, d in paths],
                }
                self.ws.ledger.append(
                    session,
                    "batch.shadow_scored",
                    entry,
                    actor=self.ws.context.who,
                    charter=self.name,
                )
        except Exception:
            for key, _ in paths:
                lake.remove(key)
            raise
