"""The prediction log and the quarantine: Parquet files per batch, trusted only once committed.

Predictions are logged as Parquet, not database rows, because a batch can hold millions of rows and
must be ingested at close to the speed of reading it. Each batch writes
``<state>/predictions/<charter>/<batch_id>.parquet`` (and ``<state>/quarantine/<charter>/...`` for
rows that broke the contract). The name is deterministic, the file is written to a temporary name,
fsynced and renamed, so a crashed attempt is simply overwritten by the re-run. A file counts only
when its batch record is committed (``ingest_batches``): every reader here goes through that table
and ignores any other file in the folder.

One log row per input row and model version::

    prediction_id  batch_id + "-" + the row's index in the batch (same for every version)
    batch_id       the batch the row arrived in
    key            the contract's key column, as text
    event_time     the contract's event time, in UTC (null when the charter declares none)
    model_version  "3", or "external" when the rows carried their prediction, or null (no model)
    model_status   live / shadow at scoring time; "external"; or null
    score          the model's output (probability of the positive class, or the value)
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


def predictions_dir(ws: Workspace, charter: str) -> Path:
    return ws.state_dir / "predictions" / charter


def quarantine_dir(ws: Workspace, charter: str) -> Path:
    return ws.state_dir / "quarantine" / charter


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
    return pl.concat(
        [
            base.with_columns(
                pl.lit(s.version, pl.String).alias("model_version"),
                pl.lit(s.status, pl.String).alias("model_status"),
                pl.Series("score", s.values).cast(pl.Float64),
                pl.lit(_acted_on(s.status, acting), pl.Boolean).alias("acted_on"),
            )
            for s in scores
        ]
    )


def _acted_on(status: str, acting: bool) -> bool | None:
    if status == "external":
        return None  # the rows carried a prediction made elsewhere: charter acted on nothing
    return status == "live" and acting


# -- writing ------------------------------------------------------------------------------------
class BatchFileWriter:
    """Streams chunks into ``<folder>/<batch_id>.parquet`` through a temporary file.

    ``finish`` fsyncs and renames the file into place and returns its path and SHA-256;
    nothing appears under the final name before that, and a re-run overwrites it.
    """

    def __init__(self, folder: Path, batch_id: str) -> None:
        self.final = folder / f"{batch_id}.parquet"
        self.temp = folder / f"{batch_id}.parquet{_TMP_MARK}{os.getpid()}"
        self.rows = 0
        self._writer: pq.ParquetWriter | None = None
        self._schema: pa.Schema | None = None

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height == 0:
            return
        table = frame.to_arrow()
        if self._writer is None:
            self.final.parent.mkdir(parents=True, exist_ok=True)
            self._schema = table.schema
            self._writer = pq.ParquetWriter(self.temp, table.schema, compression="zstd")
        elif table.schema != self._schema:
            table = table.select(self._schema.names).cast(self._schema)  # type: ignore[union-attr]
        self._writer.write_table(table)
        self.rows += frame.height

    def finish(self) -> tuple[Path, str] | None:
        """Put the file in place; None when no rows were written (no file is made)."""
        if self._writer is None:
            return None
        self._writer.close()
        self._writer = None
        with self.temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        digest = sha256_file(self.temp)
        os.replace(self.temp, self.final)
        _fsync_dir(self.final.parent)
        return self.final, digest

    def abort(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
            self._writer = None
        self.temp.unlink(missing_ok=True)


class PartWriter:
    """Writes a batch's rows as Parquet, one file per chunk, by Polars' (parallel) writer.

    One chunk gives ``<batch_id>.parquet``; several give ``<batch_id>.part-00000.parquet``, ...
    Parts are written under temporary names and renamed into place by :meth:`finish`, after
    removing any final file a crashed attempt left under this batch id (it was never committed).
    """

    def __init__(self, folder: Path, batch_id: str) -> None:
        self.folder, self.batch_id = folder, batch_id
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

    def finish(self) -> list[tuple[Path, str]]:
        """Put the parts in place; return each final path with its SHA-256 (none: no rows)."""
        for stale in (
            *self.folder.glob(f"{self.batch_id}.parquet"),
            *self.folder.glob(f"{self.batch_id}.part-*.parquet"),
        ):
            stale.unlink(missing_ok=True)
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
            done.append((final, digest))
        if done:
            _fsync_dir(self.folder)
        self.temps = []
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
    """Delete temporary files of attempts that crashed (call under the charter's ingest lock)."""
    for folder in (predictions_dir(ws, charter), quarantine_dir(ws, charter)):
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
def committed_files(ws: Workspace, charter: str, *, kind: str = "predictions") -> list[Path]:
    """The files of committed batches, oldest first; ``kind`` is predictions or quarantine.

    A batch written in parts lists its files one per line in its path column.
    """
    column = IngestBatch.predictions_path if kind == "predictions" else IngestBatch.quarantine_path
    with ws.db.read() as session:
        rows = session.scalars(
            sa.select(column)
            .where(IngestBatch.charter == charter, column.is_not(None))
            .order_by(IngestBatch.id)
        ).all()
    return [ws.state_dir / path for joined in rows if joined for path in joined.split("\n")]


def read_predictions(ws: Workspace, charter: str) -> pl.LazyFrame:
    """The whole prediction log of a charter (committed batches only), as one lazy frame.

    Input columns that appear or disappear between batches are filled with nulls.
    """
    files = committed_files(ws, charter)
    if not files:
        return pl.LazyFrame(schema=LOG_SCHEMA)
    return pl.concat([pl.scan_parquet(path) for path in files], how="diagonal_relaxed")


def read_quarantine(ws: Workspace, charter: str) -> pl.LazyFrame:
    files = committed_files(ws, charter, kind="quarantine")
    if not files:
        return pl.LazyFrame(schema={"batch_id": pl.String, "_row": pl.Int64})
    return pl.concat([pl.scan_parquet(path) for path in files], how="diagonal_relaxed")


def seen_keys(ws: Workspace, charter: str) -> pl.Series:
    """Every key already logged for the charter, for uniqueness across batches.

    One columnar scan of the ``key`` column of committed prediction files: a few hundred MB of
    memory for 10^8 keys, read once per ingest run and extended in memory as batches commit.
    Keys of quarantined rows are not "seen": a row fixed and replayed is not a duplicate.
    """
    files = committed_files(ws, charter)
    if not files:
        return pl.Series("key", [], dtype=pl.String)
    frame = (
        pl.scan_parquet(files, extra_columns="ignore", missing_columns="insert")
        .select(pl.col("key").cast(pl.String))
        .unique()
        .collect()
    )
    return frame.to_series()


def watermark(ws: Workspace, charter: str) -> datetime | None:
    """The newest event time among the committed batches' valid rows."""
    with ws.db.read() as session:
        value = session.scalar(
            sa.select(sa.func.max(IngestBatch.max_event_time)).where(IngestBatch.charter == charter)
        )
    return value
