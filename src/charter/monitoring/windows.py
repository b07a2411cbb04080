"""Windows of event time, and the mergeable summaries of each (version, batch, window).

**Alignment.** A fixed window of size ``w`` starts at a multiple of ``w`` since the origin
(``sufficiency.window_origin``, default the Unix epoch 1970-01-01T00:00Z): the row at event time
``t`` belongs to ``[o + k·w, o + (k+1)·w)`` with ``k = floor((t - o) / w)``. So re-runs, other
machines and other batch orders always cut the same windows. By default days start at midnight
UTC and 7-day windows on Thursdays, because the epoch was a Thursday. Calendar windows (``1w``,
``1mo``, ``1q``, ``1y``) start at local midnight of their first day in the charter's timezone
(:mod:`.cutting`). A row without an event time (a charter that declares none) is placed by its
ingestion time.

**Summaries.** Each committed batch is read once per (version, reference): its rows are grouped
by (model version, window) and each group is reduced to a :class:`WindowSummary` (per-input
summaries on the reference's edges and categories, the score's summary, and mergeable
counters for volume and freshness), stored in ``monitor_batch_summaries``. A window is the merge
of its batches' summaries, so neither the raw rows nor the reference are read again to recompute
it. The *basis* (:func:`basis`) fingerprints the reference and contract ranges the summaries
were binned against; a new reference changes the basis and the batches are summarised afresh.

Rows with no model version (logged before any version was live, or when no model scores) form
the pseudo-version ``unscored``: monitored for data quality and input drift, never for
performance.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

import numpy as np
import polars as pl
import sqlalchemy as sa

from charter.engines.base import Engine
from charter.engines.summaries import (
    CategoricalSummary,
    ColumnSummary,
    NumericSummary,
    merge_all,
    summary_from_dict,
)
from charter.monitoring.cutting import Cutter, FixedCutter
from charter.monitoring.reference import MonitoredColumn, Reference, canonical
from charter.plumbing.lake import Lake, joined_keys, lake_for
from charter.store.tables import IngestBatch
from charter.workspace import Workspace

UNSCORED = "unscored"
INPUT_PREFIX = "in."
MAX_WINDOWS = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_EDGES = np.empty(0, dtype=np.float64)


# -- alignment ----------------------------------------------------------------------------------
def size_us(size: timedelta) -> int:
    micro = round(size.total_seconds() * 1_000_000)
    if micro <= 0:
        raise ValueError(f"a window must be longer than zero, got {size}")
    return micro


def to_us(moment: datetime) -> int:
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(microseconds=1)


def from_us(micro: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micro)


def align(moment: datetime, size: timedelta) -> datetime:
    """The start of the window holding ``moment``."""
    step = size_us(size)
    return from_us(to_us(moment) // step * step)


@dataclass(frozen=True, order=True)
class Window:
    start: datetime
    end: datetime

    @classmethod
    def at(cls, start_us: int, step_us: int) -> Window:
        return cls(from_us(start_us), from_us(start_us + step_us))

    @classmethod
    def cut(cls, start_us: int, cut: Cutter) -> Window:
        return cls(from_us(start_us), from_us(cut.next(start_us)))

    @property
    def key(self) -> tuple[int, int]:
        return to_us(self.start), to_us(self.end)


# -- reading the prediction log -----------------------------------------------------------------
@dataclass(frozen=True)
class LoggedBatch:
    """A committed batch and its prediction files (one, or one per chunk written): their keys
    in the lake they are read from."""

    batch_id: str
    paths: tuple[str, ...]
    lake: Lake


def logged_batches(ws: Workspace, name: str) -> list[LoggedBatch]:
    """Committed batches that logged predictions, oldest first."""
    with ws.db.read() as session:
        rows = session.execute(
            sa.select(IngestBatch.batch_id, IngestBatch.predictions_path)
            .where(IngestBatch.charter == name, IngestBatch.predictions_path.is_not(None))
            .order_by(IngestBatch.id)
        ).all()
    lake = lake_for(ws)
    return [
        LoggedBatch(row.batch_id, tuple(joined_keys([row.predictions_path])), lake)
        for row in rows
        if row.predictions_path
    ]


def _input_exprs(schema: Mapping[str, pl.DataType], names: Iterable[str]) -> list[pl.Expr]:
    """Each input as ``in.<name>``, from the log's ``inputs`` struct or (older logs) a column of
    its own; an input a batch did not log is null."""
    struct = schema.get("inputs")
    in_struct = {f.name for f in struct.fields} if isinstance(struct, pl.Struct) else set[str]()
    exprs = []
    for name in names:
        if name in in_struct:
            expr = pl.col("inputs").struct.field(name)
        elif struct is None and name in schema:
            expr = pl.col(name)
        else:
            expr = pl.lit(None)
        exprs.append(expr.alias(INPUT_PREFIX + name))
    return exprs


def as_cutter(step: int | Cutter) -> Cutter:
    return FixedCutter(step) if isinstance(step, int) else step


def scan_batch(
    batch: LoggedBatch,
    step_us: int | Cutter,
    inputs: Sequence[str] = (),
    *,
    start_us: int | None = None,
    end_us: int | None = None,
) -> pl.LazyFrame:
    """One batch's log rows as ``batch_id, version, window, key, score, class_scores, late,
    event_us, delay_us`` plus ``in.<input>`` columns, keeping windows that start in
    ``[start_us, end_us)``."""
    parts = [
        _scan_part(batch.lake.scan(key), batch.batch_id, step_us, inputs) for key in batch.paths
    ]
    out = parts[0] if len(parts) == 1 else pl.concat(parts, how="diagonal_relaxed")
    if start_us is not None:
        out = out.filter(pl.col("window") >= start_us)
    if end_us is not None:
        out = out.filter(pl.col("window") < end_us)
    return out


def _scan_part(
    frame: pl.LazyFrame, batch_id: str, step_us: int | Cutter, inputs: Sequence[str]
) -> pl.LazyFrame:
    schema = frame.collect_schema()
    moment = pl.coalesce(pl.col("event_time"), pl.col("ingested_at")).dt.epoch("us")
    class_scores = (
        pl.col("class_scores").cast(pl.List(pl.Float64))
        if "class_scores" in schema
        else pl.lit(None, pl.List(pl.Float64)).alias("class_scores")
    )
    return frame.select(
        pl.lit(batch_id).alias("batch_id"),
        pl.col("model_version").fill_null(UNSCORED).cast(pl.String).alias("version"),
        as_cutter(step_us).expr(moment).alias("window"),
        pl.col("key").cast(pl.String),
        pl.col("score").cast(pl.Float64),
        class_scores,
        pl.col("late").fill_null(False).cast(pl.Boolean),
        moment.alias("event_us"),
        (pl.col("ingested_at").dt.epoch("us") - moment).alias("delay_us"),
        *_input_exprs(schema, inputs),
    )


# -- summaries ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Freshness:
    """Mergeable volume and freshness counters of a window."""

    rows: int = 0
    late: int = 0
    delay_sum_s: float = 0.0
    delay_max_s: float | None = None
    first_us: int | None = None
    last_us: int | None = None

    def merge(self, other: Freshness) -> Freshness:
        def pick(f: Any, a: Any, b: Any) -> Any:
            return b if a is None else a if b is None else f(a, b)

        return Freshness(
            rows=self.rows + other.rows,
            late=self.late + other.late,
            delay_sum_s=self.delay_sum_s + other.delay_sum_s,
            delay_max_s=pick(max, self.delay_max_s, other.delay_max_s),
            first_us=pick(min, self.first_us, other.first_us),
            last_us=pick(max, self.last_us, other.last_us),
        )

    @classmethod
    def of(cls, frame: pl.DataFrame) -> Freshness:
        if frame.height == 0:
            return cls()
        delay = frame["delay_us"].drop_nulls()
        event = frame["event_us"].drop_nulls()
        return cls(
            rows=frame.height,
            late=int(frame["late"].sum()),
            delay_sum_s=float(delay.sum()) / 1e6 if delay.len() else 0.0,
            delay_max_s=float(delay.max()) / 1e6 if delay.len() else None,  # type: ignore[arg-type]
            first_us=int(event.min()) if event.len() else None,  # type: ignore[arg-type]
            last_us=int(event.max()) if event.len() else None,  # type: ignore[arg-type]
        )


@dataclass(frozen=True)
class WindowSummary:
    """Everything about a (version, window) that merges: inputs, score, volume and freshness."""

    columns: Mapping[str, ColumnSummary]
    score: NumericSummary
    freshness: Freshness = field(default_factory=Freshness)

    def merge(self, other: WindowSummary) -> WindowSummary:
        names = sorted(set(self.columns) & set(other.columns))
        score = merge_all([self.score, other.score])
        assert isinstance(score, NumericSummary)
        return WindowSummary(
            {n: merge_all([self.columns[n], other.columns[n]]) for n in names},
            score,
            self.freshness.merge(other.freshness),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form (see :func:`_compact`)."""
        return {
            "columns": {n: _compact(s) for n, s in sorted(self.columns.items())},
            "score": _compact(self.score),
            "freshness": self.freshness.__dict__,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], plan: SummaryPlan) -> WindowSummary:
        columns = {
            n: summary_from_dict(plan.restore(n, body))
            for n, body in data["columns"].items()
            if n in plan.names
        }
        score = summary_from_dict(plan.restore(None, data["score"]))
        assert isinstance(score, NumericSummary)
        return cls(columns, score, Freshness(**data["freshness"]))


