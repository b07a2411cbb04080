"""The prediction log and the quarantine: Parquet files per batch, trusted only once committed.

Predictions are logged as Parquet, not database rows, because a batch can hold millions of rows and
must be ingested at close to the speed of reading it. Each batch writes
``<lake>/predictions/<charter>/<batch_id>.parquet`` (and ``<lake>/quarantine/<charter>/...`` for
rows that broke the contract), in the lake of :mod:`charter.plumbing.lake` (by default the
workspace's ``.charter`` folder). In a local lake the name is deterministic and the file is
written to a temporary name, fsynced and renamed, so a crashed attempt is simply overwritten by
the re-run; in an object store each attempt uploads its own names. A file counts only when its
batch record is committed (``ingest_batches``, which names its keys): every reader here goes
through that table and ignores any other file in the folder.

One log row per input row and model version::

    prediction_id  batch_id + "-" + the row's index in the batch (same for every version)
    batch_id       the batch the row arrived in
    key            the contract's key column, as text
    event_time     the contract's event time, in UTC (null when the charter declares none)
    model_version  "3", or "external" when the rows carried their prediction, or null (no model)
    model_status   live / shadow at scoring time; "external"; or null
    score          the model's output (probability of the positive class, or the value; for a
                   multiclass model the probability of its predicted class)
    class_scores   multiclass only: one probability per class, in the order of the charter's
                   ``labels.values`` (the predicted class is the most probable, the first on a tie)
    acted_on       the row's score was acted on: true for the live version, false for shadow and
                   standby versions and for every version while the charter is suspended, null
                   when no model scored the row or it carried its own ("external"); files
                   written before this column have none (read it as model_status == "live")
    late           event_time older than the watermark minus data.freshness.max_lateness
    ingested_at    when the batch was ingested
    inputs         a struct of the model's input columns, as validated (drift is computed from
                   them); a struct, so that an input named like a log column (a credit "score")
                   never clashes: ``pl.col("inputs").struct.unnest()`` gives them back by name

``(prediction_id, model_version)`` is unique.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from charter.engines.polars.timestamps import parse_datetimes
from charter.plumbing.lake import Lake, joined_keys, lake_for
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

LOG_SCHEMA: dict[str, pl.DataType] = {
    "prediction_id": pl.String(),
    "batch_id": pl.String(),
    "key": pl.String(),
    "event_time": pl.Datetime("us", "UTC"),
    "model_version": pl.String(),
    "model_status": pl.String(),
    "score": pl.Float64(),
    "acted_on": pl.Boolean(),
    "late": pl.Boolean(),
    "ingested_at": pl.Datetime("us", "UTC"),
}
LOG_COLUMNS = tuple(LOG_SCHEMA)
#: The batch id suffix of an online batch's companion: its shadow scores, logged off the path.
COMPANION = "-s"
_TMP_MARK = ".tmp-"
_HASH_BLOCK = 1 << 20


def predictions_dir(charter: str) -> str:
    """The key prefix of a charter's prediction log in the lake."""
    return f"predictions/{charter}"


def quarantine_dir(charter: str) -> str:
    """The key prefix of a charter's quarantine in the lake."""
    return f"quarantine/{charter}"


# -- building log rows --------------------------------------------------------------------------
@dataclass(frozen=True)
class Scores:
    """One model version's output for the rows of a chunk."""

    version: str
    status: str
    values: np.ndarray[Any, Any] | pl.Series


def utc_event_time(frame: pl.DataFrame, column: str | None) -> pl.Series:
    """The event time as ``Datetime(us, UTC)``: naive values are taken to be UTC already."""
    dtype = pl.Datetime("us", "UTC")
    if column is None or column not in frame.columns:
        return pl.Series("event_time", [None] * frame.height, dtype=dtype)
    values = frame[column]
    if values.dtype == pl.String:
        values = frame.select(parse_datetimes(pl.col(column))).to_series()
    elif values.dtype == pl.Date:
        values = values.cast(pl.Datetime("us"))
    if not isinstance(values.dtype, pl.Datetime):
        return pl.Series("event_time", [None] * frame.height, dtype=dtype)
    if values.dtype.time_zone is None:
        values = values.dt.replace_time_zone("UTC")
    return values.dt.convert_time_zone("UTC").dt.cast_time_unit("us").alias("event_time")


