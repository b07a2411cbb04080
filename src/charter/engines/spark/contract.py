"""Validate a batch on Spark: the contract's rules compiled to Spark column expressions.

The rules are the ones every engine shares (:mod:`charter.engines.rules`), with the Polars
engine's semantics (:mod:`charter.engines.polars.contract` documents them): which rules apply to
a batch is decided by the same column plan (:func:`~charter.engines.polars.schema_drift.plan_columns`,
from the batch's schema alone), the literals of ``min``/``max``/``allowed`` are converted by the
same functions, and text is read as the same types (:mod:`.parsing`). Only the evaluation is
Spark's: one projection computes every rule as a boolean column, ``_violations`` is the
``array_compact`` of the broken rules' names in report order, and ``unique`` aggregates each
repeated value's first arrival (the first occurrence passes) and broadcasts those back.
:func:`judge_on_spark` leaves the judged rows on Spark (ingestion of a landing file goes on
there); :func:`validate_on_spark` splits them and brings valid and failed rows to the driver as
Arrow, in the order they arrived.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

import polars as pl
import pyarrow as pa
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F  # noqa: N812 - Spark's own idiom

from charter.engines.polars.contract import (
    SeenKeys,
    ValidationResult,
    _allowed,
    _anchored,
    _bound,
    _seen_lookup,
    refuse_reserved,
)
from charter.engines.polars.schema_drift import DECLARED_DTYPES, ColumnPlan, Reading, plan_columns
from charter.engines.rules import (
    VALUE_RULES,
    VIOLATIONS,
    BatchRuleKind,
    BatchRuleResult,
    ContractRules,
    RowRule,
    RowRuleKind,
    SchemaChange,
    judge_batch,
)
from charter.engines.spark.parsing import (
    integral,
    parse_bool,
    parse_dates,
    parse_datetimes,
    parse_int,
    strip,
)

ORDER = "__charter_order"
_SPARK_TYPES = {
    "int": "bigint",
    "float": "double",
    "string": "string",
    "bool": "boolean",
    "datetime": "timestamp",
    "date": "date",
}


_HELPER = "__charter_h_"  # columns the judging needs and drops


def _slot(name: str) -> str:
    """A plain identifier for a helper column of contract column ``name``."""
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def typed_name(name: str) -> str:
    """The column that holds contract column ``name`` in its declared type."""
    return f"__charter_typed.{name}"


@dataclass(frozen=True)
class _Reading:
    """One present contract column on Spark: its value in the declared type, its type error."""

    value: Column
    type_error: Column | None


def _read(plan: ColumnPlan, source: pl.DataType) -> _Reading | None:
    """How ``plan`` reads its column (None: an untyped column, used as it is)."""
    if plan.spec is None:
        return None
    col, declared = F.col(f"`{plan.name}`"), plan.spec.type
    target = _SPARK_TYPES[declared]
    if plan.reading is Reading.NATIVE:
        if isinstance(source, pl.Datetime):
            return _Reading(col, None)
        return _Reading(col.cast(target), None)
    if plan.reading is Reading.INCOMPATIBLE:
        return _Reading(F.lit(None).cast(target), col.isNotNull())
    if declared == "int" and source != pl.String:
        value = integral(col) if source.is_float() else col.try_cast("bigint")
    else:
        text = strip(col)
        value = {
            "int": lambda: parse_int(text),
            "float": lambda: text.try_cast("double"),
            "bool": lambda: parse_bool(text),
            "datetime": lambda: parse_datetimes(text),
            "date": lambda: parse_dates(text),
        }[declared]()
    return _Reading(value, col.isNotNull() & value.isNull())


def to_spark(spark: SparkSession, frame: pl.DataFrame) -> DataFrame:
    """The frame on Spark with its arrival order in :data:`ORDER`."""
    ordered = frame.with_row_index(ORDER).with_columns(pl.col(ORDER).cast(pl.Int64))
    return spark.createDataFrame(ordered.to_arrow())


@dataclass(frozen=True)
class Judged:
    """A batch judged on Spark, still on Spark: :attr:`frame` holds the original columns, each
    typed contract column as :func:`typed_name`, :data:`ORDER` and :data:`VIOLATIONS` (the
    names of every rule the row broke; empty for a valid row)."""

    frame: DataFrame
    schema: pl.Schema
    plans: list[ColumnPlan]
    typed_of: dict[str, Column]
    changes: list[SchemaChange]

    def batch_rules(self, rules: ContractRules, now: datetime | None) -> list[BatchRuleResult]:
        """The batch rules, from one aggregation over the judged rows."""
        return _batch_rules(self.frame, self.plans, rules, self.typed_of, now)

    def valid_columns(self) -> list[Column]:
        """The valid rows' columns: contract columns in their declared types, under their names."""
        return [
            self.typed_of[name].alias(name) if name in self.typed_of else F.col(f"`{name}`")
            for name in self.schema.names()
        ]

    @property
    def valid_schema(self) -> pl.Schema:
        """What the Polars engine's valid rows hold (contract columns absent from the batch
        are added as nulls of their type, see :attr:`absent`)."""
        return _typed_schema(self.schema, self.plans)

    @property
    def failed_schema(self) -> pl.Schema:
        return pl.Schema({**self.schema, VIOLATIONS: pl.List(pl.String)})

    @property
    def absent(self) -> dict[str, pl.DataType]:
        """Contract columns the batch lacks, with their type: null in every valid row."""
        return {p.name: p.dtype for p in self.plans if not p.present and p.dtype is not None}