_BINARY = {"counts": "<i8", "bin_sums": "<f8"}


def _compact(summary: ColumnSummary) -> dict[str, Any]:
    """A summary as stored: without the edges and known categories (they are the plan's, put
    back by :meth:`SummaryPlan.restore`), histogram arrays as base64 of their little-endian
    bytes: exact, and an order of magnitude faster to write and read than JSON number lists."""
    body = {k: v for k, v in summary.to_dict().items() if k not in ("edges", "known")}
    if isinstance(summary, NumericSummary):
        for name, dtype in _BINARY.items():
            raw = np.asarray(getattr(summary, name), dtype=dtype).tobytes()
            body[name] = base64.b64encode(raw).decode("ascii")
    return body


@dataclass(frozen=True)
class SummaryPlan:
    """How one version's rows are summarised: on its reference's edges and categories (or, with
    no reference, on no edges: counts, nulls and ranges only), with the contract's ranges."""

    columns: Sequence[MonitoredColumn]
    score_range: tuple[float | None, float | None]
    reference: Reference | None

    @property
    def names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.columns)

    @cached_property
    def basis(self) -> str:
        """Fingerprint of what the summaries are binned against (see the module docstring)."""
        parts = {
            "reference": None if self.reference is None else self.reference.fingerprint,
            "columns": [[c.name, c.kind, list(c.valid_range)] for c in self.columns],
            "score_range": list(self.score_range),
        }
        return hashlib.sha256(canonical(parts).encode()).hexdigest()

    def _ref(self, name: str | None) -> ColumnSummary | None:
        if self.reference is None:
            return None
        return self.reference.score if name is None else self.reference.columns.get(name)

    def _edges(self, name: str | None) -> np.ndarray[Any, Any]:
        ref = self._ref(name)
        return ref.edges if isinstance(ref, NumericSummary) else _NO_EDGES

    def _known(self, name: str) -> frozenset[str] | None:
        ref = self._ref(name)
        return ref.categories if isinstance(ref, CategoricalSummary) else None

    def restore(self, name: str | None, body: Mapping[str, Any]) -> dict[str, Any]:
        """A stored (stripped) summary with the plan's edges or categories put back."""
        full = dict(body)
        if full["kind"] == "numeric":
            full["edges"] = self._edges(name)
            for array, dtype in _BINARY.items():
                if isinstance(full[array], str):
                    full[array] = np.frombuffer(base64.b64decode(full[array]), dtype=dtype)
        else:
            assert name is not None
            known = self._known(name)
            full["known"] = None if known is None else sorted(known)
        return full

    def summarise(self, frame: pl.DataFrame) -> WindowSummary:
        """Summarise the rows of one (batch, version, window) group."""
        columns: dict[str, ColumnSummary] = {}
        for column in self.columns:
            values = frame[INPUT_PREFIX + column.name]
            if column.kind == "numeric":
                numbers = _numbers(values)
                edges = self._edges(column.name)
                columns[column.name] = NumericSummary.from_series(
                    numbers, edges, column.valid_range
                )
            else:
                ref = self._ref(column.name)
                cap = ref.cap if isinstance(ref, CategoricalSummary) else 1000
                columns[column.name] = CategoricalSummary.from_series(
                    values.cast(pl.String), known=self._known(column.name), cap=cap
                )
        score = NumericSummary.from_series(frame["score"], self._edges(None), self.score_range)
        return WindowSummary(columns, score, Freshness.of(frame))

    def empty(self) -> WindowSummary:
        return self.summarise(self._empty_frame())

    def _empty_frame(self) -> pl.DataFrame:
        schema: dict[str, pl.DataType] = {
            "score": pl.Float64(),
            "late": pl.Boolean(),
            "delay_us": pl.Int64(),
            "event_us": pl.Int64(),
        }
        for column in self.columns:
            schema[INPUT_PREFIX + column.name] = (
                pl.Float64() if column.kind == "numeric" else pl.String()
            )
        return pl.DataFrame(schema=schema)