def log_rows(
    valid: pl.DataFrame,
    *,
    batch_id: str,
    key: str,
    event_time: pl.Series,
    late: pl.Series,
    features: Sequence[str],
    scores: Sequence[Scores],
    ingested_at: datetime,
    acting: bool = True,
) -> pl.DataFrame:
    """The log rows for the valid rows of a chunk (``_row`` holds each row's index in its batch).

    ``acting`` is False while the charter is suspended: the live version's rows are then logged
    as not acted on, like every other version's."""
    inputs = [name for name in features if name in valid.columns]
    base = valid.select(
        pl.concat_str(pl.lit(f"{batch_id}-"), pl.col("_row").cast(pl.String)).alias(
            "prediction_id"
        ),
        pl.lit(batch_id).alias("batch_id"),
        pl.col(key).cast(pl.String).alias("key"),
        event_time.alias("event_time"),
        pl.lit(None, pl.String).alias("model_version"),
        pl.lit(None, pl.String).alias("model_status"),
        pl.lit(None, pl.Float64).alias("score"),
        pl.lit(None, pl.Boolean).alias("acted_on"),
        late.alias("late"),
        pl.lit(ingested_at, pl.Datetime("us", "UTC")).alias("ingested_at"),
        *([pl.struct(inputs).alias("inputs")] if inputs else []),
    )
    if not scores:
        return base
    return pl.concat([base.with_columns(_score_columns(s, acting)) for s in scores])


def _score_columns(scores: Scores, acting: bool) -> list[pl.Expr | pl.Series]:
    columns: list[pl.Expr | pl.Series] = [
        pl.lit(scores.version, pl.String).alias("model_version"),
        pl.lit(scores.status, pl.String).alias("model_status"),
        pl.lit(_acted_on(scores.status, acting), pl.Boolean).alias("acted_on"),
    ]
    values = scores.values
    if isinstance(values, np.ndarray) and values.ndim == 2:  # multiclass probabilities
        scored = np.isfinite(values).all(axis=1)
        top = np.where(scored, np.max(np.where(scored[:, None], values, 0.0), axis=1), np.nan)
        matrix = pl.Series("class_scores", values).cast(pl.List(pl.Float64))
        nulls = pl.Series(~scored)
        columns.append(pl.Series("score", top).cast(pl.Float64).fill_nan(None))
        columns.append(pl.when(nulls).then(None).otherwise(matrix).alias("class_scores"))
        return columns
    columns.append(pl.Series("score", values).cast(pl.Float64))
    return columns


def _acted_on(status: str, acting: bool) -> bool | None:
    if status == "external":
        return None  # the rows carried a prediction made elsewhere: charter acted on nothing
    return status == "live" and acting


