"""A landing file ingested on Spark: the rows stay on the executors, the driver sees counts.

With the Spark engine, a landing file is one Spark job graph, and no row passes through the
driver (the charter process):

1. Spark reads the file itself (:meth:`~charter.engines.spark.SparkEngine.read_frame`: Parquet,
   CSV as text, JSON Lines), and each row gets its index in the file (:func:`with_order`: the
   row counts of the file's blocks, one small aggregation, give each block its offset);
2. the contract's rules are compiled to Spark columns (:func:`~charter.engines.spark.contract.judge_on_spark`).
   ``unique`` aggregates the repeated values on the executors; ``unique_across_batches``
   semi-joins the batch's keys with the keys of the committed prediction files, read by Spark
   from the lake; only the keys found again are broadcast back. The batch rules are one
   aggregation;
3. one ``mapInArrow`` pass takes each partition's judged rows in Arrow batches, and, with the
   very functions the local engine uses, flags late rows, scores every live, standby and shadow
   version (the :class:`~charter.plumbing.scoring.ScoringPlan`, models included, broadcast once
   per run; a failing version fails alone, :mod:`.isolation`), builds the log rows and the
   quarantine rows, and writes them to the lake from the executor under names unique to this
   attempt and task (``<batch>.<attempt>.part-<partition>-<n>.parquet``);
4. each task returns one small record (its files with their SHA-256, its counts, violations,
   scoring failures, newest event time), which the driver merges into the batch summary and
   commits in charter's database under the batch-commit protocol (:mod:`.batch_commit`).

Files no committed batch names are never read. Those of a task attempt Spark retried, or of a
run that failed, are removed by this run (they carry its attempt's name); those of a killed run
are removed before the same batch is run again (a local lake) or by the lake's cleanup once
older than the grace period (an object store, :func:`charter.plumbing.lake_cleanup.clean`).

On a cluster the executors write the lake themselves: ``CHARTER_LAKE`` must then be a URL every
executor reaches (``s3://``, ``gs://``, ``abfs://``) with charter and that fsspec
implementation installed on the workers.
"""

from __future__ import annotations

import logging
import os
import pickle
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from charter.engines.polars.contract import ValidationResult
from charter.engines.polars.file_reading import readable, rename_reserved
from charter.engines.rules import VIOLATIONS, BatchRuleKind, judge_batch
from charter.errors import CharterError, DataError
from charter.plumbing import predictions as log
from charter.plumbing.ingest_batch import ROW, Batch, RunState, late_flags
from charter.plumbing.isolation import FailureTally, log_scored, score_chunk
from charter.plumbing.lake import Lake, lake_for, open_lake
from charter.plumbing.scoring import ScoringPlan
from charter.plumbing.sources import LandingFile
from charter.spec.model import FolderSource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from charter.engines.spark import SparkEngine

__all__ = ["SparkFileBatch", "native", "spark_path", "with_order"]

logger = logging.getLogger("charter.spark")
_BLOCK, _MONO = "__charter_block", "__charter_mono"
_PART_MARK = ".part-"


def native(engine: Any) -> bool:
    """Whether ``engine`` ingests a landing file where it lies (the Spark engine)."""
    return getattr(engine, "name", None) == "spark" and hasattr(engine, "read_frame")


def spark_path(lake: Lake, key: str) -> str:
    """``key`` as Spark names it: an OS path for a local lake, else the lake's URL and the key
    (``s3://`` becomes Hadoop's ``s3a://``)."""
    if lake.local:
        return lake.path(key)
    url = f"{lake.url.rstrip('/')}/{key}"
    return "s3a://" + url[len("s3://") :] if url.startswith("s3://") else url