def _numbers(values: pl.Series) -> pl.Series:
    if values.dtype == pl.String:
        return values.str.strip_chars().cast(pl.Float64, strict=False)
    if values.dtype == pl.Null:
        return values.cast(pl.Float64)
    return values.cast(pl.Float64, strict=False)


def summarise_batches(
    batches: Sequence[LoggedBatch],
    plans: Mapping[str, SummaryPlan],
    step_us: int | Cutter,
    wanted: set[tuple[str, str, int]],
    *,
    engine: Engine | None = None,
) -> dict[tuple[str, str, int], WindowSummary]:
    """Summaries of the (batch, version, window) groups in ``wanted``, reading each batch once.

    ``engine`` (one with ``summarise_groups``: the Spark engine) summarises the groups instead
    of this process, with the same functions: the summaries are interchangeable."""
    inputs = sorted({c.name for plan in plans.values() for c in plan.columns})
    summarised = [*_SUMMARISED, *(INPUT_PREFIX + name for name in inputs)]  # not keys: costly
    out: dict[tuple[str, str, int], WindowSummary] = {}
    grouped = getattr(engine, "summarise_groups", None)
    for batch in batches:
        groups = {(v, w) for b, v, w in wanted if b == batch.batch_id}
        if not groups:
            continue
        windows = sorted({w for _, w in groups})  # only these windows' rows are materialised
        scan = scan_batch(batch, step_us, inputs, start_us=windows[0], end_us=windows[-1] + 1)
        frame = scan.filter(pl.col("window").is_in(windows)).select(summarised).collect()
        if grouped is not None:
            keep = pl.DataFrame(
                sorted(groups), schema={"version": pl.String, "window": pl.Int64}, orient="row"
            )

            def summarise(rows: pl.DataFrame) -> dict[str, Any]:
                return plans[str(rows["version"][0])].summarise(rows).to_dict()

            by = ("version", "window")
            frame = frame.join(keep, on=list(by), how="semi")
            for (version, window), body in grouped(frame, by, summarise):
                key = (batch.batch_id, str(version), int(window))
                out[key] = WindowSummary.from_dict(body, plans[str(version)])
            continue
        for (version, window), rows in by_group(frame).items():
            key = (batch.batch_id, str(version), int(window))
            if (str(version), int(window)) in groups:
                out[key] = plans[str(version)].summarise(rows)
    return out


_SUMMARISED = ("version", "window", "score", "late", "event_us", "delay_us")
"""The log columns :meth:`SummaryPlan.summarise` reads, besides the inputs."""


def by_group(frame: pl.DataFrame) -> dict[tuple[Any, ...], pl.DataFrame]:
    """``frame``'s rows per (version, window); a frame of one group as it is (a batch usually
    falls in one window of one version, and splitting copies every row)."""
    window, version = frame["window"], frame["version"]
    if frame.height and window.min() == window.max() and version.n_unique() == 1:
        return {(version[0], window[0]): frame}
    return frame.partition_by(["version", "window"], as_dict=True)


def merge_window(parts: Sequence[WindowSummary], plan: SummaryPlan) -> WindowSummary:
    """The window's summary: its batches' summaries merged in batch order (or empty)."""
    if not parts:
        return plan.empty()
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    return merged


def batches_digest(batch_ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(batch_ids)).encode()).hexdigest()