def judge_on_spark(
    spark: SparkSession,
    sdf: DataFrame,
    schema: pl.Schema,
    rules: ContractRules,
    *,
    seen_keys: SeenKeys = None,
    seen_frame: DataFrame | None = None,
) -> Judged:
    """Every row of ``sdf`` (which has :data:`ORDER`; ``schema`` is its schema in Polars'
    terms) judged against ``rules``, lazily. What earlier batches held is ``seen_keys`` (asked
    with the batch's distinct values, on the driver) or ``seen_frame``: a Spark frame whose
    column ``v`` holds, as text, the key values already logged (joined on the executors)."""
    refuse_reserved(list(schema.names()))
    plans, changes = plan_columns(schema, rules)
    readings = {p.name: _read(p, schema[p.name]) for p in plans if p.present}
    typed_exprs = [
        reading.value.alias(typed_name(name))
        for name, reading in readings.items()
        if reading is not None
    ]
    staged = sdf.select("*", *typed_exprs)
    typed_of = {
        name: F.col(f"`{typed_name(name)}`") if r is not None else F.col(f"`{name}`")
        for name, r in readings.items()
    }
    if seen_frame is not None:
        staged, seen_columns = _mark_seen_from(staged, plans, rules, typed_of, seen_frame)
    else:
        staged, seen_columns = _mark_seen(spark, staged, plans, rules, typed_of, seen_keys)
    staged, repeats = _mark_repeats(staged, plans, rules, typed_of)
    compiled: list[tuple[str, Column]] = []
    for plan, column in zip(plans, rules.columns, strict=True):
        for rule in column.rules:
            expr = _compile(rule, plan, readings, typed_of, seen_columns, repeats, schema)
            if expr is not None:
                compiled.append((rule.name, expr))
    reasons = [F.when(expr, F.lit(name)) for name, expr in compiled]
    violations = F.array_compact(F.array(*reasons)) if reasons else F.array().cast("array<string>")
    helpers = [c for c in staged.columns if c.startswith(_HELPER)]
    judged = staged.withColumn(VIOLATIONS, violations).drop(*helpers)
    return Judged(judged, schema, plans, typed_of, changes)


def validate_on_spark(
    spark: SparkSession,
    frame: pl.DataFrame,
    rules: ContractRules,
    *,
    seen_keys: SeenKeys = None,
    now: datetime | None = None,
) -> ValidationResult:
    """:func:`charter.engines.polars.contract.validate`, evaluated by Spark (the batch goes
    from the driver to Spark and back: for a landing file, ingestion lets Spark read it and
    keeps the rows on the executors, see :mod:`charter.plumbing.spark_ingest`)."""
    refuse_reserved(frame.columns)
    judged_at = judge_on_spark(
        spark, to_spark(spark, frame), frame.schema, rules, seen_keys=seen_keys
    )
    judged = judged_at.frame.cache()
    try:
        batch = _batch_rules(judged, judged_at.plans, rules, judged_at.typed_of, now)
        broken = F.size(F.col(VIOLATIONS)) > 0
        originals = [F.col(f"`{name}`") for name in frame.columns]
        valid_arrow = (
            judged.filter(~broken).orderBy(ORDER).select(*judged_at.valid_columns()).toArrow()
        )
        failed_arrow = (
            judged.filter(broken).orderBy(ORDER).select(*originals, F.col(VIOLATIONS)).toArrow()
        )
    finally:
        judged.unpersist()
    valid = _as_polars(valid_arrow, judged_at.valid_schema)
    failed = _as_polars(failed_arrow, judged_at.failed_schema)
    if judged_at.absent:
        valid = valid.with_columns(pl.lit(None, t).alias(n) for n, t in judged_at.absent.items())
    return ValidationResult(valid, failed, batch, judged_at.changes)