def with_order(spark: SparkSession, sdf: DataFrame, order: str) -> tuple[DataFrame, int]:
    """``sdf`` (read with its ``_BLOCK`` column, see :meth:`SparkEngine.read_frame`) with each
    row's index in the file in ``order``, and the file's row count.

    Within a block of the file, Spark reads rows in order and numbers them consecutively
    (``monotonically_increasing_id``); one aggregation gives each block's row count and first
    number, so each block's offset in the file is the sum of the counts of the blocks before
    it. Only one row per block comes to the driver.
    """
    from pyspark.sql import functions as F  # noqa: N812

    tagged = sdf.withColumn(_MONO, F.monotonically_increasing_id())
    stats = (
        tagged.groupBy(_BLOCK)
        .agg(F.count(F.lit(1)).alias("n"), F.min(_MONO).alias("first"))
        .toArrow()
        .to_pylist()
    )
    shift: list[Any] = []
    offset = 0
    for block in sorted(stats, key=lambda b: int(b[_BLOCK])):
        shift += [F.lit(int(block[_BLOCK])), F.lit(offset - int(block["first"]))]
        offset += int(block["n"])
    if not shift:
        return tagged.withColumn(order, F.col(_MONO)).drop(_BLOCK, _MONO), 0
    moved = F.col(_MONO) + F.create_map(*shift)[F.col(_BLOCK)]
    return tagged.withColumn(order, moved.cast("long")).drop(_BLOCK, _MONO), offset


# -- what each task is given and gives back ------------------------------------------------------
@dataclass(frozen=True)
class _Job:
    """What a task needs besides its rows and the scoring plan (picklable, small)."""

    batch_id: str
    stem: str
    label: str
    columns: tuple[str, ...]
    typed: dict[str, str]
    valid_schema: dict[str, pl.DataType]
    failed_schema: dict[str, pl.DataType]
    absent: dict[str, pl.DataType]
    key: str
    event_time: str | None
    watermark: datetime | None
    max_lateness: timedelta
    ingested_at: datetime
    acting: bool
    chunk_rows: int
    lake_url: str
    lake_local: bool
    lake_root: str
    predictions: str
    quarantine: str
    order: str
    names: tuple[str, ...]
    null_columns: tuple[str, ...]  # the batch rules' counts, taken in the same pass
    newest_columns: tuple[str, ...]


@dataclass
class _TaskResult:
    """One task's part of the batch: its files and counts (merged on the driver)."""

    first_row: int | None = None
    predictions: list[tuple[str, str]] = field(default_factory=list)
    quarantine: list[tuple[str, str]] = field(default_factory=list)
    rows_in: int = 0
    rows_scored: int = 0
    rows_quarantined: int = 0
    rows_late: int = 0
    newest: datetime | None = None
    violations: dict[str, int] = field(default_factory=dict)
    failures: FailureTally = field(default_factory=FailureTally)
    nulls: dict[str, int] = field(default_factory=dict)
    newest_values: dict[str, Any] = field(default_factory=dict)


def _task(
    job: _Job, get_plan: Callable[[], ScoringPlan], batches: Iterator[pa.RecordBatch]
) -> Iterator[pa.RecordBatch]:
    """One partition: chunks of ``chunk_rows`` rows judged, scored, logged and written."""
    from pyspark import TaskContext

    context = TaskContext.get()
    partition = context.partitionId() if context is not None else 0
    attempt = context.attemptNumber() if context is not None else 0
    tag = f"{partition:05d}" if attempt == 0 else f"{partition:05d}a{attempt}"
    plan, result, pending, rows = get_plan(), _TaskResult(), [], 0
    for part in batches:
        pending.append(part)
        rows += part.num_rows
        if rows >= job.chunk_rows:
            _chunk(job, plan, pa.Table.from_batches(pending), result, f"{tag}-{len(pending)}")
            pending, rows = [], 0
    if pending:
        _chunk(job, plan, pa.Table.from_batches(pending), result, f"{tag}-{len(pending)}")
    yield pa.RecordBatch.from_pylist([{"result": pickle.dumps(result)}])


