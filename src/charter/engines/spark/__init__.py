"""The Apache Spark engine: the same steps as the local engine, evaluated by Spark (see :mod:`..base`).

- :meth:`SparkEngine.read_frame` reads a landing file with Spark's readers (Parquet; CSV as
  text; JSON Lines with the schema inferred over every line), lazily, on the executors;
  :meth:`SparkEngine.read` brings it to the driver;
- :meth:`SparkEngine.validate` compiles the contract's rules to Spark columns (:mod:`.contract`);
- :meth:`SparkEngine.score` broadcasts the model once and scores Arrow batches on the executors
  (``mapInArrow``);
- :meth:`SparkEngine.summarise` and :meth:`SparkEngine.summarise_groups` compute monitoring's
  mergeable summaries per partition or per (batch, version, window) group on the executors, with
  the very functions the local engine uses (:mod:`charter.engines.summaries`), so the counts and
  histograms are the same numbers by construction;
- :meth:`SparkEngine.write` writes one Parquet file.

- :meth:`SparkEngine.summarise_files` summarises logged columns of Parquet files in the lake on
  the executors.

What crosses the seam is Arrow. A landing file does not cross it: ingestion keeps its rows on the
executors (:mod:`charter.plumbing.spark_ingest`, with :func:`.contract.judge_on_spark`), which
write the prediction log and quarantine to the lake; only counts and file names come back to be
committed. A SQL batch does cross it (``validate``/``score`` from the driver's frame).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
import pyarrow as pa

from charter.engines.polars.contract import SeenKeys, ValidationResult
from charter.engines.rules import ContractRules
from charter.engines.spark.contract import ORDER, to_spark, validate_on_spark
from charter.engines.spark.session import is_connect, spark_session
from charter.engines.summaries import (
    ColumnSummary,
    Kind,
    NumericSummary,
    merge_all,
    reference_edges,
    summarise_like,
    summarise_reference,
    summary_from_dict,
)
from charter.errors import DataError
from charter.registry.flavors.base import Predictor
from charter.spec.model import FolderSource

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

__all__ = ["SparkEngine"]


class SparkEngine:
    """:class:`~charter.engines.base.Engine` on Apache Spark, on ``master`` (see :mod:`.session`)."""

    def __init__(self, master: str = "local[*]") -> None:
        self.master = master
        self._broadcasts: dict[int, tuple[Any, Any]] = {}

    @property
    def name(self) -> str:
        return "spark"

    @property
    def spark(self) -> SparkSession:
        return spark_session(self.master)

    # -- read -------------------------------------------------------------------------------------
    def read(self, path: Path, source: FolderSource) -> pa.Table:
        """The file through Spark's readers (:meth:`read_frame`), brought to the driver."""
        try:
            return self.read_frame(path, source).toArrow()
        except Exception as exc:  # Spark's errors are Java's: said about the file, in one line
            raise DataError(f"{path}: Spark cannot read it: {_said(exc)}") from None

    def read_frame(
        self, path: Path | str, source: FolderSource, *, block: str | None = None
    ) -> DataFrame:
        """The file as a Spark frame, read on the executors (lazily: errors come when it runs).

        CSV is text in UTF-8 (Spark decodes bytes that are not UTF-8 as U+FFFD under either
        ``encoding``); JSON Lines columns come in the order of the first line, as the local
        engine gives them. ``block`` names an extra column with where in the file each row's
        block starts (Spark's ``_metadata.file_block_start``), to number the rows by."""
        from pyspark.sql import functions as F  # noqa: N812

        reader = self.spark.read
        where = str(path)
        if source.kind == "parquet_dir":
            frame = reader.parquet(where)
        elif source.kind == "csv_dir":
            frame = reader.csv(
                where, header=True, inferSchema=False, sep=source.delimiter, encoding="utf-8"
            )
        else:
            frame = reader.option("samplingRatio", 1.0).json(where)
        columns = [F.col(f"`{c}`") for c in frame.columns]
        if source.kind == "jsonl_dir":
            columns = [F.col(f"`{c}`") for c in _first_line_order(Path(path), frame.columns)]
        if block is not None:
            columns.append(F.col("_metadata.file_block_start").alias(block))
        return frame.select(*columns)

    # -- validate ---------------------------------------------------------------------------------
    def validate(
        self,
        batch: pa.Table | pl.DataFrame,
        rules: ContractRules,
        *,
        seen_keys: SeenKeys = None,
        now: datetime | None = None,
    ) -> ValidationResult:
        return validate_on_spark(self.spark, _frame(batch), rules, seen_keys=seen_keys, now=now)

    # -- score ------------------------------------------------------------------------------------
    def score(self, predictor: Predictor, batch: pa.Table) -> pa.Table:
        """One ``score`` per row, scored on the executors in Arrow batches; the model is
        broadcast once per engine (Spark Connect has no broadcast: the model travels with the
        function, once per query)."""
        if batch.num_rows == 0:
            return pa.table({"score": pa.array([], pa.float64())})
        frame = to_spark(self.spark, _frame(batch))
        get_model = self._model_getter(predictor)
        flavor = predictor.flavor

        def score_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            model = get_model()
            for part in batches:
                table = pl.from_arrow(part)
                assert isinstance(table, pl.DataFrame)
                out = np.asarray(model.predict(table.drop(ORDER)))
                if out.ndim == 2 and out.shape[1] in (1, 2):
                    out = out[:, -1]
                out = out.astype(np.float64).reshape(-1)
                if out.shape[0] != part.num_rows:
                    raise ValueError(
                        f"the {flavor} model returned {out.shape[0]} scores for "
                        f"{part.num_rows} rows"
                    )
                yield pa.RecordBatch.from_arrays(
                    [part.column(ORDER), pa.array(out, pa.float64())], names=[ORDER, "score"]
                )

        try:
            scored = (
                frame.mapInArrow(score_batches, f"`{ORDER}` long, score double")
                .orderBy(ORDER)
                .toArrow()
            )
        except Exception as exc:
            raise DataError(f"the {flavor} model failed on Spark: {_first_line(exc)}") from None
        if scored.num_rows != batch.num_rows:
            raise DataError(
                f"the {flavor} model returned {scored.num_rows} scores for {batch.num_rows} rows"
            )
        return pa.table({"score": scored.column("score")})

    def _model_getter(self, predictor: Predictor) -> Any:
        return self.share(predictor)

    def share(self, value: Any) -> Callable[[], Any]:
        """A function the executors call to get ``value``: broadcast once per object (Spark
        Connect has no broadcast: the value travels with the function, once per query)."""
        if is_connect(self.master):
            return lambda: value
        held = self._broadcasts.get(id(value))
        if held is None or held[0] is not value:
            held = (value, self.spark.sparkContext.broadcast(value))
            self._broadcasts[id(value)] = held
        shared = held[1]
        return lambda: shared.value

    # -- summarise --------------------------------------------------------------------------------
    def summarise(
        self,
        column: pa.Array | pa.ChunkedArray,
        kind: Kind,
        *,
        like: ColumnSummary | None = None,
    ) -> ColumnSummary:
        """Per-partition summaries on the executors, merged on the driver (``merge`` is exact for
        counts and histograms; sums agree to rounding). A new numeric reference takes its edges
        from the whole column first."""
        values = pl.Series("v", column)
        reference: ColumnSummary | None = like
        if like is None and kind == "numeric":
            reference = NumericSummary.empty(reference_edges(values))
        frame = to_spark(self.spark, pl.DataFrame({"v": values}))

        def part_summaries(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            tables = list(batches)
            if not tables:
                return
            series = pl.Series("v", pa.Table.from_batches(tables).column("v"))
            if reference is None:
                summary = summarise_reference(series, "categorical")
            else:
                summary = summarise_like(reference, series)
            yield pa.RecordBatch.from_pylist([{"summary": json.dumps(summary.to_dict())}])

        parts = frame.mapInArrow(part_summaries, "summary string").toArrow()
        found = [summary_from_dict(json.loads(s)) for s in parts.column("summary").to_pylist()]
        if not found:
            if reference is None:
                return summarise_reference(values, "categorical")
            return summarise_like(reference, values)
        return merge_all(found)

    def summarise_files(
        self,
        paths: Sequence[str],
        references: Mapping[str, ColumnSummary],
        *,
        struct: str | None = "inputs",
        rows_per_summary: int = 1_000_000,
    ) -> dict[str, ColumnSummary]:
        """Each column's summary on its reference's edges or categories, over Parquet files read
        by the executors (``struct``: the columns are fields of that struct column, as the
        prediction log's ``inputs``). Each task summarises its rows in parts of
        ``rows_per_summary`` and merges them; only the summaries come back to the driver."""
        from pyspark.sql import functions as F  # noqa: N812

        names = list(references)
        if not names or not paths:
            return {}
        frame = self.spark.read.parquet(*paths)
        picked = [
            (F.col(f"`{struct}`")[name] if struct else F.col(f"`{name}`")).alias(f"c{i}")
            for i, name in enumerate(names)
        ]
        refs = dict(references)

        def part_summaries(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
            found: dict[str, list[ColumnSummary]] = {name: [] for name in names}
            pending: list[pa.RecordBatch] = []

            def flush() -> None:
                table = pa.Table.from_batches(pending)
                for i, name in enumerate(names):
                    found[name].append(summarise_like(refs[name], pl.Series("v", table[f"c{i}"])))
                pending.clear()

            for batch in batches:
                pending.append(batch)
                if sum(b.num_rows for b in pending) >= rows_per_summary:
                    flush()
            if pending:
                flush()
            merged = {n: merge_all(s).to_dict() for n, s in found.items() if s}
            yield pa.RecordBatch.from_pylist([{"summary": json.dumps(merged)}])

        parts = frame.select(*picked).mapInArrow(part_summaries, "summary string").toArrow()
        out: dict[str, list[ColumnSummary]] = {name: [] for name in names}
        for text in parts.column("summary").to_pylist():
            for name, summary in json.loads(text).items():
                out[name].append(summary_from_dict(summary))
        return {
            name: merge_all(found) if found else summarise_like(refs[name], pl.Series([]))
            for name, found in out.items()
        }

    def summarise_groups(
        self,
        rows: pl.DataFrame,
        by: Sequence[str],
        summarise: Callable[[pl.DataFrame], Mapping[str, Any]],
    ) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        """``summarise`` (a summary's ``to_dict``) of every group of ``rows`` by ``by``, each
        group in one Spark task: monitoring's per-(batch, version, window) summaries
        (:func:`charter.monitoring.windows.summarise_batches`)."""
        if rows.height == 0:
            return []
        names = rows.columns  # ``in.<input>``: Spark would read the dot as a struct field
        plain = {name: f"c{i}" for i, name in enumerate(names)}
        frame = self.spark.createDataFrame(rows.rename(plain).to_arrow())
        keys = list(by)

        def summarise_group(table: pa.Table) -> pa.Table:
            group = pl.from_arrow(table.rename_columns(names))
            assert isinstance(group, pl.DataFrame)
            key = [group[name][0] for name in keys]
            return pa.table(
                {
                    "key": [json.dumps(key)],
                    "summary": [json.dumps(dict(summarise(group)))],
                }
            )

        out = (
            frame.groupBy(*[plain[name] for name in keys])
            .applyInArrow(summarise_group, "key string, summary string")
            .toArrow()
        )
        return [
            (tuple(json.loads(row["key"])), json.loads(row["summary"])) for row in out.to_pylist()
        ]

    # -- write ------------------------------------------------------------------------------------
    def write(self, table: pa.Table, path: Path) -> None:
        """One Parquet file at ``path``, written by one Spark task (then moved in place)."""
        with tempfile.TemporaryDirectory(prefix="charter-spark-", dir=path.parent) as folder:
            out = Path(folder) / "out"
            self._spark_frame(table).coalesce(1).write.parquet(str(out))
            parts = sorted(out.glob("part-*.parquet"))
            if len(parts) != 1:
                raise DataError(f"Spark wrote {len(parts)} files for {path}, expected one")
            shutil.move(parts[0], path)

    def _spark_frame(self, table: pa.Table) -> DataFrame:
        return self.spark.createDataFrame(table)


def _frame(batch: Any) -> pl.DataFrame:
    if isinstance(batch, pl.DataFrame):
        return batch
    frame = pl.from_arrow(batch, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


def _first_line_order(path: Path, columns: list[str]) -> list[str]:
    """``columns`` (Spark sorts JSON fields by name) in the order the file's first record
    names them, then the others as Spark gave them."""
    with path.open("rb") as handle:
        first = next((line for line in handle if line.strip()), b"")
    try:
        named = list(json.loads(first)) if first else []
    except ValueError:
        named = []
    ordered = [c for c in named if c in columns]
    return ordered + [c for c in columns if c not in ordered]


def _said(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()
    return first[0] if first else type(exc).__name__


def _first_line(exc: BaseException) -> str:
    text = [line for line in str(exc).strip().splitlines() if line.strip()]
    return text[-1].strip() if text else type(exc).__name__