def _typed_schema(schema: pl.Schema, plans: list[ColumnPlan]) -> pl.Schema:
    """What the Polars engine's valid rows hold: contract columns in their declared types."""
    out = dict(schema)
    for plan in plans:
        if not plan.present or plan.spec is None:
            continue
        source = schema[plan.name]
        native_time = plan.reading is Reading.NATIVE and isinstance(source, pl.Datetime)
        if not native_time:
            declared = DECLARED_DTYPES[plan.spec.type]
            parsed_time = plan.spec.type == "datetime" and plan.reading is not Reading.NATIVE
            out[plan.name] = pl.Datetime("us", "UTC") if parsed_time else declared
    return pl.Schema(out)


def _as_polars(table: pa.Table, schema: pl.Schema) -> pl.DataFrame:
    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    if frame.height == 0 and frame.width == 0:
        return pl.DataFrame(schema=schema)
    return frame.cast(schema, strict=False)


def _mark_seen(
    spark: SparkSession,
    staged: DataFrame,
    plans: list[ColumnPlan],
    rules: ContractRules,
    typed_of: dict[str, Column],
    seen_keys: SeenKeys,
) -> tuple[DataFrame, dict[str, Column]]:
    """For each unique column, a boolean column: its value was seen in an earlier batch.

    The caller's lookup (:data:`SeenKeys`) is asked with the batch's distinct values, collected to
    the driver; the values it returns are broadcast and joined back."""
    lookup = _seen_lookup(seen_keys, rules.key)
    marks: dict[str, Column] = {}
    for plan, column in zip(plans, rules.columns, strict=True):
        if not plan.present or column.of(RowRuleKind.UNIQUE_ACROSS_BATCHES) is None:
            continue
        name = plan.name
        distinct = staged.select(typed_of[name].alias("v")).where("v IS NOT NULL").distinct()
        values_frame = pl.from_arrow(distinct.toArrow())
        assert isinstance(values_frame, pl.DataFrame)
        values = values_frame.to_series().alias(name)
        earlier = lookup(name, values)
        if earlier is None:
            continue
        flag = f"{_HELPER}seen_{_slot(name)}"
        if earlier.len() == 0:
            marks[name] = F.lit(False)
            continue
        seen_df = spark.createDataFrame(
            pl.DataFrame({"v": earlier.cast(values.dtype, strict=False)}).unique().to_arrow()
        ).select(F.col("v").alias(f"{_HELPER}seenv_{_slot(name)}"), F.lit(True).alias(flag))
        value_col = F.col(f"`{_HELPER}seenv_{_slot(name)}`")
        staged = staged.join(F.broadcast(seen_df), typed_of[name] == value_col, "left").drop(
            value_col
        )
        marks[name] = F.coalesce(F.col(f"`{flag}`"), F.lit(False))
    return staged, marks


def _mark_seen_from(
    staged: DataFrame,
    plans: list[ColumnPlan],
    rules: ContractRules,
    typed_of: dict[str, Column],
    seen: DataFrame,
) -> tuple[DataFrame, dict[str, Column]]:
    """The key column's ``unique_across_batches`` judged on the executors: the batch's distinct
    keys (as text, as the local engine compares them) semi-joined with ``seen``; only the keys
    found again are broadcast back to the batch's rows."""
    marks: dict[str, Column] = {}
    for plan, column in zip(plans, rules.columns, strict=True):
        if (
            not plan.present
            or plan.name != rules.key
            or column.of(RowRuleKind.UNIQUE_ACROSS_BATCHES) is None
        ):
            continue
        value = f"{_HELPER}seenv_{_slot(plan.name)}"
        flag = f"{_HELPER}seen_{_slot(plan.name)}"
        text = typed_of[plan.name].cast("string")
        ours = staged.select(text.alias("v")).where("v IS NOT NULL").distinct()
        found = ours.join(seen.select("v"), "v", "left_semi")
        found = found.select(F.col("v").alias(value), F.lit(True).alias(flag))
        staged = staged.join(F.broadcast(found), text == F.col(f"`{value}`"), "left")
        marks[plan.name] = F.coalesce(F.col(f"`{flag}`"), F.lit(False))
    return staged, marks


