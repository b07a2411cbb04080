"""``rescore``: score logged rows that no current version scored (rows logged with no model).

Rows ingested while a charter had no version are logged without a score and would stay that way.
:func:`rescore` takes every logged row (one per ``prediction_id``) that none of the current live,
standby and shadow versions scored, optionally only those ingested at or after ``since``, scores
them with those versions (a failing version fails alone, :mod:`.isolation`) and logs the scores
as one new batch of kind ``rescore`` through the batch-commit protocol (:mod:`.batch_commit`,
by :class:`~charter.plumbing.ingest_batch.Batch`): files first, then one transaction for the
batch record, its ``scoring_failures`` and its ledger entry.

Exactly once: the batch id is derived from the rows taken and the versions scoring them, so a
crash before the commit is done again under the same id, and after it the rows count as scored
(they are no longer taken). The new log rows keep each row's ``prediction_id``, key, event time
and inputs; rows no version could score are left for the next rescore.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

import numpy as np
import polars as pl

from charter.plumbing import predictions as log
from charter.plumbing.batch_commit import INGEST_LOG, one_run_at_a_time
from charter.plumbing.ingest_batch import Batch, KeyMemory, RunState, batch_id_for
from charter.plumbing.ingest_report import IngestReport
from charter.plumbing.isolation import VersionScores
from charter.plumbing.scoring import Scorer
from charter.workspace import Workspace

RESCORE_KIND = "rescore"


def rescore(ws: Workspace, name: str, *, since: datetime | None = None) -> IngestReport:
    """Score the logged rows no current version scored; return the batch it committed (if any)."""
    loaded = ws.load(name)
    name = loaded.charter.name
    with one_run_at_a_time(
        ws,
        INGEST_LOG,
        name,
        wait=0,
        busy=f"a `charter ingest {name}`, replay or rescore is running in this workspace",
        hint="Wait for it to finish; runs of one charter never overlap.",
    ):
        scorer = Scorer(ws, name, loaded.charter.data, loaded.charter.classes())
        report = IngestReport(name, scored_by=scorer.versions(), note=scorer.note())
        if scorer.external is not None or not scorer.models:
            report.note = report.note or "the rows carry their own prediction: nothing to rescore"
            return report
        todo = _unscored(ws, name, [str(v) for v, _ in scorer.models], since)
        if todo.height == 0:
            report.note = "every logged row is scored by a current version: nothing to rescore"
            return report
        versions = ",".join(f"{v}:{s}" for v, s in scorer.models)
        taken = hashlib.sha256(versions.encode())
        for prediction_id in todo.get_column("prediction_id").sort().to_list():
            taken.update(f"{prediction_id}\n".encode())
        batch_id = batch_id_for(name, RESCORE_KIND, taken.hexdigest())
        state = RunState(
            ws=ws,
            loaded=loaded,
            report=report,
            scorer=scorer,
            keys=KeyMemory(ws, name),
            watermark=log.watermark(ws, name),
        )
        label = f"rescore of {todo.height} logged row(s) no current version scored"
        batch = Batch(
            state, batch_id, kind=RESCORE_KIND, label=label, fingerprint=taken.hexdigest()
        )
        try:
            frame = _scored(todo, scorer.score(_inputs(todo), label), batch)
            batch.predictions.write(frame)
            scored = frame.get_column("prediction_id").n_unique() if frame.height else 0
            batch.summary.rows_in = batch.summary.rows_scored = scored
            batch.finish_outputs()
        except BaseException:
            batch.abort()
            raise
        if batch.commit():
            batch.committed()
        return report


def _unscored(ws: Workspace, name: str, current: list[str], since: datetime | None) -> pl.DataFrame:
    """One logged row per ``prediction_id`` that no version in ``current`` scored."""
    rows = log.read_predictions(ws, name)
    if since is not None:
        rows = rows.filter(pl.col("ingested_at") >= since)
    scored = rows.filter(pl.col("model_version").is_in(current)).select("prediction_id").unique()
    return (
        rows.join(scored, on="prediction_id", how="anti")
        .unique("prediction_id", keep="first", maintain_order=True)
        .collect()
    )


def _inputs(todo: pl.DataFrame) -> pl.DataFrame:
    """The rows' model inputs as columns (the log keeps them in the ``inputs`` struct)."""
    if "inputs" not in todo.columns:
        return pl.DataFrame(height=todo.height)
    return todo.select(pl.col("inputs").struct.unnest())


def _scored(todo: pl.DataFrame, scored: list[VersionScores], batch: Batch) -> pl.DataFrame:
    """The new log rows: each version's scores for the rows it could score."""
    for version in scored:
        batch.failures.add(version)
    columns = [c for c in (*log.LOG_COLUMNS, "inputs") if c in todo.columns]
    parts = []
    for v in scored:
        keep = ~v.failed
        if not np.any(keep):
            continue
        parts.append(
            todo.filter(pl.Series(keep))
            .select(columns)
            .with_columns(
                pl.lit(batch.batch_id).alias("batch_id"),
                pl.lit(v.version, pl.String).alias("model_version"),
                pl.lit(v.status, pl.String).alias("model_status"),
                pl.Series("score", v.values[keep]).cast(pl.Float64),
                pl.lit(False).alias("acted_on"),  # scored after the fact: never acted on
                pl.lit(batch.ingested_at, pl.Datetime("us", "UTC")).alias("ingested_at"),
            )
        )
    return pl.concat(parts, how="diagonal_relaxed") if parts else pl.DataFrame()