def _chunk(job: _Job, plan: ScoringPlan, table: pa.Table, out: _TaskResult, tag: str) -> None:
    """:meth:`charter.plumbing.ingest_batch.Batch._chunk`, on an executor."""
    frame = pl.from_arrow(table.rename_columns(list(job.names)))
    assert isinstance(frame, pl.DataFrame)
    frame = frame.rename({job.order: ROW}).sort(ROW)
    tag = f"{tag}-{int(frame[ROW][0]) if frame.height else 0}"
    broken = pl.col(VIOLATIONS).list.len() > 0
    chunk = frame.select(ROW, *job.columns)
    for column in job.null_columns:  # the batch rules judge every row, valid or not
        out.nulls[column] = out.nulls.get(column, 0) + chunk[column].null_count()
    for column in job.newest_columns:
        value = frame[job.typed.get(column, column)].max()
        known = out.newest_values.get(column)
        if value is not None and (known is None or value > known):
            out.newest_values[column] = value
    valid = frame.filter(~broken).select(
        ROW, *[pl.col(job.typed.get(name, name)).alias(name) for name in job.columns]
    )
    valid = valid.cast(_with_row(job.valid_schema), strict=False)
    if job.absent:
        valid = valid.with_columns(pl.lit(None, t).alias(n) for n, t in job.absent.items())
    failed = frame.filter(broken).select(ROW, *job.columns, VIOLATIONS)
    failed = failed.cast(_with_row(job.failed_schema), strict=False)
    event_time = log.utc_event_time(valid, job.event_time)
    late = late_flags(event_time, job.watermark, job.max_lateness)
    valid, event_time, late, scored, failed = score_chunk(
        lambda rows: plan.score(rows, job.label),
        chunk,
        valid,
        failed,
        event_time,
        late,
        out.failures,
    )
    for rule, count in ValidationResult(valid, failed).violation_counts().items():
        out.violations[rule] = out.violations.get(rule, 0) + count
    logged = log_scored(
        valid,
        scored,
        batch_id=job.batch_id,
        key=job.key,
        event_time=event_time,
        late=late,
        features=plan.logged_inputs(valid),
        ingested_at=job.ingested_at,
        acting=job.acting,
    )
    quarantined = failed.with_columns(
        pl.lit(job.batch_id).alias("_batch_id"),
        pl.lit(job.ingested_at, pl.Datetime("us", "UTC")).alias("_ingested_at"),
    )
    if logged.height:
        out.predictions.append(_put(job, job.predictions, logged, tag))
    if quarantined.height:
        out.quarantine.append(_put(job, job.quarantine, quarantined, tag))
    if frame.height:
        first = int(frame[ROW][0])
        out.first_row = first if out.first_row is None else min(out.first_row, first)
    newest = event_time.max()
    if isinstance(newest, datetime):
        newest = newest.astimezone(UTC)
        out.newest = newest if out.newest is None or newest > out.newest else out.newest
    out.rows_in += chunk.height
    out.rows_scored += valid.height
    out.rows_quarantined += failed.height
    out.rows_late += int(late.sum())


def _with_row(schema: dict[str, pl.DataType]) -> dict[Any, Any]:
    return {ROW: pl.Int64(), **schema}


def _put(job: _Job, folder: str, frame: pl.DataFrame, tag: str) -> tuple[str, str]:
    """Write ``frame`` under a name unique to this attempt and task; its key and SHA-256."""
    key = f"{folder}/{job.batch_id}.{job.stem}{_PART_MARK}{tag}.parquet"
    if job.lake_local:
        final = Path(job.lake_root) / key
        final.parent.mkdir(parents=True, exist_ok=True)
        temp = final.with_name(f"{final.name}.tmp-{os.getpid()}")
        frame.write_parquet(temp)
        with temp.open("rb+") as handle:
            os.fsync(handle.fileno())
        digest = log.sha256_file(temp)
        os.replace(temp, final)
        return key, digest
    lake = open_lake(job.lake_url, Path(tempfile.gettempdir()) / "charter-spool")
    with tempfile.TemporaryDirectory(prefix="charter-part-") as spool:
        temp = Path(spool) / "part.parquet"
        frame.write_parquet(temp)
        digest = log.sha256_file(temp)
        lake.put(temp, key)
    return key, digest