def _mark_repeats(
    staged: DataFrame,
    plans: list[ColumnPlan],
    rules: ContractRules,
    typed_of: dict[str, Column],
) -> tuple[DataFrame, dict[str, Column]]:
    """``unique``: a row whose typed value an earlier row of the batch holds (the first
    occurrence passes). The repeated values and where each first occurs are aggregated on the
    executors (only the columns' values move), and broadcast back: a batch has few repeats."""
    marks: dict[str, Column] = {}
    for plan, column in zip(plans, rules.columns, strict=True):
        if not plan.present or column.of(RowRuleKind.UNIQUE) is None:
            continue
        value, first = f"{_HELPER}dupv_{_slot(plan.name)}", f"{_HELPER}dupfirst_{_slot(plan.name)}"
        typed = typed_of[plan.name]
        repeated = (
            staged.where(typed.isNotNull())
            .groupBy(typed.alias(value))
            .agg(F.min(ORDER).alias(first), F.count(F.lit(1)).alias("n"))
            .where("n > 1")
            .drop("n")
        )
        staged = staged.join(F.broadcast(repeated), typed == F.col(f"`{value}`"), "left")
        first_at = F.col(f"`{first}`")
        marks[plan.name] = F.coalesce(
            first_at.isNotNull() & (F.col(ORDER) != first_at), F.lit(False)
        )
    return staged, marks


def _compile(
    rule: RowRule,
    plan: ColumnPlan,
    readings: dict[str, _Reading | None],
    typed_of: dict[str, Column],
    seen: dict[str, Column],
    repeats: dict[str, Column],
    schema: pl.Schema,
) -> Column | None:
    """One rule as a Spark column true where a row breaks it; None when it does not apply."""
    kind = rule.kind
    if not plan.present:
        return F.lit(True) if kind is RowRuleKind.MISSING and plan.required else None
    original, typed = F.col(f"`{plan.name}`"), typed_of[plan.name]
    reading = readings[plan.name]
    if kind is RowRuleKind.MISSING:
        return None
    if kind is RowRuleKind.TYPE:
        error = reading.type_error if reading is not None else None
        return F.coalesce(error, F.lit(False)) if error is not None else None
    if kind is RowRuleKind.NOT_NULL:
        return original.isNull()
    if kind in VALUE_RULES:
        if plan.reading is Reading.INCOMPATIBLE:
            return None
        return _value_rule(rule, typed, _typed_schema(schema, [plan])[plan.name])
    if kind is RowRuleKind.UNIQUE:
        return repeats.get(plan.name)
    return seen.get(plan.name)  # UNIQUE_ACROSS_BATCHES


def _value_rule(rule: RowRule, typed: Column, dtype: pl.DataType) -> Column:
    assert rule.declared is not None
    if rule.kind is RowRuleKind.ALLOWED:
        values = _allowed(rule.column, rule.declared, rule.allowed or (), dtype).to_list()
        return F.coalesce(~typed.isin(values), F.lit(False))
    if rule.kind is RowRuleKind.PATTERN:
        assert rule.pattern is not None
        return F.coalesce(~typed.rlike(_anchored(rule.column, rule.pattern)), F.lit(False))
    assert rule.bound is not None
    limit = F.lit(_bound(rule.bound, rule.kind, rule.declared, dtype))
    if rule.kind is RowRuleKind.MAX:  # Spark, like Polars, orders NaN above every number
        return F.coalesce(typed > limit, F.lit(False))
    broken = typed < limit
    if dtype.is_float():
        broken = broken | F.isnan(typed)
    return F.coalesce(broken, F.lit(False))


def _batch_rules(
    judged: DataFrame,
    plans: list[ColumnPlan],
    rules: ContractRules,
    typed_of: dict[str, Column],
    now: datetime | None,
) -> list[BatchRuleResult]:
    """The batch rules from one Spark aggregation (row and null counts, newest event time)."""
    present = {plan.name for plan in plans if plan.present}
    aggs: list[Column] = [F.count(F.lit(1)).alias("rows")]
    for i, rule in enumerate(rules.batch):
        if rule.kind is BatchRuleKind.MAX_NULL_FRACTION and rule.column in present:
            aggs.append(F.count_if(F.col(f"`{rule.column}`").isNull()).alias(f"nulls{i}"))
        if rule.kind is BatchRuleKind.MAX_AGE and rule.column in typed_of:
            aggs.append(F.max(typed_of[rule.column]).alias(f"newest{i}"))
    facts = pl.from_arrow(judged.agg(*aggs).toArrow())
    assert isinstance(facts, pl.DataFrame)
    row = facts.row(0, named=True)
    nulls, newest = {}, {}
    for i, rule in enumerate(rules.batch):
        if f"nulls{i}" in row:
            assert rule.column is not None
            nulls[rule.column] = int(row[f"nulls{i}"])
        if f"newest{i}" in row:
            assert rule.column is not None
            newest[rule.column] = row[f"newest{i}"]
    return judge_batch(rules, int(row["rows"]), nulls, newest, now)