# -- writing ------------------------------------------------------------------------------------
class BatchFileWriter:
    """Streams chunks into one file of the lake, ``<folder>/<batch_id>.parquet``.

    In a local lake the file is written beside its final name, fsynced and renamed into place
    by ``finish``; in an object store it is spooled on this machine and uploaded by ``finish``
    under a name unique to this attempt (:mod:`charter.plumbing.lake`). Either way nothing
    appears under a final name before ``finish``, and ``finish`` returns the key and SHA-256.
    """

    def __init__(self, lake: Lake, folder: str, batch_id: str) -> None:
        self.lake, self.folder, self.batch_id = lake, folder, batch_id
        if lake.local:
            self.final = lake.local_path(f"{folder}/{batch_id}.parquet")
            self.temp = self.final.with_name(f"{batch_id}.parquet{_TMP_MARK}{os.getpid()}")
        else:
            self.temp = lake.spool_file(folder, f"{batch_id}.parquet")
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        table = frame.to_arrow()
        if self._writer is None:
            self.temp.parent.mkdir(parents=True, exist_ok=True)
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.temp, table.schema, compression="zstd")
        elif table.schema != self._schema:
            table = table.select(self._schema.names).cast(self._schema)  # type: ignore[union-attr]
        self._writer.write_table(table)
        self.rows += frame.height

    def finish(self) -> tuple[str, str] | None:
        """Put the file in place; its key and SHA-256, or None when no rows were written."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        if not self.lake.local:
            digest = sha256_file(self.temp)
            key = f"{self.folder}/{self.lake.attempt_name(self.batch_id)}"
            self.lake.upload(self.temp, key)
            return key, digest
        with self.temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        digest = sha256_file(self.temp)
        os.replace(self.temp, self.final)
        _fsync_dir(self.final.parent)
        return f"{self.folder}/{self.final.name}", digest

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self.temp.unlink(missing_ok=True)


class PartWriter:
    """Writes a batch's rows as Parquet, one file per chunk, by Polars' (parallel) writer.

    One chunk gives ``<batch_id>.parquet``; several give ``<batch_id>.part-00000.parquet``, ...
    In a local lake, parts are written under temporary names and renamed into place by
    :meth:`finish`, after removing any final file a crashed attempt left under this batch id (it
    was never committed). In an object store they are spooled here and uploaded by
    :meth:`finish` under names unique to this attempt (``<batch_id>.<attempt>.part-00000...``).
    """

    def __init__(self, lake: Lake, folder: str, batch_id: str) -> None:
        self.lake, self.key_folder, self.batch_id = lake, folder, batch_id
        self.folder = lake.local_path(folder) if lake.local else lake.spool / folder
        self.temps: list[Path] = []
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        temp = self.folder / f"{self.batch_id}.parquet{_TMP_MARK}{os.getpid()}.{len(self.temps)}"
        frame.write_parquet(temp)
        self.temps.append(temp)
        self.rows += frame.height

    def finish(self) -> list[tuple[str, str]]:
        """Put the parts in place; return each key with its SHA-256 (none: no rows)."""
        if not self.lake.local:
            return self._upload()
        self._remove_stale()
        if len(self.temps) == 1:
            finals = [self.folder / f"{self.batch_id}.parquet"]
        else:
            finals = [
                self.folder / f"{self.batch_id}.part-{n:05d}.parquet"
                for n in range(len(self.temps))
            ]
        done = []
        for temp, final in zip(self.temps, finals, strict=True):
            with temp.open("rb+") as handle:
                os.fsync(handle.fileno())
            digest = sha256_file(temp)
            os.replace(temp, final)
            done.append((f"{self.key_folder}/{final.name}", digest))
        if done:
            _fsync_dir(self.folder)
        self.temps = []
        return done

    def _remove_stale(self) -> None:
        """Remove the final files a crashed attempt at this batch id left (never committed).

        Parts are put in place in order and removed here from the last one down, so what an
        attempt left is always ``part-00000`` up to some n: probing names finds it without
        listing the folder, which holds every batch of the charter (one per online group
        commit) and would make each batch slower than the one before.
        """
        (self.folder / f"{self.batch_id}.parquet").unlink(missing_ok=True)
        parts: list[Path] = []
        while (part := self.folder / f"{self.batch_id}.part-{len(parts):05d}.parquet").exists():
            parts.append(part)
        for part in reversed(parts):
            part.unlink(missing_ok=True)

    def _upload(self) -> list[tuple[str, str]]:
        stem = self.lake.attempt_name(self.batch_id, "")
        done = []
        try:
            for n, temp in enumerate(self.temps):
                part = "" if len(self.temps) == 1 else f".part-{n:05d}"
                key = f"{self.key_folder}/{stem}{part}.parquet"
                digest = sha256_file(temp)
                self.lake.upload(temp, key)
                done.append((key, digest))
        finally:
            self.abort()
        return done

    def abort(self) -> None:
        for temp in self.temps:
            temp.unlink(missing_ok=True)
        self.temps = []


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_HASH_BLOCK):
            digest.update(block)
    return digest.hexdigest()


def remove_leftovers(ws: Workspace, charter: str) -> None:
    """Delete what crashed attempts left (call under the charter's ingest lock): temporary
    files of this machine and, in an object store, uploads no batch committed that are older
    than the grace period (:func:`charter.plumbing.lake_cleanup.clean`)."""
    lake = lake_for(ws)
    if not lake.local:
        from charter.plumbing.lake_cleanup import clean

        clean(ws, charter, grace=ws.settings.lake_grace)
        spooled = (
            predictions_dir(charter),
            quarantine_dir(charter),
            f"{quarantine_dir(charter)}/replays",
        )
        folders = [lake.spool / folder for folder in spooled]
    else:
        folders = [
            lake.local_path(predictions_dir(charter)),
            lake.local_path(quarantine_dir(charter)),
        ]
    for folder in folders:
        if folder.is_dir():
            for path in folder.glob(f"*{_TMP_MARK}*"):
                path.unlink(missing_ok=True)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a directory
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# -- reading (committed batches only) -----------------------------------------------------------
def committed_files(ws: Workspace, charter: str, *, kind: str = "predictions") -> list[str]:
    """The lake keys of committed batches' files, oldest first; ``kind`` is predictions or
    quarantine. A batch written in parts lists its files one per line in its path column."""
    column = IngestBatch.predictions_path if kind == "predictions" else IngestBatch.quarantine_path
    with ws.db.read() as session:
        rows = session.scalars(
            sa.select(column)
            .where(IngestBatch.charter == charter, column.is_not(None))
            .order_by(IngestBatch.id)
        ).all()
    return joined_keys(rows)


def read_predictions(ws: Workspace, charter: str) -> pl.LazyFrame:
    """The whole prediction log of a charter (committed batches only), as one lazy frame.

    Input columns that appear or disappear between batches are filled with nulls.
    """
    files = committed_files(ws, charter)
    if not files:
        return pl.LazyFrame(schema=LOG_SCHEMA)
    lake = lake_for(ws)
    return pl.concat([lake.scan(key) for key in files], how="diagonal_relaxed")


def read_quarantine(ws: Workspace, charter: str) -> pl.LazyFrame:
    files = committed_files(ws, charter, kind="quarantine")
    if not files:
        return pl.LazyFrame(schema={"batch_id": pl.String, "_row": pl.Int64})
    lake = lake_for(ws)
    return pl.concat([lake.scan(key) for key in files], how="diagonal_relaxed")


def seen_keys(ws: Workspace, charter: str) -> pl.Series:
    """Every key already logged for the charter, for uniqueness across batches.

    One columnar scan of the ``key`` column of committed prediction files: a few hundred MB of
    memory for 10^8 keys, read once per ingest run and extended in memory as batches commit.
    Keys of quarantined rows are not "seen": a row fixed and replayed is not a duplicate.
    """
    files = committed_files(ws, charter)
    if not files:
        return pl.Series("key", [], dtype=pl.String)
    lake = lake_for(ws)
    if lake.local:
        scan = lake.scan_all(files).select(pl.col("key").cast(pl.String))
    else:
        scans = [lake.scan(key).select(pl.col("key").cast(pl.String)) for key in files]
        scan = pl.concat(scans)
    return scan.unique().collect().to_series()


def watermark(ws: Workspace, charter: str) -> datetime | None:
    """The newest event time among the committed batches' valid rows."""
    with ws.db.read() as session:
        value = session.scalar(
            sa.select(sa.func.max(IngestBatch.max_event_time)).where(IngestBatch.charter == charter)
        )
    return value