# -- the batch -------------------------------------------------------------------------------------
class SparkFileBatch(Batch):
    """A landing file's batch computed on Spark (see the module's docstring); committed like
    any other :class:`~charter.plumbing.ingest_batch.Batch`."""

    def __init__(
        self,
        run: RunState,
        batch_id: str,
        *,
        file: LandingFile,
        source: FolderSource,
        fingerprint: str,
        renamed: dict[str, str],
        chunk_rows: int,
    ) -> None:
        super().__init__(run, batch_id, kind="file", label=file.name, fingerprint=fingerprint)
        self.file, self.source, self.renamed, self.chunk_rows = file, source, renamed, chunk_rows
        self.lake = lake_for(run.ws)
        self.stem = uuid.uuid4().hex[:16]
        engine = run.engine
        assert native(engine)
        self.engine: SparkEngine = engine  # type: ignore[assignment]
        master = self.engine.master.strip().lower()
        if self.lake.local and not master.startswith("local"):
            raise CharterError(
                f"the Spark engine on {self.engine.master} writes the logs from its executors, "
                f"which cannot reach this machine's lake folder {self.lake.shown}",
                hint="Set CHARTER_LAKE to a URL every executor reaches (s3://bucket/prefix), "
                "or use CHARTER_SPARK_MASTER=local[*]. See docs/scale.md.",
            )

    def process(self, chunks: Iterable[pl.DataFrame]) -> None:
        """Everything on Spark: ``chunks`` is not read (no row passes through the driver)."""
        if self.file.size == 0:
            raise DataError(f"{readable(self.file.path)}: the file is empty (0 bytes)")
        self._remove_own_leftovers(committed=set(), any_attempt=self.lake.local)
        try:
            self._on_spark()
        except CharterError:
            raise
        except Exception as exc:  # Spark's errors are Java's or a task's: said in one line
            text = [ln.strip() for ln in str(exc).strip().splitlines() if ln.strip()]
            said = next((ln for ln in reversed(text) if "Error" in ln), text[0] if text else "")
            raise DataError(
                f"{readable(self.file.path)}: Spark cannot process it: {said or type(exc).__name__}"
            ) from None

    def _on_spark(self) -> None:
        from pyspark.sql import functions as F  # noqa: N812

        from charter.engines.spark.contract import ORDER, judge_on_spark, typed_name

        run, contract, spark = self.run, self.run.loaded.charter.data, self.engine.spark
        clock = [time.perf_counter()]

        def lap(step: str) -> None:  # where a batch's time goes, for `-v` and benchmarks
            now = time.perf_counter()
            logger.info("%s: %s took %.2fs", self.label, step, now - clock[0])
            clock[0] = now

        sdf = self.engine.read_frame(self.file.path, self.source, block=_BLOCK)
        empty = pl.from_arrow(sdf.drop(_BLOCK).limit(0).toArrow())
        assert isinstance(empty, pl.DataFrame)
        empty, renames = rename_reserved(empty)
        if renames:
            sdf = sdf.withColumnsRenamed(renames)
            self.renamed.update(renames)
        lap("schema")
        sdf, rows = with_order(spark, sdf, ORDER)
        lap("row numbers (one aggregation)")
        judged = judge_on_spark(spark, sdf, empty.schema, run.rules, seen_frame=self._history())
        for change in judged.changes:
            self.changes.setdefault((change.kind, change.column), change.to_dict())
        typed = {
            name: typed_name(name)
            for name in empty.columns
            if typed_name(name) in judged.frame.columns
        }
        wanted = [*empty.columns, *typed.values(), ORDER, VIOLATIONS]
        job = _Job(
            batch_id=self.batch_id,
            stem=self.stem,
            label=self.label,
            columns=tuple(empty.columns),
            typed=typed,
            valid_schema=dict(judged.valid_schema),
            failed_schema=dict(judged.failed_schema),
            absent=judged.absent,
            key=contract.key,
            event_time=contract.event_time,
            watermark=run.watermark,
            max_lateness=contract.freshness.max_lateness,
            ingested_at=self.ingested_at,
            acting=run.scorer.acting,
            chunk_rows=self.chunk_rows,
            lake_url=self.lake.url,
            lake_local=self.lake.local,
            lake_root=self.lake.root,
            predictions=log.predictions_dir(run.name),
            quarantine=log.quarantine_dir(run.name),
            order=ORDER,
            names=tuple(wanted),
            null_columns=tuple(
                r.column
                for r in run.rules.batch
                if r.kind is BatchRuleKind.MAX_NULL_FRACTION and r.column in empty.columns
            ),
            newest_columns=tuple(
                r.column
                for r in run.rules.batch
                if r.kind is BatchRuleKind.MAX_AGE and r.column in judged.typed_of
            ),
        )
        get_plan = self.engine.share(run.scorer.plan())
        # mapInArrow hands columns over by name, unquoted: a name with a dot would be read as
        # a struct field, so every column crosses as c0, c1, ... and is renamed back there.
        rows_out = judged.frame.select(
            *[F.col(f"`{c}`").alias(f"c{i}") for i, c in enumerate(wanted)]
        )
        done = rows_out.mapInArrow(partial(_task, job, get_plan), "result binary").toArrow()
        results = [pickle.loads(r) for r in done.column("result").to_pylist()]
        lap(f"judge, score, log on the executors ({len(results)} tasks)")
        self._merge(sorted(results, key=lambda r: (r.first_row is None, r.first_row or 0)))
        nulls = {c: sum(r.nulls.get(c, 0) for r in results) for c in job.null_columns}
        newest: dict[str, Any] = {}
        for r in results:
            for column, value in r.newest_values.items():
                if value is not None and (newest.get(column) is None or value > newest[column]):
                    newest[column] = value
        self.rules.append((rows, judge_batch(run.rules, rows, nulls, newest, run.now)))

    def _history(self) -> DataFrame | None:
        """The keys of the committed prediction files, read by Spark (None: nothing logged)."""
        from pyspark.sql import functions as F  # noqa: N812

        keys = log.committed_files(self.run.ws, self.run.name)
        if not keys:
            return None
        paths = [spark_path(self.lake, key) for key in keys]
        frame = self.engine.spark.read.parquet(*paths)
        return frame.select(F.col("key").cast("string").alias("v"))

    def _merge(self, results: list[_TaskResult]) -> None:
        s = self.summary
        for r in results:
            self.outputs.setdefault("predictions", []).extend(r.predictions)
            self.outputs.setdefault("quarantine", []).extend(r.quarantine)
            s.rows_in += r.rows_in
            s.rows_scored += r.rows_scored
            s.rows_quarantined += r.rows_quarantined
            s.rows_late += r.rows_late
            s.count_violations(r.violations)
            for found in r.failures.by_version.values():
                mine = self.failures.by_version.setdefault(
                    found["version"], {**found, "rows": 0, "error": ""}
                )
                mine["rows"] += found["rows"]
                mine["error"] = mine["error"] or found["error"]
            if r.newest is not None and (
                self.max_event_time is None or r.newest > self.max_event_time
            ):
                self.max_event_time = r.newest

    def finish_outputs(self) -> None:
        """The tasks put their files in place already; nothing is committed yet."""
        self.outputs.setdefault("predictions", [])
        self.outputs.setdefault("quarantine", [])

    def abort(self) -> None:
        super().abort()
        self._remove_own_leftovers(committed=set(), any_attempt=False)

    def committed(self) -> None:
        super().committed()
        kept = {key for files in self.outputs.values() for key, _ in files}
        self._remove_own_leftovers(committed=kept, any_attempt=False)

    def _remove_own_leftovers(self, *, committed: set[str], any_attempt: bool) -> None:
        """Remove this batch's files that ``committed`` does not name: this attempt's (a task
        Spark ran twice, a failed run), or, ``any_attempt``, every attempt's (the batch is
        not committed: a killed run's, in a local lake under this run's lock)."""
        stem = f"{self.batch_id}." if any_attempt else f"{self.batch_id}.{self.stem}."
        for folder in (log.predictions_dir(self.run.name), log.quarantine_dir(self.run.name)):
            for key, _ in self.lake.files(folder):
                name = key.rsplit("/", 1)[-1]
                if name.startswith(stem) and _PART_MARK in name and key not in committed:
                    self.lake.remove(key)
